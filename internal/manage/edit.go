package manage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/secrets"
)

// Editor runs the user's editor on a file.
type Editor struct {
	Stdin          *os.File
	Stdout, Stderr io.Writer
}

// command returns the editor as the user configured it: $VISUAL, $EDITOR,
// or vi. Like git, it runs through the shell so "code --wait" works.
func (e Editor) command(path string) *exec.Cmd {
	ed := os.Getenv("VISUAL")
	if ed == "" {
		ed = os.Getenv("EDITOR")
	}
	if ed == "" {
		ed = "vi"
	}
	cmd := exec.Command("/bin/sh", "-c", ed+` "$1"`, "editor", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
	return cmd
}

// memoryDirs are folders backed by RAM on Linux, where a decrypted file
// can sit while the editor has it without ever reaching a disk.
func memoryDirs() []string {
	var dirs []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	return append(dirs, "/dev/shm", "/run/user/"+fmt.Sprint(os.Getuid()))
}

// memoryTempDir makes a private folder in RAM-backed storage.
func memoryTempDir() (string, error) {
	for _, d := range memoryDirs() {
		if !isMemoryFS(d) {
			continue
		}
		if dir, err := os.MkdirTemp(d, "nectar-edit-"); err == nil {
			return dir, nil
		}
	}
	return "", hint.New("no memory-backed folder (tmpfs) to hold the decrypted credential",
		"mount a tmpfs at /dev/shm or set XDG_RUNTIME_DIR to one; nectar will not write a plaintext secret to disk")
}

// isMemoryFS reports whether dir is on a tmpfs or ramfs, from the mount table.
func isMemoryFS(dir string) bool {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return false
	}
	defer f.Close()
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	best, bestType := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		mnt := fields[1]
		if (abs == mnt || strings.HasPrefix(abs, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best, bestType = mnt, fields[2]
		}
	}
	return bestType == "tmpfs" || bestType == "ramfs"
}

// shred overwrites a file with zeros before removing it. On tmpfs this
// wipes the pages; elsewhere it is best effort.
func shred(path string) {
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		if info, err := f.Stat(); err == nil {
			f.Write(make([]byte, info.Size()))
			f.Sync()
		}
		f.Close()
	}
	os.Remove(path)
}

// EditCredential decrypts a credential into a RAM-backed temporary file,
// runs the editor on it, validates the result and, if it changed, encrypts
// it back. The temporary file is shredded whatever happens. It reports
// whether the credential changed.
func (f Folder) EditCredential(account, conn string, ids *secrets.Identities, ed Editor) (bool, error) {
	_, rs, err := f.settings()
	if err != nil {
		return false, err
	}
	plain, err := f.ReadCredential(account, conn, ids)
	if err != nil {
		return false, err
	}
	dir, err := memoryTempDir()
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, conn+".yml")
	defer shred(tmp)
	if err := os.WriteFile(tmp, plain, 0o600); err != nil {
		return false, err
	}
	if err := ed.command(tmp).Run(); err != nil {
		return false, hint.Wrap(fmt.Errorf("the editor failed: %w", err), "nothing was changed; set $EDITOR to your editor")
	}
	edited, err := os.ReadFile(tmp)
	if err != nil {
		return false, err
	}
	if bytes.Equal(edited, plain) {
		return false, nil
	}
	if _, problems := fleet.ParseCredential(account, conn, edited); len(problems) > 0 {
		return false, hint.Wrap(errors.Join(problemsError(problems), errors.New("the credential was not changed")),
			fmt.Sprintf("run `nectar cred edit %s %s` again and fix the lines above", account, conn))
	}
	return true, f.writeEncrypted(f.credentialFile(account, conn), edited, rs)
}
