package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nectarhq/nectar/internal/testenv"
)

// The status page of a real `nectar run` in a real browser: every bot has
// its row; a bot file changed in the watched folder changes that row
// without a reload; the bot and accounts pages open.
func TestStatusPageFollowsTheFolder(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-browser"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "eb-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	browser := testenv.Chrome(t)

	n := startRun(t, []string{"NECTAR_AGE_KEY_FILE=" + testenv.DemoIdentity()},
		"--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0")
	base := n.statusURL(t, 60*time.Second)
	out := n.out

	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\ndaemon output:\n%s", what, err, out.String())
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return v
	}
	waitFor := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\ndaemon output:\n%s", what, err, out.String())
		}
	}
	condition := func(bot string) string {
		return `(document.querySelector("#bot-` + bot + ` td[data-field='condition']") || {textContent: ""}).textContent.trim()`
	}

	run("opening the overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#bot-rows"))
	if got := eval(`Array.from(document.querySelectorAll("#bot-rows tr")).map(r => r.id).join(",")`); got != "bot-eb-hl-perp,bot-eb-pmm-btc,bot-eb-xemm-eth" {
		t.Fatalf("bot rows %s", got)
	}
	waitFor("eb-pmm-btc ready", condition("eb-pmm-btc")+` === "ready"`)
	waitFor("the event stream", `document.getElementById("live").getAttribute("data-state") === "on"`)
	// At 1280 px the overview does not scroll sideways.
	run("narrowing the window", chromedp.EmulateViewport(1280, 900))
	if got := eval(`[document.documentElement].concat(Array.from(document.querySelectorAll(".scroll, table")))
		.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => (e.id || e.className || e.tagName) + " " + e.scrollWidth + " > " + e.clientWidth).join("; ")`); got != "" {
		t.Errorf("at 1280 px the overview scrolls sideways: %s", got)
	}
	eval(`window.__notReloaded = "same page"; "ok"`)

	bot := filepath.Join(dir, "bots", "eb-pmm-btc.yml")
	if err := os.WriteFile(bot, []byte("account: master_account\nconnectors: [binance]\nhold: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("eb-pmm-btc's row to show it held", condition("eb-pmm-btc")+` === "held"`)
	if got := eval(`window.__notReloaded || "reloaded"`); got != "same page" {
		t.Fatal("the page reloaded to show the change")
	}

	// nectar status prints the same view in the terminal.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	st := exec.Command(self, "status", "--listen", base)
	st.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1")
	if text, err := st.CombinedOutput(); err != nil || !regexp.MustCompile(`(?m)^eb-pmm-btc\s+held\b`).Match(text) {
		t.Errorf("nectar status: %v\n%s", err, text)
	}

	run("opening the bot's page", chromedp.Navigate(base+"/bots/eb-pmm-btc"), chromedp.WaitVisible("#history-rows"))
	if got := eval(`document.body.textContent`); !strings.Contains(got, "hold: true") {
		t.Errorf("the bot page does not say why it is held:\n%.2000s", got)
	}
	run("opening the accounts", chromedp.Navigate(base+"/accounts"), chromedp.WaitVisible("#account-rows"))
	if got := eval(`document.querySelector("#account-master_account").textContent`); !strings.Contains(got, "eb-pmm-btc") {
		t.Errorf("master_account's row does not list eb-pmm-btc: %q", got)
	}
}
