// Package statelock keeps two nectar processes from reconciling from the
// same state dir at once. The lock is an advisory flock(2) on a file in
// the state dir: the kernel drops it when the holder exits, however it
// exits (kill -9 included), so a lock is never left behind. The file
// itself stays; it names the last holder, which is how a refused process
// can say who holds the dir.
package statelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/nectarhq/nectar/internal/hint"
)

// FileName is the lock file's name inside the state dir.
const FileName = "nectar.lock"

// Lock is a held lock on a state dir.
type Lock struct {
	f *os.File
}

// HeldError says the state dir is locked by another process.
type HeldError struct {
	Dir string
	// PID is the holder's process id, 0 when the lock file does not say.
	PID int
	// Command is what the holder was doing ("nectar run"), when known.
	Command string
}

func (e *HeldError) Error() string {
	who := "another nectar"
	if e.PID > 0 {
		who += fmt.Sprintf(" (pid %d", e.PID)
		if e.Command != "" {
			who += ", " + e.Command
		}
		who += ")"
	}
	return fmt.Sprintf("the state dir %s is in use by %s; two nectars must not reconcile the same bots", e.Dir, who)
}

// Acquire locks dir for this process, or fails at once with a *HeldError
// (wrapped with a hint) when another process holds it. command says what
// this process does ("nectar apply"); it is written into the lock file
// for the next one to read.
func Acquire(dir, command string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the state dir's lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		held := &HeldError{Dir: dir}
		held.PID, held.Command = readHolder(f)
		f.Close()
		return nil, hint.Wrap(held, holderHint(held))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock the state dir %s: %w", dir, err)
	}
	// Ours now: say who holds it. The content is only informative; the
	// flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), command)), 0)
	}
	return &Lock{f: f}, nil
}

// Release unlocks the state dir. It is safe to call on a nil Lock and
// more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// readHolder reads the pid and the command the holder wrote.
func readHolder(f *os.File) (int, string) {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	lines := strings.SplitN(string(buf[:n]), "\n", 3)
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, ""
	}
	cmd := ""
	if len(lines) > 1 {
		cmd = strings.TrimSpace(lines[1])
	}
	return pid, cmd
}

func holderHint(e *HeldError) string {
	if e.PID <= 0 {
		return "stop the other nectar using this state dir, or give this one its own --state-dir"
	}
	return fmt.Sprintf("see it with `ps -o pid,args -p %d`; stop it (Ctrl-C in its terminal, or `kill %d`: the bots keep running), "+
		"or give this one its own --state-dir", e.PID, e.PID)
}
