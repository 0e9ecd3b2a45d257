package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// runningContainers lists the fleet's running containers as "name id".
func runningContainers(t *testing.T, fleetName string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--filter", "label=nectar.fleet="+fleetName, "--format", "{{.Names}} {{.ID}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// `nectar run` brings the fleet up, and SIGTERM ends it cleanly (exit 0)
// without stopping or replacing any bot.
func TestRunStopsCleanlyOnSignal(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-run"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "run-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1", "NECTAR_AGE_KEY_FILE="+testenv.DemoIdentity())
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	deadline := time.Now().Add(60 * time.Second)
	var before []string
	for time.Now().Before(deadline) {
		if before = runningContainers(t, fleetName); len(before) == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(before) != 2 {
		t.Fatalf("running containers %v, want 2; output:\n%s", before, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("nectar run ended with %v after SIGTERM; output:\n%s", err, out.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatalf("nectar run did not end within 45s of SIGTERM; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "the bots keep running") {
		t.Errorf("no shutdown message; output:\n%s", out.String())
	}
	after := runningContainers(t, fleetName)
	if strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("containers changed when nectar stopped: %v → %v", before, after)
	}
}
