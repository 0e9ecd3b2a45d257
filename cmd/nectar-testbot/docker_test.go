package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// TestDockerStop runs the image on the real engine the two ways nectar
// launches a bot and stops each as nectar would, with `docker stop`. The
// image's own command puts bash at PID 1, which never passes SIGTERM on:
// the stop is a kill after the timeout, and the bot's stop path never
// runs. `hbot start … --foreground` makes the bot PID 1: it stops its
// strategy, records it, and exits 0 long before the timeout.
func TestDockerStop(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)

	t.Run("classic is a kill", func(t *testing.T) {
		t.Parallel()
		h := instance(t)
		os.WriteFile(h.path("conf", "scripts", "conf_loader.yml"),
			[]byte("script_file_name: v2_with_controllers.py\ncontrollers_config: [conf_pmm.yml]\n"), 0o644)
		name := runContainer(t, h, "classic", nil, "CONFIG_PASSWORD="+password, "SCRIPT_CONFIG=conf_loader.yml", "HEADLESS_MODE=true")
		took, code := stopContainer(t, name, 2)
		t.Logf("docker stop -t 2: %v, exit code %d", took, code)
		if took < 2*time.Second || code != 137 {
			t.Errorf("docker stop -t 2 took %v and left exit code %d, want ≥ 2s and 137 (killed)", took, code)
		}
		if _, err := os.Stat(h.path("data", "testbot-stops")); err == nil {
			t.Error("a killed classic bot left a stop record")
		}
		if _, err := os.Stat(h.path("logs", "logs_conf_loader.log")); err != nil {
			t.Errorf("the classic bot did not log: %v", err)
		}
	})

	t.Run("hbot stops", func(t *testing.T) {
		t.Parallel()
		h := instance(t)
		cmd := []string{"hbot", "start", "conf_pmm.yml", "--controller", "--foreground"}
		name := runContainer(t, h, "hbot", cmd, "HBOT_PASSWORD="+password)
		took, code := stopContainer(t, name, 10)
		t.Logf("docker stop -t 10: %v, exit code %d", took, code)
		if took > 5*time.Second || code != 0 {
			t.Errorf("docker stop -t 10 took %v and left exit code %d, want a quick exit 0", took, code)
		}
		if stops := read(t, h.path("data", "testbot-stops")); !strings.HasSuffix(stops, " cancelled orders connectors=kucoin\n") {
			t.Errorf("testbot-stops = %q", stops)
		}
		if st := readStatus(t, h); st["running"] != false || st["pid"] != float64(1) {
			t.Errorf("final status.json = %v", st)
		}
	})
}

// runContainer starts the test bot image on the instance folder h (conf,
// data and logs mounted as nectar mounts them; scripts and controllers
// are the image's own) and waits for its heartbeat. cmd nil keeps the
// image's command. It runs as the test's user so the files it writes can
// be cleaned up.
func runContainer(t *testing.T, h home, kind string, cmd []string, env ...string) string {
	t.Helper()
	name := fmt.Sprintf("nectar-testbot-test-%d-%s", os.Getpid(), kind)
	exec.Command("docker", "rm", "-f", name).Run()
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	args := []string{"run", "-d", "-t", "-i", "--name", name, "--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())}
	for _, d := range []string{"conf", "data", "logs"} {
		args = append(args, "-v", h.path(d)+":/home/hummingbot/"+d)
	}
	for _, e := range append(env, "TESTBOT_HEARTBEAT=100ms", "TESTBOT_STOP_DELAY=300ms") {
		args = append(args, "-e", e)
	}
	args = append(append(args, testenv.TestbotImage), cmd...)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(h.path("data", "testbot-heartbeat")); err == nil {
			return name
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
			t.Fatalf("%s never beat; its log:\n%s", name, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopContainer runs `docker stop -t timeout` and returns how long it
// took and the container's exit code.
func stopContainer(t *testing.T, name string, timeout int) (time.Duration, int) {
	t.Helper()
	begin := time.Now()
	if out, err := exec.Command("docker", "stop", "-t", fmt.Sprint(timeout), name).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}
	took := time.Since(begin)
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.ExitCode}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	var code int
	fmt.Sscan(string(out), &code)
	return took, code
}
