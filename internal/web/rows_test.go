package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// Rows kept from a pass before make the same overview as rows rendered
// afresh, at every step of the story: with the clock moving between passes
// and with passes in one second, where rows are kept the most.
func TestRowsFollowTheirBots(t *testing.T) {
	for _, still := range []bool{false, true} {
		clk := statustest.NewClock(statustest.T0)
		s := status.NewStore(status.StoreOptions{Source: statustest.SourceURL, Files: statustest.RenderedFiles, Now: clk.Now,
			Inspected: statustest.Inspected, Resync: time.Minute})
		kept := NewHandler(s, HandlerOptions{})
		good := statustest.ExampleFS(t)
		for i, st := range statustest.Story(t) {
			if !still {
				clk.Set(st.At.Add(st.Res.Duration))
			}
			st.Record(s, good)
			got := get(t, kept, "/").Body.String()
			want := get(t, NewHandler(s, HandlerOptions{}), "/").Body.String()
			if got != want {
				t.Fatalf("clock still %v, step %d (%s): the overview from kept rows differs from one rendered afresh", still, i+1, st.Name)
			}
		}
	}
}

// A row does not show when its bot was last observed, which changes every
// pass: rowCache leaves it out when it decides whether a row changed.
func TestRowLeavesOutObservedAt(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	for _, b := range s.Snapshot().Status().Bots {
		render := func(observed time.Time) []byte {
			b.ObservedAt = observed
			var buf bytes.Buffer
			if err := pages["overview"].ExecuteTemplate(&buf, "bot-row", rowData{Bot: b, Now: statustest.T0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		if !bytes.Equal(render(statustest.T0), render(statustest.T0.Add(42*time.Minute))) {
			t.Fatalf("bot %s: its row shows when it was observed; rowCache must then compare ObservedAt too", b.Name)
		}
	}
}
