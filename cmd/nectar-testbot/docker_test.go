package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

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
	return runContainerWith(t, h, kind, nil, cmd, env...)
}

// runContainerWith is runContainer with more `docker run` arguments
// (mounts) before the image.
func runContainerWith(t *testing.T, h home, kind string, extra, cmd []string, env ...string) string {
	t.Helper()
	name := containerName(t, kind)
	args := []string{"run", "-d", "-t", "-i", "--name", name, "--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())}
	for _, d := range []string{"conf", "data", "logs"} {
		args = append(args, "-v", h.path(d)+":/home/hummingbot/"+d)
	}
	args = append(args, extra...)
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

// containerName names a test's container and removes it, with its
// anonymous volumes, when the test ends.
func containerName(t *testing.T, kind string) string {
	name := fmt.Sprintf("nectar-testbot-test-%d-%s", os.Getpid(), kind)
	exec.Command("docker", "rm", "-f", "-v", name).Run()
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", name).Run() })
	return name
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

// TestDockerClusterCommand runs the image the way a Docker Swarm task of
// nectar's runs it: nothing of the instance folder bound, each file
// mounted read-only on its own, conf_client.yml handed over at
// /nectar/conf_client.yml, data/ and logs/ as volumes, as root (the
// official image has no USER), and the command that copies the file into
// place and execs hbot. The bot must run on the copy, be PID 1 and the only
// process (bash gone, not waiting on a child), and stop gracefully on
// `docker stop`.
func TestDockerClusterCommand(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	h := instance(t)
	seed := filepath.Join(t.TempDir(), "conf_client.yml")
	if err := os.WriteFile(seed, []byte(swarmSeed), 0o644); err != nil {
		t.Fatal(err)
	}
	const hb = "/home/hummingbot/"
	name := containerName(t, "cluster")
	args := []string{"run", "-d", "--name", name, "-v", seed + ":/nectar/conf_client.yml:ro"}
	for _, f := range []string{"conf/.password_verification", "conf/connectors/binance.yml", "conf/connectors/kucoin.yml", "conf/controllers/conf_pmm.yml"} {
		args = append(args, "-v", h.path(filepath.FromSlash(f))+":"+hb+f+":ro")
	}
	for _, d := range []string{"data", "logs"} {
		args = append(args, "--mount", "type=volume,dst="+hb+d)
	}
	for _, e := range []string{"HBOT_PASSWORD=" + password, "TESTBOT_HEARTBEAT=100ms", "TESTBOT_STOP_DELAY=300ms"} {
		args = append(args, "-e", e)
	}
	command := "cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start 'conf_pmm.yml' --controller --foreground"
	args = append(args, testenv.TestbotImage, "/bin/bash", "-c", command)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	waitLog(t, name, "testbot: ready connectors=binance,kucoin launch=hbot")

	// One process, hbot itself: bash exec'd it rather than fork it.
	top, err := exec.Command("docker", "top", name).Output()
	if err != nil {
		t.Fatalf("docker top: %v", err)
	}
	if rows := strings.Split(strings.TrimSpace(string(top)), "\n"); len(rows) != 2 || !strings.HasSuffix(rows[1], " hbot start conf_pmm.yml --controller --foreground") {
		t.Errorf("docker top: want hbot alone:\n%s", top)
	}
	// And its pid in the container is 1, as status.json records it.
	if st := containerJSON(t, name, hb+"data/bot/status.json"); st["pid"] != float64(1) || st["running"] != true {
		t.Errorf("status.json = %v, want pid 1 and running", st)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(containerFile(t, name, hb+"conf/conf_client.yml")), &cfg); err != nil {
		t.Fatal(err)
	}
	mqtt, _ := cfg["mqtt_bridge"].(map[string]any)
	if cfg["instance_id"] != "swarm-bot" || cfg["testbot_started"] != true || mqtt["mqtt_namespace"] != "hbot" {
		t.Errorf("conf/conf_client.yml is not the handed-over file rewritten by the bot: %v", cfg)
	}
	if got := read(t, seed); got != swarmSeed {
		t.Errorf("the handed-over file changed: %q", got)
	}
	if logs := dockerLogs(t, name); strings.Contains(logs, "Error writing configs") {
		t.Errorf("the bot could not write its copy:\n%s", logs)
	}

	took, code := stopContainer(t, name, 10)
	t.Logf("docker stop -t 10: %v, exit code %d", took, code)
	if took > 5*time.Second || code != 0 {
		t.Errorf("docker stop -t 10 took %v and left exit code %d, want a quick exit 0", took, code)
	}
	if stops := containerFile(t, name, hb+"data/testbot-stops"); !strings.HasSuffix(stops, " cancelled orders connectors=kucoin\n") {
		t.Errorf("testbot-stops = %q", stops)
	}
	if st := containerJSON(t, name, hb+"data/bot/status.json"); st["pid"] != float64(1) || st["running"] != false {
		t.Errorf("final status.json = %v", st)
	}
}

// TestDockerReadOnlyClientConfig mounts a conf_client.yml read-only right
// at conf/conf_client.yml. Hummingbot cannot write it back, logs so (on
// stderr: the container's output under hbot, logs/errors.log under the
// image's command), and runs all the same.
func TestDockerReadOnlyClientConfig(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const want = "Error writing configs: [Errno 30] Read-only file system: '/home/hummingbot/conf/conf_client.yml'\n"
	readOnly := func(t *testing.T) (home, []string, string) {
		h := instance(t)
		seed := filepath.Join(t.TempDir(), "conf_client.yml")
		if err := os.WriteFile(seed, []byte(swarmSeed), 0o644); err != nil {
			t.Fatal(err)
		}
		return h, []string{"-v", seed + ":/home/hummingbot/conf/conf_client.yml:ro"}, seed
	}

	t.Run("hbot", func(t *testing.T) {
		t.Parallel()
		h, mount, seed := readOnly(t)
		cmd := []string{"hbot", "start", "conf_pmm.yml", "--controller", "--foreground"}
		name := runContainerWith(t, h, "ro-hbot", mount, cmd, "HBOT_PASSWORD="+password)
		waitLog(t, name, "testbot: ready connectors=binance,kucoin launch=hbot")
		// -t joins stderr to the output, with the terminal's line ends.
		logs := strings.ReplaceAll(dockerLogs(t, name), "\r\n", "\n")
		if n := strings.Count(logs, want); n != 2 {
			t.Errorf("the container's output has %d × %q, want 2 (hbot's login, the engine):\n%s", n, want, logs)
		}
		if got := read(t, seed); got != swarmSeed {
			t.Errorf("the read-only file changed: %q", got)
		}
		took, code := stopContainer(t, name, 10)
		if took > 5*time.Second || code != 0 {
			t.Errorf("docker stop -t 10 took %v and left exit code %d, want a quick exit 0", took, code)
		}
	})

	t.Run("image command", func(t *testing.T) {
		t.Parallel()
		h, mount, _ := readOnly(t)
		os.WriteFile(h.path("conf", "scripts", "conf_loader.yml"),
			[]byte("script_file_name: v2_with_controllers.py\ncontrollers_config: [conf_pmm.yml]\n"), 0o644)
		name := runContainerWith(t, h, "ro-classic", mount, nil, "CONFIG_PASSWORD="+password, "SCRIPT_CONFIG=conf_loader.yml", "HEADLESS_MODE=true")
		if errs := read(t, h.path("logs", "errors.log")); strings.Count(errs, want) != 2 {
			t.Errorf("errors.log:\n%s\nwant %q twice (the quickstart's two loads)", errs, want)
		}
		// Still beating a moment later.
		beat := h.path("data", "testbot-heartbeat")
		first := read(t, beat)
		deadline := time.Now().Add(10 * time.Second)
		for read(t, beat) == first {
			if time.Now().After(deadline) {
				t.Fatalf("the bot stopped beating:\n%s", dockerLogs(t, name))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func dockerLogs(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "logs", name).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs: %v\n%s", err, out)
	}
	return string(out)
}

// waitLog waits until the container's output holds line, failing at once
// if the container stops first.
func waitLog(t *testing.T, name, line string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		logs := dockerLogs(t, name)
		if strings.Contains(logs, line) {
			return
		}
		state, _ := exec.Command("docker", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).Output()
		if s := strings.TrimSpace(string(state)); !strings.HasPrefix(s, "running") || time.Now().After(deadline) {
			t.Fatalf("%s (%s) never said %q; its output:\n%s", name, s, line, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// containerFile reads a file out of a container, running or not, with
// `docker cp` (the image has no cat to exec).
func containerFile(t *testing.T, name, path string) string {
	t.Helper()
	out, err := exec.Command("docker", "cp", name+":"+path, "-").Output()
	if err != nil {
		t.Fatalf("docker cp %s: %v", path, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	if _, err := tr.Next(); err != nil {
		t.Fatalf("docker cp %s: %v", path, err)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func containerJSON(t *testing.T, name, path string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(containerFile(t, name, path)), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}
