package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// A second nectar on a state dir a running daemon holds exits at once,
// naming the daemon's pid; once the daemon is gone (even by kill -9) the
// state dir is free again.
func TestStateDirIsLocked(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-lock"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "lk-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	env := []string{"NECTAR_AGE_KEY_FILE=" + testenv.DemoIdentity()}

	first := startRun(t, env, "--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0")
	first.statusURL(t, 60*time.Second)
	pid := strconv.Itoa(first.cmd.Process.Pid)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	second := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(self, append([]string{"--source", dir, "--state-dir", state}, args...)...)
		cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1"), env...)
		done := make(chan struct{})
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill(); close(done) })
		out, err := cmd.CombinedOutput()
		if !timer.Stop() {
			<-done
			t.Fatalf("nectar %v did not exit within 20s while another held the state dir:\n%s", args, out)
		}
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		code := 0
		if exit != nil {
			code = exit.ExitCode()
		}
		return string(out), code
	}
	for _, args := range [][]string{{"run", "--listen", "127.0.0.1:0"}, {"apply"}} {
		out, code := second(args...)
		if code != 1 {
			t.Errorf("nectar %v beside a running daemon exited %d, want 1:\n%s", args, code, out)
		}
		if !strings.Contains(out, "in use by another nectar (pid "+pid+", nectar run)") || !strings.Contains(out, "hint: ") || !strings.Contains(out, "kill "+pid) {
			t.Errorf("nectar %v does not name the holder and how to stop it:\n%s", args, out)
		}
		if strings.Contains(out, "status page") {
			t.Errorf("nectar %v got as far as serving a status page:\n%s", args, out)
		}
	}
	// plan only reads: it runs beside the daemon.
	if out, code := second("plan"); code != 0 {
		t.Errorf("nectar plan beside a running daemon exited %d:\n%s", code, out)
	}

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	if out, code := second("apply"); code != 0 {
		t.Errorf("nectar apply after the daemon was killed exited %d (lock left behind?):\n%s", code, out)
	}
}
