package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/testenv"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, out func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s; output:\n%s", what, timeout, out())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func containerState(name string) string {
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}}", name).Output()
	if err != nil {
		return "missing"
	}
	return strings.TrimSpace(string(out))
}

// The emergency stop against a running daemon on the real engine: suspend
// --stop stops the bot gracefully at once (the daemon holds the state
// dir's lock, and picks the change up from the state dir), the API shows
// it suspended with who and when, it stays stopped, and resume starts it
// again; the other bot is never touched.
func TestSuspendResumeWithDaemon(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-suspend"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "sus-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	env := []string{"NECTAR_AGE_KEY_FILE=" + testenv.DemoIdentity()}
	// A long resync: only the state dir's watch can explain a quick stop.
	n := startRun(t, env, "--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0", "--resync", "10m", "--health-every", "0")
	url := n.statusURL(t, 60*time.Second)
	pmm, xemm := "hummingbot-sus-pmm-btc", "hummingbot-sus-xemm-eth"
	waitFor(t, 60*time.Second, "both bots running", func() bool {
		return containerState(pmm) == "running" && containerState(xemm) == "running"
	}, n.out.String)
	xemmID, _ := exec.Command("docker", "inspect", "-f", "{{.Id}}", xemm).Output()
	// The test bot's stop path is in place once it beats (before that a
	// stop is a kill, as with Hummingbot's engine).
	waitFor(t, 60*time.Second, "the bot's first heartbeat", func() bool {
		_, err := os.Stat(filepath.Join(state, "instances", "sus-pmm-btc", "data", "testbot-heartbeat"))
		return err == nil
	}, n.out.String)

	out := nectarIn(t, dir, env, "", "--state-dir", state, "suspend", "sus-pmm-btc", "--stop")
	if !strings.Contains(out, "stops them now") {
		t.Errorf("suspend output:\n%s", out)
	}
	waitFor(t, 60*time.Second, "the suspended bot stopped", func() bool { return containerState(pmm) == "exited" }, n.out.String)
	exitCode, _ := exec.Command("docker", "inspect", "-f", "{{.State.ExitCode}}", pmm).Output()
	if strings.TrimSpace(string(exitCode)) == "137" {
		t.Error("the suspended bot was killed, not stopped gracefully")
	}
	var bot status.BotStatus
	waitFor(t, 10*time.Second, "the API showing the bot suspended", func() bool {
		resp, err := http.Get(url + "/api/v1/bots/sus-pmm-btc")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		bot = status.BotStatus{}
		json.NewDecoder(resp.Body).Decode(&bot)
		return bot.Condition == status.ConditionSuspended
	}, n.out.String)
	if bot.Suspended == nil || !strings.Contains(bot.Suspended.By, "@") || !bot.Suspended.Stop || time.Since(bot.Suspended.At) > time.Minute {
		t.Errorf("suspended %+v", bot.Suspended)
	}
	// It stays stopped: a container event (the stop) already asked for
	// passes, and nothing starts it.
	time.Sleep(2 * time.Second)
	if s := containerState(pmm); s != "exited" {
		t.Fatalf("the suspended bot is %s", s)
	}
	if list := nectarIn(t, dir, env, "", "--state-dir", state, "suspend", "--list"); !strings.Contains(list, "sus-pmm-btc") {
		t.Errorf("suspend --list:\n%s", list)
	}

	nectarIn(t, dir, env, "", "--state-dir", state, "resume", "sus-pmm-btc")
	waitFor(t, 30*time.Second, "the resumed bot running", func() bool { return containerState(pmm) == "running" }, n.out.String)
	if id, _ := exec.Command("docker", "inspect", "-f", "{{.Id}}", xemm).Output(); string(id) != string(xemmID) || containerState(xemm) != "running" {
		t.Errorf("the other bot was touched")
	}
}
