package faults

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// EnvFaults enables the faults that disturb the whole machine (restarting
// the Docker engine). `make faults` sets it and runs them alone, never
// beside other tests that use the engine.
const EnvFaults = "NECTAR_FAULTS"

// restartDockerd stops the engine, waits while it is down, and starts it
// again with the command line it had.
func restartDockerd(t *testing.T, down time.Duration) {
	t.Helper()
	pidText, err := os.ReadFile("/var/run/docker.pid")
	if err != nil {
		t.Fatalf("cannot find dockerd: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(down)
	log, err := os.OpenFile(os.TempDir()+"/nectar-faults-dockerd.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the test
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start dockerd again: %v", err)
	}
	cmd.Process.Release()
	for range 600 {
		if exec.Command("docker", "info").Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("dockerd did not come back within 60s")
}

// The engine restarting under a running nectar: nectar reports it
// unreachable and changes nothing meanwhile, and converges once it is back
// (the bots' restart policy brings them up; nectar neither recreates nor
// stops them).
func TestDockerdRestart(t *testing.T) {
	if os.Getenv(EnvFaults) == "" {
		t.Skip("restarts the Docker engine; run alone with `make faults` (" + EnvFaults + "=1)")
	}
	f := newFleet(t, "fault-dockerd", "fd-")
	if out, code := f.nectar("apply"); code != 0 {
		t.Fatalf("first apply: %d\n%s", code, out)
	}
	f.plantMarkers("fd-pmm-btc", "fd-xemm-eth")
	ids := func() map[string]string {
		m := map[string]string{}
		for _, line := range f.containers() {
			fl := strings.Fields(line)
			m[fl[0]] = fl[2]
		}
		return m
	}
	before := ids()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := f.command(ctx, "run", "--resync", "500ms", "--listen", "127.0.0.1:0")
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // a few passes with the engine up
	restartDockerd(t, 3*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, code := f.nectar("plan", "--exit-code"); code == 0 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("nectar run ended with %v:\n%s", err, out.String())
	}
	logs := out.String()
	if !strings.Contains(logs, "cannot reach the engine") {
		t.Errorf("nectar never said the engine was unreachable:\n%s", logs)
	}
	if strings.Contains(logs, "action=recreate") || strings.Contains(logs, "action=stop") || strings.Contains(logs, "action=remove") {
		t.Errorf("nectar recreated, stopped or removed a bot around the engine's restart:\n%s", logs)
	}
	if after := ids(); len(after) != len(before) {
		t.Errorf("containers before %v, after %v", before, after)
	} else {
		for name, id := range before {
			if after[name] != id {
				t.Errorf("container %s was replaced (%s → %s)", name, id, after[name])
			}
		}
	}
	f.checkConverged("fd-pmm-btc", "fd-xemm-eth")
	f.checkMarkers("fd-pmm-btc", "fd-xemm-eth")
}
