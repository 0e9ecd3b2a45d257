//go:build linux

package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// The plaintext of master_account's binance credential in the quickstart
// example, as decrypted with the demo identity.
const demoBinanceSecret = "DEMO-binance-master-secret"

// memoryDir makes a folder on the /dev/shm tmpfs to serve as
// XDG_RUNTIME_DIR, so a test can scan every byte nectar put in memory-backed
// storage.
func memoryDir(t *testing.T) string {
	t.Helper()
	if !isTmpfs("/dev/shm") {
		t.Skip("/dev/shm is not a tmpfs")
	}
	dir, err := os.MkdirTemp("/dev/shm", "nectar-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func isTmpfs(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == 0x01021994 // TMPFS_MAGIC
}

// editSession is `nectar cred edit master_account binance` on a copy of the
// quickstart fleet, with an editor script that records the file it was
// given and then does what the test says.
type editSession struct {
	t        *testing.T
	cmd      *exec.Cmd
	fleet    string
	runtime  string // XDG_RUNTIME_DIR
	seen     string // where the editor writes the path it edits
	release  string // the editor finishes once this file exists
	stdout   string
	stderr   string
	done     chan error
	ageFile  string
	ageFirst []byte
}

func startEdit(t *testing.T, editorBody string) *editSession {
	t.Helper()
	work := t.TempDir()
	s := &editSession{
		t: t, fleet: testenv.CopyExample(t, "edit-signal", "edit-signal-"), runtime: memoryDir(t),
		seen: filepath.Join(work, "seen"), release: filepath.Join(work, "release"),
		stdout: filepath.Join(work, "stdout"), stderr: filepath.Join(work, "stderr"), done: make(chan error, 1),
	}
	s.ageFile = filepath.Join(s.fleet, "accounts", "master_account", "binance.yml.age")
	first, err := os.ReadFile(s.ageFile)
	if err != nil {
		t.Fatal(err)
	}
	s.ageFirst = first
	editor := filepath.Join(work, "editor.sh")
	// A trap the body sets comes before the editor says it has the file:
	// the test signals as soon as it says so.
	prelude := ""
	if strings.HasPrefix(editorBody, "trap ") {
		prelude, editorBody, _ = strings.Cut(editorBody, "\n")
		prelude += "\n"
	}
	script := "#!/bin/sh\n" + prelude + "printf '%s\\n' \"$1\" > \"$EDIT_SEEN.tmp\" && mv \"$EDIT_SEEN.tmp\" \"$EDIT_SEEN\"\n" + editorBody + "\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(self, "--source", s.fleet, "cred", "edit", "master_account", "binance")
	s.cmd.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1", "NECTAR_AGE_KEY_FILE="+testenv.DemoIdentity(),
		"HOME="+filepath.Join(work, "home"), "XDG_RUNTIME_DIR="+s.runtime, "VISUAL=", "EDITOR="+editor,
		"EDIT_SEEN="+s.seen, "EDIT_RELEASE="+s.release)
	// Files, not pipes: an editor child left behind must not hold up the
	// test's wait on its output.
	outF, _ := os.Create(s.stdout)
	errF, _ := os.Create(s.stderr)
	defer outF.Close()
	defer errF.Close()
	s.cmd.Stdout, s.cmd.Stderr = outF, errF
	// Its own process group, standing in for a terminal's foreground job:
	// a signal to the group reaches nectar and its editor, as Ctrl-C does.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := s.cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	go func() { s.done <- s.cmd.Wait() }()
	return s
}

// editing waits for the editor to open the decrypted file and returns its
// path, after checking it does hold the plaintext the scan looks for.
func (s *editSession) editing() string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if data, err := os.ReadFile(s.seen); err == nil {
			path := strings.TrimSpace(string(data))
			if plain, err := os.ReadFile(path); err != nil || !bytes.Contains(plain, []byte(demoBinanceSecret)) {
				s.t.Fatalf("the editor's file %s: %v\n%s", path, err, plain)
			}
			if !strings.HasPrefix(path, s.runtime+"/") {
				s.t.Fatalf("the editor's file %s is not under XDG_RUNTIME_DIR %s", path, s.runtime)
			}
			return path
		}
		select {
		case err := <-s.done:
			s.t.Fatalf("nectar ended before the editor opened: %v\n%s", err, s.output())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the editor never opened; output:\n%s", s.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *editSession) output() string {
	out, _ := os.ReadFile(s.stdout)
	errOut, _ := os.ReadFile(s.stderr)
	return string(out) + string(errOut)
}

