package status

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
)

// A failed action is shown by its class on the pass it fails and on the
// passes that hold it back: stalled, with the hint, when a person must fix
// it; failed then waiting when it may pass. The error keeps the time it
// first appeared, the next attempt is the one the reconciler set, the
// metrics count one error (the attempt) and the bot under its condition,
// and `nectar status` lists the error with its hint and next attempt.
func TestFailureClassesShown(t *testing.T) {
	const msg = "creating container hummingbot-solo: Conflict. The container name is already in use"
	const why = "a container named hummingbot-solo exists and is not nectar's; remove or rename it"
	for _, tt := range []struct {
		name            string
		stalled         bool
		retry           time.Duration // after the failing pass
		first, held     string        // the condition on the failing pass and on the next
		heldKind        plan.Kind
		wantErrorsTotal string
	}{
		{name: "needs a person", stalled: true, retry: time.Minute, first: ConditionStalled, held: ConditionStalled, heldKind: plan.Stalled},
		{name: "may pass", retry: 5 * time.Second, first: ConditionFailed, held: ConditionWaiting, heldKind: plan.Wait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: t0}
			s := NewStore(StoreOptions{Now: clk.Now, Resync: time.Minute})
			o := outcome(plan.Create, "no container yet", nil, hint.Wrap(errors.New(msg), why))
			o.Stalled, o.RetryAt = tt.stalled, t0.Add(tt.retry)
			s.RecordPass(onePass(revA, t0, o), reconcile.Source{}, nil)
			b, _ := s.Bot("solo")
			if b.Condition != tt.first || b.LastError != msg || b.LastErrorHint != why || !b.NextAttempt.Equal(t0.Add(tt.retry)) {
				t.Errorf("failing pass: %s %q hint %q next %s; want %s, the error, its hint, %s",
					b.Condition, b.LastError, b.LastErrorHint, b.NextAttempt, tt.first, t0.Add(tt.retry))
			}

			// The next pass holds the action back.
			clk.Set(t0.Add(2 * time.Second))
			f := plan.Failure{Kind: plan.Create, At: t0, Attempts: 1, Stalled: tt.stalled, Error: msg, Hint: why}
			held := outcome(tt.heldKind, "create failed: "+msg, nil, nil)
			held.Failure, held.NotBefore = &f, t0.Add(tt.retry)
			s.RecordPass(onePass(revA, t0.Add(2*time.Second), held), reconcile.Source{}, nil)
			b, _ = s.Bot("solo")
			if b.Condition != tt.held || b.LastError != msg || !b.LastErrorAt.Equal(t0) || b.LastErrorHint != why || !b.NextAttempt.Equal(t0.Add(tt.retry)) {
				t.Errorf("held back: %s %q at %s hint %q next %s; want %s, the same error since %s, its hint, %s",
					b.Condition, b.LastError, b.LastErrorAt, b.LastErrorHint, b.NextAttempt, tt.held, t0, t0.Add(tt.retry))
			}
			if b.LastAction == nil || b.LastAction.Kind != string(plan.Create) || b.LastAction.Error != msg {
				t.Errorf("the last action is not the failed create: %+v", b.LastAction)
			}

			metrics := get(t, NewHandler(s, HandlerOptions{}), "/metrics").Body.String()
			for _, want := range []string{
				`nectar_action_errors_total{kind="create"} 1`,
				`nectar_bots{condition="` + tt.held + `"} 1`,
			} {
				if !strings.Contains(metrics, want+"\n") {
					t.Errorf("/metrics lacks %q", want)
				}
			}

			var text bytes.Buffer
			WriteText(&text, s.View())
			for _, want := range []string{tt.held, "solo: " + msg, "hint: " + why, "next attempt:"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("nectar status lacks %q:\n%s", want, text.String())
				}
			}
		})
	}
}
