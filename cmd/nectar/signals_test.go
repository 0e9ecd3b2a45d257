package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/testenv"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func dockerInspect(t *testing.T, format, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", format, name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// On a real engine: the last action stays the create through passes that
// change nothing; uptime follows the container's start time and a restart
// by Docker's restart policy counts as the engine's, not nectar's; a bot
// whose image cannot be pulled shows a summary of the error that fits its
// cell, the next attempt, and on its page the whole text and the hint;
// nectar status exits 3 for it.
func TestStatusSignalsOnTheEngine(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-signals"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "sg-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	broken := "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nimage: localhost:1/nectar-missing:1\n"
	if err := os.WriteFile(filepath.Join(dir, "bots", "sg-broken.yml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Chrome(t)

	n := startRun(t, []string{"NECTAR_AGE_KEY_FILE=" + testenv.DemoIdentity()},
		"--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0")
	base := n.statusURL(t, 60*time.Second)

	bot := func(name string) status.BotStatus {
		var b status.BotStatus
		getJSON(t, base+"/api/v1/bots/"+name, &b)
		return b
	}
	waitBot := func(what, name string, ok func(status.BotStatus) bool) status.BotStatus {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			b := bot(name)
			if ok(b) {
				return b
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s is %+v\ndaemon output:\n%s", what, name, b, n.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	passes := func() uint64 {
		var st status.Status
		getJSON(t, base+"/api/v1/status", &st)
		return st.Passes
	}

	pmm := waitBot("pmm-btc ready", "sg-pmm-btc", func(b status.BotStatus) bool {
		return b.Condition == status.ConditionReady && !b.StartedAt.IsZero()
	})
	// Passes that change nothing (a resync, the bots' own events) leave
	// the last action as the create.
	seen := passes()
	deadline := time.Now().Add(30 * time.Second)
	for passes() < seen+2 && time.Now().Before(deadline) {
		// A touch of the source asks for a pass that finds nothing to do.
		os.WriteFile(filepath.Join(dir, "README.md"), []byte(time.Now().String()), 0o644)
		time.Sleep(300 * time.Millisecond)
	}
	pmm = bot("sg-pmm-btc")
	if a := pmm.LastAction; a == nil || a.Kind != "create" || a.Reason == "" || a.At.IsZero() {
		t.Errorf("last action after passes with nothing to do: %+v, want the create", pmm.LastAction)
	}
	started, err := time.Parse(time.RFC3339Nano, dockerInspect(t, "{{.State.StartedAt}}", "hummingbot-sg-pmm-btc"))
	if err != nil {
		t.Fatal(err)
	}
	if !pmm.StartedAt.Equal(started) || pmm.Restarts != 0 || pmm.NectarStarts != 1 || pmm.Uptime == "" {
		t.Errorf("started %s (docker: %s), restarts %d, nectar starts %d, uptime %q; want docker's start, 0, 1",
			pmm.StartedAt, started, pmm.Restarts, pmm.NectarStarts, pmm.Uptime)
	}

	// Docker's restart policy brings the bot back after its process dies.
	pid, err := strconv.Atoi(dockerInspect(t, "{{.State.Pid}}", "hummingbot-sg-pmm-btc"))
	if err != nil || pid <= 0 {
		t.Fatalf("the bot's pid: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Skipf("cannot kill the bot's process from here: %v", err)
	}
	after := waitBot("the engine's restart", "sg-pmm-btc", func(b status.BotStatus) bool {
		return b.Restarts >= 1 && b.StartedAt.After(started) && b.Actual == "running"
	})
	if engine := dockerInspect(t, "{{.RestartCount}}", "hummingbot-sg-pmm-btc"); strconv.Itoa(after.Restarts) != engine {
		t.Errorf("restarts %d, docker says %s", after.Restarts, engine)
	}
	if after.NectarStarts != 1 {
		t.Errorf("nectar starts %d after the engine's restart, want still 1", after.NectarStarts)
	}

	// The bot whose image cannot be pulled: a person must fix that, so it
	// is stalled, and tried again a resync later.
	failed := waitBot("sg-broken stalled", "sg-broken", func(b status.BotStatus) bool { return b.Condition == status.ConditionStalled })
	if !strings.Contains(failed.LastError, "localhost:1/nectar-missing:1") || failed.LastErrorHint == "" {
		t.Errorf("last error %q, hint %q", failed.LastError, failed.LastErrorHint)
	}
	if failed.NextAttempt.Before(failed.LastErrorAt.Add(50*time.Second)) || failed.NextAttempt.After(failed.LastErrorAt.Add(70*time.Second)) {
		t.Errorf("next attempt %s for an error at %s, want about a resync (1m) later", failed.NextAttempt, failed.LastErrorAt)
	}
	self, _ := os.Executable()
	st := exec.Command(self, "status", "--listen", base)
	st.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1")
	text, err := st.CombinedOutput()
	if code := st.ProcessState.ExitCode(); code != 3 || !strings.Contains(string(text), "next attempt:") || !strings.Contains(string(text), "hint: ") {
		t.Errorf("nectar status exited %d (%v), want 3 with the next attempt and the hint:\n%s", code, err, text)
	}

	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	eval := func(expr string, v any) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		if err := json.Unmarshal([]byte(got), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), chromedp.WaitVisible("#bot-sg-broken .error-summary")); err != nil {
		t.Fatalf("opening the overview: %v\n%s", err, n.out.String())
	}
	var cell struct {
		Text   string  `json:"text"`
		Lines  float64 `json:"lines"`
		Next   string  `json:"next"`
		Uptime string  `json:"uptime"`
		Width  float64 `json:"width"`
		Scroll float64 `json:"scroll"`
	}
	eval(`(() => {
		const a = document.querySelector("#bot-sg-broken .error-summary");
		const lh = parseFloat(getComputedStyle(a).lineHeight) || 20;
		const next = document.querySelector("#bot-sg-broken [data-field='next-attempt']");
		const up = document.querySelector("#bot-sg-pmm-btc [data-field='uptime']");
		return {text: a.textContent, lines: a.getBoundingClientRect().height / lh, width: a.getBoundingClientRect().width, scroll: a.scrollHeight / lh,
			next: next ? next.textContent : "", uptime: up ? up.textContent : ""};
	})()`, &cell)
	shown := strings.TrimSuffix(cell.Text, " …")
	if !strings.HasPrefix(failed.LastError, shown) || (shown != failed.LastError && !strings.ContainsAny(failed.LastError[len(shown):len(shown)+1], " :")) {
		t.Errorf("the overview's summary %q is not the error's start cut between words (error: %q)", cell.Text, failed.LastError)
	}
	// Two lines of text, and nothing hidden by the clamp: the summary is
	// short enough for its cell.
	if cell.Lines > 2.5 || cell.Scroll > 2.5 {
		t.Errorf("the error summary takes %.1f lines (%.1f with what the clamp hides) in %.0f px at 1280 px, want at most 2", cell.Lines, cell.Scroll, cell.Width)
	}
	if !strings.HasPrefix(cell.Next, "next attempt ") {
		t.Errorf("no next attempt in the row: %q", cell.Next)
	}
	if !strings.HasPrefix(cell.Uptime, "up ") {
		t.Errorf("no uptime for sg-pmm-btc: %q", cell.Uptime)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/bots/sg-broken"), chromedp.WaitVisible("#bot-error")); err != nil {
		t.Fatal(err)
	}
	var page string
	eval(`document.querySelector("#bot-error").textContent`, &page)
	if !strings.Contains(page, failed.LastError) || !strings.Contains(page, "hint: "+failed.LastErrorHint) || !strings.Contains(page, "next attempt") {
		t.Errorf("the bot page does not show the whole error, the hint and the next attempt:\n%s", page)
	}
}