// wait returns nectar's exit status (-1 when a signal killed it).
func (s *editSession) wait() int {
	s.t.Helper()
	select {
	case err := <-s.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			s.t.Fatal(err)
		}
		ws := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			// Go on: what the dead process left behind is the point.
			s.t.Errorf("nectar was killed by %v instead of ending by itself; output:\n%s", ws.Signal(), s.output())
		}
		return ws.ExitStatus()
	case <-time.After(20 * time.Second):
		s.t.Fatalf("nectar did not end; output:\n%s", s.output())
		return -1
	}
}

// noPlaintextLeft checks that the editor's folder is gone and that nothing
// under the memory-backed folder holds the secret, in a name or a file.
func (s *editSession) noPlaintextLeft(path string) {
	s.t.Helper()
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		s.t.Errorf("the decrypted copy's folder %s is still there (%v)", filepath.Dir(path), err)
	}
	filepath.WalkDir(s.runtime, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != s.runtime {
			s.t.Errorf("left in XDG_RUNTIME_DIR: %s", p)
		}
		if d.Type().IsRegular() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(demoBinanceSecret)) {
				s.t.Errorf("%s holds the plaintext credential", p)
			}
		}
		return nil
	})
}

func (s *editSession) credentialUnchanged() {
	s.t.Helper()
	if now, err := os.ReadFile(s.ageFile); err != nil || !bytes.Equal(now, s.ageFirst) {
		s.t.Errorf("the encrypted credential changed (%v)", err)
	}
}

// TestCredEditShredsOnSignal: nectar sent SIGTERM or SIGHUP (a closed
// terminal, a dropped SSH session) while the editor has the decrypted
// credential, or Ctrl-C that ends the editor, abandons the edit, shreds
// the decrypted copy and exits 1 with a message; the credential stays as
// it was.
func TestCredEditShredsOnSignal(t *testing.T) {
	tests := []struct {
		name   string
		sig    syscall.Signal
		group  bool   // to the whole process group, as a terminal sends it
		editor string // the editor script's body after it records its file
		want   string
	}{
		{"SIGTERM", syscall.SIGTERM, false, "exec sleep 60", "nectar was sent SIGTERM while the editor was open"},
		{"SIGHUP", syscall.SIGHUP, false, "exec sleep 60", "nectar was sent SIGHUP while the editor was open"},
		{"terminal hang-up", syscall.SIGHUP, true, "exec sleep 60", "SIGHUP"},
		{"SIGTERM, editor ignores it", syscall.SIGTERM, false, "trap '' TERM HUP\nexec sleep 60", "nectar was sent SIGTERM while the editor was open"},
		{"Ctrl-C ends the editor", syscall.SIGINT, true, "exec sleep 60", "the editor was stopped by SIGINT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startEdit(t, tc.editor)
			path := s.editing()
			if tc.group {
				syscall.Kill(-s.cmd.Process.Pid, tc.sig)
			} else {
				s.cmd.Process.Signal(tc.sig)
			}
			code := s.wait()
			out := s.output()
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			for _, want := range []string{"nectar: error: the edit of binance of account master_account was abandoned", tc.want, "nothing was changed"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, demoBinanceSecret) {
				t.Errorf("the output shows the secret:\n%s", out)
			}
			s.noPlaintextLeft(path)
			s.credentialUnchanged()
		})
	}
}

// TestCredEditCtrlCLeftToEditor: Ctrl-C at a terminal reaches the editor
// too, and an editor that ignores it (as vi does) keeps the edit going:
// nectar neither dies nor throws the edit away.
func TestCredEditCtrlCLeftToEditor(t *testing.T) {
	t.Parallel()
	s := startEdit(t, `trap '' INT QUIT
while [ ! -e "$EDIT_RELEASE" ]; do sleep 0.02; done
sed -i 's/DEMO-binance-master-key/EDITED-master-key/' "$1"`)
	path := s.editing()
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGQUIT)
	select {
	case err := <-s.done:
		t.Fatalf("nectar ended on Ctrl-C while the editor carried on: %v\n%s", err, s.output())
	case <-time.After(300 * time.Millisecond):
	}
	os.WriteFile(s.release, nil, 0o600)
	if code := s.wait(); code != 0 {
		t.Fatalf("exit status %d; output:\n%s", code, s.output())
	}
	if out := s.output(); !strings.Contains(out, "updated binance of account master_account") {
		t.Errorf("output:\n%s", out)
	}
	plain := decryptFile(t, testenv.DemoIdentity(), s.ageFile)
	if !strings.Contains(plain, "binance_api_key: EDITED-master-key") || !strings.Contains(plain, demoBinanceSecret) {
		t.Errorf("stored credential:\n%s", plain)
	}
	s.noPlaintextLeft(path)
}
