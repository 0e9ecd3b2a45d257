package statelock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
)

// TestMain lets the test binary stand in for a second process that holds
// the lock until its stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STATELOCK_HOLD"); dir != "" {
		l, err := Acquire(dir, "holder test")
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts another process that takes the lock on dir, and returns
// it once it holds it.
func holder(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "STATELOCK_HOLD="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the holder did not take the lock: %q %v", line, err)
	}
	return cmd
}

func TestSecondProcessIsRefusedWithTheHoldersPID(t *testing.T) {
	dir := t.TempDir()
	h := holder(t, dir)
	l, err := Acquire(dir, "nectar apply")
	if err == nil {
		l.Release()
		t.Fatal("took a lock another process holds")
	}
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("error %v is not a HeldError", err)
	}
	if held.PID != h.Process.Pid || held.Command != "holder test" {
		t.Errorf("holder pid %d %q, want %d \"holder test\"", held.PID, held.Command, h.Process.Pid)
	}
	pid := strconv.Itoa(h.Process.Pid)
	if !strings.Contains(err.Error(), "pid "+pid) || !strings.Contains(err.Error(), dir) {
		t.Errorf("message does not name the pid and the dir: %v", err)
	}
	if hs := hint.Of(err); len(hs) == 0 || !strings.Contains(hs[0], "kill "+pid) {
		t.Errorf("hint does not say how to stop the holder: %v", hs)
	}
}

// The kernel releases the lock when its holder dies, even by SIGKILL.
func TestLockDiesWithItsHolder(t *testing.T) {
	dir := t.TempDir()
	h := holder(t, dir)
	if err := h.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := Acquire(dir, "nectar run")
		if err == nil {
			l.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock outlived its killed holder: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Release frees the lock for the next one in the same process too, and
// may be called twice.
func TestReleaseThenAcquire(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	if l2, err := Acquire(dir, "b"); err == nil {
		l2.Release()
		t.Fatal("a second open file took the held lock")
	}
	l.Release()
	l.Release()
	l3, err := Acquire(dir, "c")
	if err != nil {
		t.Fatal(err)
	}
	l3.Release()
}
