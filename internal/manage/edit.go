package manage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/secrets"
)

// Editor runs the user's editor on a file.
type Editor struct {
	Stdin          *os.File
	Stdout, Stderr io.Writer
}

// plainCommand matches an editor command made only of plain words: no
// quoting, expansion, redirection or list, and a first word that is not a
// variable assignment. Such a command means the same with "exec" in front.
var plainCommand = regexp.MustCompile(`^[ \t]*[A-Za-z0-9_./~+-][A-Za-z0-9_./~+,:@%-]*([ \t]+[A-Za-z0-9_./~+,:@%=-]+)*[ \t]*$`)

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
	script := ed + ` "$1"`
	if plainCommand.MatchString(ed) {
		// The shell replaces itself with the editor, so a signal nectar
		// passes on reaches the editor. Otherwise it would reach a shell
		// (dash does not exec the last command on its own) that dies and
		// leaves the editor running without nectar.
		script = "exec " + script
	}
	cmd := exec.Command("/bin/sh", "-c", script, "editor", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
	// Output copied through a pipe must not keep nectar waiting on a
	// child the editor left behind.
	cmd.WaitDelay = time.Second
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

// shredDir shreds every file in dir and removes it. Editors leave copies
// of what they edit next to the file (vim's .swp, backups ending in ~),
// and those hold the plaintext as much as the file does. Calling it again
// is harmless.
func shredDir(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			shred(p)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// editSignals end nectar by default. While the decrypted copy exists they
// are caught instead, so that nectar always lives to shred it.
var editSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// editorGrace is how long the editor has to exit once nectar passed it a
// SIGTERM or SIGHUP, before it is killed. Whoever sent the signal expects
// nectar gone soon (docker stop waits 10 s, then kills).
const editorGrace = 2 * time.Second

// terminates reports whether sig asks nectar to go away now, whatever the
// editor does. SIGINT and SIGQUIT do not: typed at a terminal (Ctrl-C,
// Ctrl-\) they reach the whole foreground process group, the editor
// included, and the editor decides. vi, for one, ignores Ctrl-C, and the
// person using it would not expect nectar to throw the edit away.
func terminates(sig os.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGHUP
}

// signalName names the signals nectar reacts to the way kill(1) spells them.
func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}

// runEditor starts the editor and waits for it while watching sigs. On
// SIGTERM or SIGHUP it passes the signal on to the editor, calls abandon
// at once (so the plaintext is gone even if nectar is killed while it
// waits), and gives the editor grace to exit before killing it: an editor
// left running would keep the plaintext on screen and in memory with
// nectar gone. It returns that signal, or
// nil and the editor's own result. The editor stays in nectar's process
// group on purpose: that keeps it in the terminal's foreground group, so
// it can read the keyboard and gets the terminal's signals itself.
func runEditor(cmd *exec.Cmd, sigs <-chan os.Signal, abandon func(), grace time.Duration) (os.Signal, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			// A hang-up often ends the editor just before nectar sees its
			// own copy of the signal; it still means nobody is there to
			// stand behind what was saved.
			for {
				select {
				case sig := <-sigs:
					if terminates(sig) {
						abandon()
						return sig, nil
					}
				default:
					return nil, err
				}
			}
		case sig := <-sigs:
			if !terminates(sig) {
				continue
			}
			cmd.Process.Signal(sig)
			abandon()
			select {
			case <-done:
			case <-time.After(grace):
				cmd.Process.Kill()
				<-done
			}
			return sig, nil
		}
	}
}

// abandonedError says the edit ended without a change, and why.
func abandonedError(account, conn, why string) error {
	return hint.Wrap(fmt.Errorf("the edit of %s of account %s was abandoned: %s; nothing was changed, and the decrypted copy was shredded", conn, account, why),
		fmt.Sprintf("run `nectar cred edit %s %s` again", account, conn))
}

// EditCredential decrypts a credential into a RAM-backed temporary file,
// runs the editor on it, validates the result and, if it changed, encrypts
// it back. The temporary file is shredded whatever happens, also when
// nectar is sent SIGTERM or SIGHUP (a closed terminal) while the editor is
// open: the edit is then abandoned with an error. It reports whether the
// credential changed.
func (f Folder) EditCredential(account, conn string, ids *secrets.Identities, ed Editor) (bool, error) {
	_, rs, err := f.settings()
	if err != nil {
		return false, err
	}
	plain, err := f.ReadCredential(account, conn, ids)
	if err != nil {
		return false, err
	}
	// Caught from before the plaintext is written until after it is
	// shredded (defers run last-registered first). A signal the process
	// was started with ignored (nohup, a background job) stays ignored.
	sigs := make(chan os.Signal, len(editSignals))
	for _, sig := range editSignals {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	defer signal.Stop(sigs)
	dir, err := memoryTempDir()
	if err != nil {
		return false, err
	}
	defer shredDir(dir)
	tmp := filepath.Join(dir, conn+".yml")
	if err := os.WriteFile(tmp, plain, 0o600); err != nil {
		return false, err
	}
	sig, err := runEditor(ed.command(tmp), sigs, func() { shredDir(dir) }, editorGrace)
	if sig != nil {
		return false, abandonedError(account, conn, "nectar was sent "+signalName(sig)+" while the editor was open")
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return false, abandonedError(account, conn, "the editor was stopped by "+signalName(ws.Signal()))
			}
		}
		return false, hint.Wrap(fmt.Errorf("cannot run the editor: %w", err), "nothing was changed; set $EDITOR to your editor")
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
