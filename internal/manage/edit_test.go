//go:build unix

package manage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The shell execs a plain editor command, so a signal nectar passes on
// reaches the editor, and leaves anything else to the shell as written.
func TestEditorCommandExec(t *testing.T) {
	tests := []struct {
		editor string
		exec   bool
	}{
		{"vi", true},
		{"/usr/bin/nano", true},
		{"code --wait", true},
		{"emacsclient -t -a=", true},
		{"~/bin/my-editor.sh", true},
		{"FOO=bar vim", false}, // an assignment: exec would run "FOO=bar"
		{"vim; true", false},
		{"vim -c 'set nobackup'", false},
		{"$HOME/bin/ed", false},
		{":", false},
	}
	for _, tc := range tests {
		t.Setenv("VISUAL", "")
		t.Setenv("EDITOR", tc.editor)
		cmd := Editor{}.command("/x/binance.yml")
		script := cmd.Args[2]
		if got := strings.HasPrefix(script, "exec "); got != tc.exec {
			t.Errorf("EDITOR=%q runs %q; exec %v, want %v", tc.editor, script, got, tc.exec)
		}
		if !strings.HasSuffix(script, tc.editor+` "$1"`) || cmd.Args[4] != "/x/binance.yml" {
			t.Errorf("EDITOR=%q runs %q with %q", tc.editor, script, cmd.Args[3:])
		}
	}
}

// editorScript returns a command running the shell script body as the
// editor would run, and a file that exists once the script has started.
func editorScript(t *testing.T, body string) (*exec.Cmd, string) {
	t.Helper()
	started := filepath.Join(t.TempDir(), "started")
	cmd := exec.Command("/bin/sh", "-c", body, "editor", started)
	return cmd, started
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// runAsync runs runEditor in the background and returns where its result
// arrives.
type editorResult struct {
	sig os.Signal
	err error
}

func runAsync(cmd *exec.Cmd, sigs <-chan os.Signal, abandon func(), grace time.Duration) <-chan editorResult {
	res := make(chan editorResult, 1)
	go func() {
		sig, err := runEditor(cmd, sigs, abandon, grace)
		res <- editorResult{sig, err}
	}()
	return res
}

func result(t *testing.T, res <-chan editorResult, within time.Duration) editorResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(within):
		t.Fatalf("runEditor did not return within %v", within)
		return editorResult{}
	}
}

// SIGTERM and SIGHUP are passed on to the editor, and the plaintext is
// abandoned before nectar waits for it.
func TestRunEditorTerminates(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		cmd, started := editorScript(t, `touch "$1"; exec sleep 30`)
		sigs := make(chan os.Signal, 1)
		abandoned := make(chan struct{})
		res := runAsync(cmd, sigs, func() { close(abandoned) }, time.Minute)
		waitFile(t, started)
		sigs <- sig
		r := result(t, res, 5*time.Second) // far less than the grace: the editor itself ended
		if r.sig != sig || r.err != nil {
			t.Errorf("%v: runEditor = %v, %v", sig, r.sig, r.err)
		}
		select {
		case <-abandoned:
		default:
			t.Errorf("%v: abandon was not called", sig)
		}
		if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != sig {
			t.Errorf("%v: the editor ended with %v, not by the signal passed on", sig, cmd.ProcessState)
		}
	}
}

// An editor that ignores the signal is killed once the grace is over.
func TestRunEditorKillsStubbornEditor(t *testing.T) {
	t.Parallel()
	cmd, started := editorScript(t, `trap '' TERM; touch "$1"; exec sleep 30`)
	sigs := make(chan os.Signal, 1)
	res := runAsync(cmd, sigs, func() {}, 200*time.Millisecond)
	waitFile(t, started)
	sigs <- syscall.SIGTERM
	r := result(t, res, 5*time.Second)
	if r.sig != syscall.SIGTERM {
		t.Errorf("runEditor = %v, %v", r.sig, r.err)
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the stubborn editor ended with %v, want killed", cmd.ProcessState)
	}
}

// SIGINT and SIGQUIT are the editor's to act on: nectar keeps waiting,
// and an editor that carries on is not cut short.
func TestRunEditorLeavesInterruptToEditor(t *testing.T) {
	t.Parallel()
	cmd, started := editorScript(t, `touch "$1"; while [ ! -e "$1.go" ]; do sleep 0.02; done`)
	sigs := make(chan os.Signal, 2)
	called := false
	res := runAsync(cmd, sigs, func() { called = true }, time.Minute)
	waitFile(t, started)
	sigs <- syscall.SIGINT
	sigs <- syscall.SIGQUIT
	select {
	case r := <-res:
		t.Fatalf("runEditor returned %v, %v while the editor was still open", r.sig, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	os.WriteFile(started+".go", nil, 0o600)
	r := result(t, res, 5*time.Second)
	if r.sig != nil || r.err != nil || called {
		t.Errorf("runEditor = %v, %v; abandoned %v", r.sig, r.err, called)
	}
}

// A hang-up that arrives as the editor exits still abandons the edit.
func TestRunEditorLateHangup(t *testing.T) {
	t.Parallel()
	cmd, _ := editorScript(t, `exit 0`)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGHUP
	called := false
	// The editor is already done when the signal is looked at, or the
	// signal is seen first; either way the answer is the same.
	r := result(t, runAsync(cmd, sigs, func() { called = true }, time.Minute), 5*time.Second)
	if r.sig != syscall.SIGHUP || !called {
		t.Errorf("runEditor = %v, %v; abandoned %v", r.sig, r.err, called)
	}
}

// shredDir removes the folder with whatever the editor left in it.
func TestShredDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "edit")
	os.MkdirAll(sub, 0o700)
	for _, name := range []string{"binance.yml", ".binance.yml.swp", "binance.yml~"} {
		os.WriteFile(filepath.Join(sub, name), []byte("SECRET"), 0o600)
	}
	shredDir(sub)
	shredDir(sub) // again: harmless
	if _, err := os.Stat(sub); !os.IsNotExist(err) {
		t.Errorf("the folder is still there: %v", err)
	}
}
