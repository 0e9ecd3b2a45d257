package web

import (
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/nectarhq/nectar/internal/status/statustest"
	"github.com/nectarhq/nectar/internal/testenv"
)

// watchCSP records, in every document the tab opens, each Content Security
// Policy violation. It is installed through DevTools, so the policy itself
// does not apply to it.
const watchCSP = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});`

// The page in a real browser: every bot listed, rows updating in place
// after a pass (no reload), the other pages readable, the policy never
// violated. NECTAR_SCREENSHOT=path writes a full-page screenshot.
func TestStatusPageInBrowser(t *testing.T) {
	browser := testenv.Chrome(t)
	s, clk := statustest.NewStore(t, 3)
	steps := statustest.Story(t)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{Version: "v0.4.0"}))
	t.Cleanup(func() {
		// The tab's event stream stays open until the browser ends, after
		// this runs; Close alone would wait for it.
		srv.CloseClientConnections()
		srv.Close()
	})

	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(browser)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String())
			mu.Unlock()
		}
	}()

	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
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
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	cell := func(bot, field string) string {
		return `(document.querySelector("#bot-` + bot + ` td[data-field='` + field + `']") || {textContent: ""}).textContent.trim()`
	}
	noViolations := func(where string) {
		t.Helper()
		if v := eval(`JSON.stringify(window.__cspViolations)`); v != "[]" {
			t.Errorf("%s: Content Security Policy violations: %s", where, v)
		}
	}

	run("installing the policy watch", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchCSP})
		return err
	}), chromedp.EmulateViewport(1440, 900))

	run("opening the overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#bot-rows"))
	var wantRows []string
	for _, b := range s.View().Bots {
		wantRows = append(wantRows, "bot-"+b.Name)
	}
	if got := eval(`Array.from(document.querySelectorAll("#bot-rows tr")).map(r => r.id).join(",")`); got != strings.Join(wantRows, ",") {
		t.Fatalf("bot rows %s, want %s", got, strings.Join(wantRows, ","))
	}
	if w := eval(`getComputedStyle(document.querySelector(".brand")).fontWeight`); w != "700" {
		t.Errorf("the stylesheet is not applied (brand font weight %s)", w)
	}
	waitFor("the event stream", `document.getElementById("live").getAttribute("data-state") === "on"`)
	// The overview fits a 1280 px wide window: neither the page nor the
	// bots' table scrolls sideways (what does not fit is on the bot page).
	run("narrowing the window", chromedp.EmulateViewport(1280, 900))
	if got := eval(fitsWidth); got != "" {
		t.Errorf("at 1280 px the overview scrolls sideways: %s", got)
	}
	run("widening the window", chromedp.EmulateViewport(1440, 900))
	eval(`window.__notReloaded = "still the same page"; "ok"`)
	if got := eval(cell("pmm-btc", "condition")); got != "ready" {
		t.Fatalf("pmm-btc is %q before the pass, want ready", got)
	}

	// Docker goes away, then comes back and pmm-btc is recreated.
	statustest.Play(t, s, clk, steps[3:4], 1)
	waitFor("Docker shown unreachable", `document.getElementById("summary").textContent.includes("unreachable")`)
	statustest.Play(t, s, clk, steps[4:5], 1)
	waitFor("pmm-btc's row to change", cell("pmm-btc", "condition")+`.startsWith("progressing")`)
	// The recreate had to kill the old container: the row says so at once.
	if got := eval(`(document.querySelector("#bot-pmm-btc .badge.killed") || {textContent: ""}).textContent`); !strings.HasPrefix(got, "killed") {
		t.Errorf("pmm-btc's row shows no kill: %q", got)
	}
	if got := eval(cell("pmm-btc", "last-action")); !strings.HasPrefix(got, "recreate credential binance changed") {
		t.Errorf("pmm-btc's last action reads %q", got)
	}
	if got := eval(`window.__notReloaded || "reloaded"`); got != "still the same page" {
		t.Fatal("the page was reloaded to show the change")
	}
	noViolations("overview")

	run("opening a bot", chromedp.Navigate(srv.URL+"/bots/twap-eth"), chromedp.WaitVisible("#history-rows"))
	if got := eval(`document.querySelector("h1").textContent`); !strings.Contains(got, "twap-eth") || !strings.Contains(got, "crashloop") {
		t.Errorf("bot page heading %q", got)
	}
	if got := eval(`document.getElementById("history-rows").textContent`); !strings.Contains(got, "no such file or directory") {
		t.Errorf("the bot's history lacks the failed start: %q", got)
	}
	noViolations("bot page")

	run("opening the accounts", chromedp.Navigate(srv.URL+"/accounts"), chromedp.WaitVisible("#account-rows"))
	if got := eval(`document.getElementById("account-rows").textContent`); !strings.Contains(got, "master_account") || !strings.Contains(got, "hyperliquid_perpetual") {
		t.Errorf("accounts page reads %q", got)
	}
	noViolations("accounts page")

	run("opening a shared file", chromedp.Navigate(srv.URL+"/files/scripts/quote_logger.py"), chromedp.WaitVisible("pre.source"))
	noViolations("file page")

	if path := os.Getenv("NECTAR_SCREENSHOT"); path != "" {
		statustest.Play(t, s, clk, steps[5:6], 1) // settled
		clk.Set(clk.Now().Add(2 * time.Minute))
		run("opening the overview for the screenshot", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#bot-rows"))
		waitFor("the event stream", `document.getElementById("live").getAttribute("data-state") === "on"`)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(png))
	}

	mu.Lock()
	defer mu.Unlock()
	if i := slices.IndexFunc(console, func(m string) bool {
		return strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception")
	}); i >= 0 {
		t.Errorf("the browser console reports: %s", console[i])
	}
}

// fitsWidth evaluates to "" when nothing on the page is wider than its
// box (the page itself, and every element that may scroll sideways), and
// otherwise names what overflows and by how much.
const fitsWidth = `(function () {
  var out = [];
  var d = document.documentElement;
  if (d.scrollWidth > d.clientWidth) { out.push("page " + d.scrollWidth + " > " + d.clientWidth); }
  document.querySelectorAll(".scroll, table").forEach(function (e) {
    if (e.scrollWidth > e.clientWidth + 1) { out.push((e.id || e.className || e.tagName) + " " + e.scrollWidth + " > " + e.clientWidth); }
  });
  return out.join("; ");
})()`
