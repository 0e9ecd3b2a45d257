package testenv

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// DefaultChrome is where Debian's chromium package puts the browser.
const DefaultChrome = "/usr/bin/chromium"

// Chrome starts a headless Chromium for the test and returns a chromedp
// context bound to one tab of it; the browser ends with the test. The
// browser is $NECTAR_CHROME or DefaultChrome, never one downloaded on the
// fly. Without it the test is skipped, unless NECTAR_REQUIRE_BROWSER or
// NECTAR_REQUIRE_DOCKER is set (CI sets them), which makes that a failure.
func Chrome(t testing.TB) context.Context {
	t.Helper()
	path := os.Getenv("NECTAR_CHROME")
	if path == "" {
		path = DefaultChrome
	}
	if _, err := exec.LookPath(path); err != nil {
		msg := "no Chromium at " + path + " (install Debian's chromium package, or point NECTAR_CHROME at a Chrome or Chromium binary)"
		if os.Getenv("NECTAR_REQUIRE_BROWSER") != "" || os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
			t.Fatal(msg + "; a browser is required because NECTAR_REQUIRE_BROWSER or NECTAR_REQUIRE_DOCKER is set")
		}
		t.Skip(msg)
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners rarely allow Chromium's sandbox
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), // no update checks or other traffic of its own
		chromedp.Flag("disable-dev-shm-usage", true),         // /dev/shm is tiny in containers
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	// chromedp reports protocol events it cannot decode (a browser newer
	// than its protocol tables) from its own goroutines, which may outlive
	// the test; logging to t after the test ended would panic.
	var done atomic.Bool
	logf := func(format string, args ...any) {
		if !done.Load() {
			t.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		done.Store(true)
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, so a browser that cannot start fails here
	// with its own error rather than in the test's first step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}
