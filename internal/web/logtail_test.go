package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// writeLog writes logs/<name> into the bot's instance folder under dir.
func writeLog(t *testing.T, dir, bot, name, text string) string {
	t.Helper()
	logs := filepath.Join(dir, bot, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(logs, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The end of a log, bounded in lines and line length, masked and without
// control characters; a link in logs/ is never followed.
func TestLogTailBounded(t *testing.T) {
	dir := t.TempDir()
	const password = "correct horse battery staple"
	var b strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	b.WriteString("login with " + password + " done\x1b[31m red\n")
	b.WriteString(strings.Repeat("x", 5000) + "\n")
	b.WriteString("last line\n")
	writeLog(t, dir, "pmm-btc", "logs_conf_pmm.log", b.String())
	tail, ok := logTail(filepath.Join(dir, "pmm-btc"), []string{password}, true)
	if !ok {
		t.Fatal("no log read")
	}
	if len(tail.Lines) != LogTailLines || tail.Lines[len(tail.Lines)-1] != "last line" || tail.File != "logs_conf_pmm.log" {
		t.Fatalf("%d lines from %s, ending %q", len(tail.Lines), tail.File, tail.Lines[len(tail.Lines)-1])
	}
	all := strings.Join(tail.Lines, "\n")
	if strings.Contains(all, password) || strings.Contains(all, "horse battery") || !strings.Contains(all, "login with [redacted] done[31m red") {
		t.Errorf("the password is not masked or control bytes kept:\n%s", all)
	}
	if l := tail.Lines[len(tail.Lines)-2]; len(l) > LogTailLineSize+8 {
		t.Errorf("a long line is shown at %d bytes", len(l))
	}

	// A link to a file outside, newer than the log, is not read.
	outside := filepath.Join(t.TempDir(), "host.log")
	if err := os.WriteFile(outside, []byte("HOST SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "pmm-btc", "logs", "zz.log")); err != nil {
		t.Fatal(err)
	}
	if tail, _ := logTail(filepath.Join(dir, "pmm-btc"), nil, true); strings.Contains(strings.Join(tail.Lines, "\n"), "HOST SECRET") {
		t.Error("a link in logs/ was followed")
	}
	// Before any fleet loaded, nothing could be masked: nothing is shown.
	if _, ok := logTail(filepath.Join(dir, "pmm-btc"), nil, false); ok {
		t.Error("a log was shown with no secrets known to mask")
	}
	if _, ok := logTail(filepath.Join(dir, "nobody"), nil, true); ok {
		t.Error("a log was shown for a bot without one")
	}
}

// The bot page shows the end of the bot's log, escaped, with every secret
// of the fleet masked even when the bot logs them.
func TestBotPageShowsLog(t *testing.T) {
	s, _ := statustest.NewStore(t, 3)
	dir := t.TempDir()
	logs := &LogReader{InstanceDir: func(bot string) string { return filepath.Join(dir, bot) }}
	h := NewHandler(s, HandlerOptions{Logs: logs})
	get := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, localRequest(http.MethodGet, "/bots/pmm-btc"))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /bots/pmm-btc: %d", rec.Code)
		}
		return rec.Body.String()
	}
	// The passwords and credential secrets: what a bot could know and log
	// (not the fleet's ciphertexts or the source's token).
	var bad []statustest.Secret
	for _, s := range statustest.Secrets(t) {
		if strings.HasSuffix(s.What, " password") || strings.Count(s.What, "/") == 2 && !strings.Contains(s.What, " line ") {
			bad = append(bad, s)
		}
	}
	if len(bad) < 5 {
		t.Fatalf("only %d secrets to log", len(bad))
	}
	var text strings.Builder
	text.WriteString("2026-11-30 12:00:00 - hummingbot.strategy - INFO - <script>alert(1)</script> & co\n")
	for _, s := range bad {
		fmt.Fprintf(&text, "DEBUG - value %s logged\n", s.Value)
	}
	text.WriteString("2026-11-30 12:00:05 - hummingbot.strategy - INFO - tick\n")
	writeLog(t, dir, "pmm-btc", "logs_conf_pmm_btc.log", text.String())

	if page := get(); strings.Contains(page, "alert(1)") || !strings.Contains(page, "No log yet") {
		t.Fatalf("a log was shown before a fleet loaded (nothing to mask it with):\n%s", page)
	}
	logs.Update(statustest.LoadFleet(t, statustest.ExampleFS(t)))
	page := get()
	for _, want := range []string{`id="bot-log"`, "logs/logs_conf_pmm_btc.log", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co", "hummingbot.strategy - INFO - tick", "[redacted]"} {
		if !strings.Contains(page, want) {
			t.Errorf("the bot page lacks %q", want)
		}
	}
	for _, s := range bad {
		if strings.Contains(page, s.Value) {
			t.Errorf("the bot page shows %s from the bot's log", s.What)
		}
	}
}

// A key rotated out of the fleet is still masked: the bot's log from
// before the rotation holds it.
func TestLogTailMasksRotatedSecrets(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "solo", "logs_solo.log", "with old KEY-before-rotation and new KEY-after-rotation\n")
	fleetWith := func(secret string) *fleet.Fleet {
		return &fleet.Fleet{Accounts: map[string]*fleet.Account{"main": {Name: "main", Password: "PASSWORD-marker",
			Credentials: map[string]*fleet.Credential{"binance": {Connector: "binance",
				Secrets: []fleet.SecretField{{Name: "binance_api_key", Value: fleet.Secret(secret)}}}}}}}
	}
	l := &LogReader{InstanceDir: func(bot string) string { return filepath.Join(dir, bot) }}
	l.Update(fleetWith("KEY-before-rotation"))
	l.Update(fleetWith("KEY-after-rotation"))
	tail, ok := l.Tail("solo")
	if !ok {
		t.Fatal("no tail")
	}
	text := strings.Join(tail.Lines, "\n")
	if strings.Contains(text, "KEY-before-rotation") || strings.Contains(text, "KEY-after-rotation") {
		t.Errorf("a key shows: %q", text)
	}
}
