package web

import (
	"encoding/json"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// Uptime comes from the container's start time and grows between passes;
// restarts are the engine's count, with nectar's own starts beside them.
func TestUptimeAndRestartsFromTheEngine(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	running := statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up Less than a second", -1)
	s := status.NewStore(status.StoreOptions{Now: clk.Now, Inspected: func(id string) (runtime.Inspection, bool) {
		if id != running.ID {
			return runtime.Inspection{}, false
		}
		return runtime.Inspection{StartedAt: statustest.T0.Add(-10 * time.Minute), RestartCount: 3}, true
	}})
	o := statustest.Outcome(plan.None, "running, up to date", running, nil)
	o.Restarts = 1
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, o), reconcile.Source{}, nil)
	h := NewHandler(s, HandlerOptions{})

	clk.Set(statustest.T0.Add(time.Minute))
	var st status.Status
	if err := json.Unmarshal(get(t, h, "/api/v1/status").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	b := st.Bots[0]
	if b.Uptime != "11m 0s" || !b.StartedAt.Equal(statustest.T0.Add(-10*time.Minute)) || b.Restarts != 3 || b.NectarStarts != 1 {
		t.Errorf("uptime %q started %s restarts %d nectar starts %d; want 11m 0s, 11:50, 3, 1", b.Uptime, b.StartedAt, b.Restarts, b.NectarStarts)
	}
	page := get(t, h, "/").Body.String()
	for _, want := range []string{`up 11m 0s`, `<span data-field="engine-restarts" title="restarts by the engine's restart policy">3</span>`, `<span data-field="nectar-starts" title="starts by nectar in the last 10 minutes">1</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	// A minute later, with no pass in between, the uptime has moved on.
	clk.Set(statustest.T0.Add(2 * time.Minute))
	if v := s.View(); v.Bots[0].Uptime != "12m 0s" {
		t.Errorf("uptime a minute later %q, want 12m 0s", v.Bots[0].Uptime)
	}
	if b, _ := s.Bot("solo"); b.Uptime != "12m 0s" {
		t.Errorf("the bot's uptime a minute later %q, want 12m 0s", b.Uptime)
	}
	// Without an inspection there is no uptime, rather than Docker's stale words.
	s2 := status.NewStore(status.StoreOptions{Now: clk.Now})
	s2.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, o), reconcile.Source{}, nil)
	if v := s2.View(); v.Bots[0].Uptime != "" {
		t.Errorf("uptime %q without a start time", v.Bots[0].Uptime)
	}
}

// pullError is how a failed pull reads: long, with the engine's message
// after a colon, and more lines.
const pullError = "image registry.example.com/hummingbot/hummingbot:2.16.0 is not present and pulling it failed: " +
	"pull image registry.example.com/hummingbot/hummingbot:2.16.0: Error response from daemon: Get \"https://registry.example.com/v2/\": " +
	"dial tcp: lookup registry.example.com on 127.0.0.53:53: no such host\nretrying will not help until the name resolves\nthird line"

const pullHint = "build or load the image on this Docker host, or fix image: in the bot file or nectar.yaml"

// A failed action says when it is tried next; the overview gives the
// error's first words, cut between words, and links to the bot's page,
// which has the whole text and the hint.
func TestFailedActionShowsNextAttemptSummaryAndHint(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now, Resync: time.Minute})
	o := statustest.Outcome(plan.Create, "no container yet", nil, hint.Wrap(errors.New(pullError), pullHint))
	o.Duration = 2 * time.Second
	res := statustest.OnePass(statustest.RevA, statustest.T0, o)
	res.Duration = 3 * time.Second
	s.RecordPass(res, reconcile.Source{}, nil)
	h := NewHandler(s, HandlerOptions{})
	clk.Set(statustest.T0.Add(10 * time.Second))

	var b status.BotStatus
	if err := json.Unmarshal(get(t, h, "/api/v1/bots/solo").Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.LastError != pullError || b.LastErrorHint != pullHint {
		t.Errorf("last error %q hint %q: want the whole text and the hint", b.LastError, b.LastErrorHint)
	}
	if want := statustest.T0.Add(3*time.Second + time.Minute); !b.NextAttempt.Equal(want) {
		t.Errorf("next attempt %s, want %s (the pass's end and a resync)", b.NextAttempt, want)
	}
	if b.LastAction == nil || b.LastAction.Hint != pullHint {
		t.Errorf("the failed action's history entry has no hint: %+v", b.LastAction)
	}

	page := get(t, h, "/").Body.String()
	cell := regexp.MustCompile(`(?s)<td data-field="last-error"[^>]*>(.*?)</td>`).FindStringSubmatch(page)
	if cell == nil {
		t.Fatal("no last-error cell")
	}
	sum := regexp.MustCompile(`<a class="error-summary"[^>]*>([^<]*)</a>`).FindStringSubmatch(cell[1])
	if sum == nil {
		t.Fatalf("no summary in the cell: %s", cell[1])
	}
	text := html.UnescapeString(sum[1])
	shown, cut := strings.CutSuffix(text, " …")
	if !cut || len([]rune(shown)) > overviewErrorLength*3/2 || !strings.HasPrefix(pullError, shown) {
		t.Errorf("summary %q is not the start of the error, cut and marked", text)
	}
	if next := pullError[len(shown)]; next != ' ' && next != ':' {
		t.Errorf("summary %q cuts a word in half (the error goes on with %q)", text, pullError[len(shown):len(shown)+5])
	}
	visible := regexp.MustCompile(`title="[^"]*"`).ReplaceAllString(cell[1], "") // the tooltip may hold it all
	if strings.Contains(visible, "retrying will not help") || strings.Contains(visible, "no such host") {
		t.Errorf("the overview cell holds more than the summary: %s", cell[1])
	}
	if !strings.Contains(cell[1], `next attempt <time datetime="2025-06-01T12:01:03Z"`) || !strings.Contains(cell[1], `href="/bots/solo#bot-error"`) {
		t.Errorf("the cell does not give the next attempt and the link: %s", cell[1])
	}
	if last := regexp.MustCompile(`(?s)<td data-field="last-action">(.*?)</td>`).FindStringSubmatch(page); last == nil || strings.Contains(last[1], "no such host") {
		t.Errorf("the last action cell repeats the error: %v", last)
	}

	bot := get(t, h, "/bots/solo").Body.String()
	for _, want := range []string{html.EscapeString(pullError), "hint: " + html.EscapeString(pullHint), "next attempt <time"} {
		if !strings.Contains(bot, want) {
			t.Errorf("the bot page lacks %q", want)
		}
	}

	// Once the action succeeds, the error, its hint and the next attempt go.
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(time.Minute), statustest.Outcome(plan.Create, "no container yet", nil, nil)), reconcile.Source{}, nil)
	if b, _ := s.Bot("solo"); b.LastError != "" || b.LastErrorHint != "" || !b.NextAttempt.IsZero() {
		t.Errorf("after success: error %q hint %q next %s", b.LastError, b.LastErrorHint, b.NextAttempt)
	}
}

func TestErrorSummary(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"short", "short"},
		{"two\nlines", "two"},
		{"  spaced   out\ttext ", "spaced out …"},
		{" spaced  out ", "spaced out"},
		{"aaaa bbbb cccc dddd", "aaaa bbbb …"},
		{"aaaa: bbbb cccc", "aaaa: bbbb …"},
		{"averyveryverylongwordwithoutspaces", "averyveryverylong …"},
		{"a verylongword12 and more", "a verylongword12 …"},
	} {
		n := 12
		if c.in == "averyveryverylongwordwithoutspaces" {
			n = 17
		}
		if got := errorSummary(c.in, n); got != c.want {
			t.Errorf("errorSummary(%q, %d) = %q, want %q", c.in, n, got, c.want)
		}
	}
}
