package status_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// A failed action is shown by its class on the pass it fails and on the
// passes that hold it back: stalled, with the hint, when a person must fix
// it; failed then waiting when it may pass. The error keeps the time it
// first appeared, the next attempt is the one the reconciler set, the
// metrics count one error (the attempt) and the bot under its condition,
// and `nectar status` lists the error with its hint and next attempt (see
// cmd/nectar's TestWriteStatusFailedBot).
func TestFailureClassesShown(t *testing.T) {
	const msg = "cannot create container hummingbot-solo: Conflict. The container name is already in use"
	const why = "a container named hummingbot-solo exists and is not nectar's; remove or rename it"
	for _, tt := range []struct {
		name            string
		stalled         bool
		retry           time.Duration // after the failing pass
		first, held     string        // the condition on the failing pass and on the next
		heldKind        plan.Kind
		wantErrorsTotal string
	}{
		{name: "needs a person", stalled: true, retry: time.Minute, first: status.ConditionStalled, held: status.ConditionStalled, heldKind: plan.Stalled},
		{name: "may pass", retry: 5 * time.Second, first: status.ConditionFailed, held: status.ConditionWaiting, heldKind: plan.Wait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := statustest.NewClock(statustest.T0)
			s := status.NewStore(status.StoreOptions{Now: clk.Now, Resync: time.Minute})
			o := statustest.Outcome(plan.Create, "no container yet", nil, hint.Wrap(errors.New(msg), why))
			o.Stalled, o.RetryAt = tt.stalled, statustest.T0.Add(tt.retry)
			s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, o), reconcile.Source{}, nil)
			b, _ := s.Bot("solo")
			if b.Condition != tt.first || b.LastError != msg || b.LastErrorHint != why || !b.NextAttempt.Equal(statustest.T0.Add(tt.retry)) {
				t.Errorf("failing pass: %s %q hint %q next %s; want %s, the error, its hint, %s",
					b.Condition, b.LastError, b.LastErrorHint, b.NextAttempt, tt.first, statustest.T0.Add(tt.retry))
			}

			// The next pass holds the action back.
			clk.Set(statustest.T0.Add(2 * time.Second))
			f := plan.Failure{Kind: plan.Create, At: statustest.T0, Attempts: 1, Stalled: tt.stalled, Error: msg, Hint: why}
			held := statustest.Outcome(tt.heldKind, "cannot create: "+msg, nil, nil)
			held.Failure, held.NotBefore = &f, statustest.T0.Add(tt.retry)
			s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(2*time.Second), held), reconcile.Source{}, nil)
			b, _ = s.Bot("solo")
			if b.Condition != tt.held || b.LastError != msg || !b.LastErrorAt.Equal(statustest.T0) || b.LastErrorHint != why || !b.NextAttempt.Equal(statustest.T0.Add(tt.retry)) {
				t.Errorf("held back: %s %q at %s hint %q next %s; want %s, the same error since %s, its hint, %s",
					b.Condition, b.LastError, b.LastErrorAt, b.LastErrorHint, b.NextAttempt, tt.held, statustest.T0, statustest.T0.Add(tt.retry))
			}
			if b.LastAction == nil || b.LastAction.Kind != string(plan.Create) || b.LastAction.Error != msg {
				t.Errorf("the last action is not the failed create: %+v", b.LastAction)
			}

			metrics := scrape(t, s)
			for _, want := range []string{
				`nectar_action_errors_total{kind="create"} 1`,
				`nectar_bots{condition="` + tt.held + `"} 1`,
			} {
				if !strings.Contains(metrics, want+"\n") {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}

// scrape is the Store's metrics in the text form /metrics serves.
func scrape(t *testing.T, s *status.Store) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
