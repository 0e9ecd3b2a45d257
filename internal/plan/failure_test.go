package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/runtime"
)

// TestFailureHoldsBack: an action that failed is not repeated with the
// same inputs before its time: a stall waits for a change of the bot or
// the resync period, anything else a back-off that grows with each
// failure. A change of the bot's hash, of the action, or of the container
// acted on lets it through at once, and so does an operator's suspension.
func TestFailureHoldsBack(t *testing.T) {
	const stallRetry = time.Minute
	exited := container("a", "h2", runtime.StateExited, 1)
	create := Input{Desired: map[string]Desired{"a": desired("a")}}
	start := Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{exited}}
	failed := func(kind Kind, stalled bool, ago time.Duration, attempts int) Failure {
		f := Failure{Kind: kind, Hash: "h2", At: now.Add(-ago), Attempts: attempts, Stalled: stalled, Error: "boom", Hint: "do this"}
		if kind == Start {
			f.Container = exited.ID
		}
		return f
	}
	tests := []struct {
		name    string
		in      Input
		failure Failure
		want    Kind
		reason  string
		next    time.Duration // from now, when held back
	}{
		{name: "stalled, nothing changed", in: create, failure: failed(Create, true, 10*time.Second, 1),
			want: Stalled, reason: "cannot create: boom; a person must fix this", next: 50 * time.Second},
		{name: "stalled, the resync period is over", in: create, failure: failed(Create, true, stallRetry, 1), want: Create},
		{name: "stalled, the bot changed", in: create, failure: func() Failure { f := failed(Create, true, 0, 1); f.Hash = "h1"; return f }(), want: Create},
		{name: "may pass, within the back-off", in: create, failure: failed(Create, false, 2*time.Second, 1),
			want: Wait, reason: "cannot create: boom; next attempt in 3s (back-off after 1 failure(s))", next: 3 * time.Second},
		{name: "may pass, the back-off grows", in: create, failure: failed(Create, false, 6*time.Second, 2), want: Wait, next: 4 * time.Second},
		{name: "may pass, the back-off is over", in: create, failure: failed(Create, false, BackoffBase, 1), want: Create},
		{name: "another action is due", in: start, failure: failed(Create, true, 0, 1), want: Start},
		{name: "the same action on another container", in: start,
			failure: func() Failure { f := failed(Start, false, 0, 1); f.Container = "old"; return f }(), want: Start},
		{name: "the same action on the same container", in: start, failure: failed(Start, false, 0, 1), want: Wait, next: BackoffBase},
		{name: "suspended with --stop: the stop is always tried",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", runtime.StateRunning, -1)},
				Suspended: map[string]Suspension{"a": {By: "op@host", At: now, Stop: true}}},
			failure: func() Failure { f := failed(Stop, false, 0, 3); f.Container = "id-a"; return f }(), want: Stop},
		{name: "a bot no longer in the source: its removal backs off",
			in:      Input{Prune: true, AllowEmpty: true, Observed: []runtime.Container{container("a", "h2", runtime.StateRunning, -1)}},
			failure: Failure{Kind: Remove, Container: "id-a", At: now, Attempts: 1, Error: "engine away"}, want: Wait, next: BackoffBase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.SourceOK, in.Now, in.StallRetry = true, now, stallRetry
			in.Failures = map[string]Failure{"a": tt.failure}
			got := Make(in)
			if len(got) != 1 || got[0].Kind != tt.want {
				t.Fatalf("got %v, want one %s", got, tt.want)
			}
			a := got[0]
			if !strings.Contains(a.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", a.Reason, tt.reason)
			}
			heldBack := tt.next != 0
			if heldBack != (a.Failure != nil) || (heldBack && !a.NotBefore.Equal(now.Add(tt.next))) {
				t.Errorf("failure %+v, next %s; want held back %v until %s", a.Failure, a.NotBefore, heldBack, now.Add(tt.next))
			}
		})
	}
}
