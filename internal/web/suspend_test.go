package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// A suspended bot is shown as such, with who and when, in the API and on
// its page, and no longer once resumed.
func TestSuspendedIsShown(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	running := statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up 1 minute", -1)
	sus := &plan.Suspension{By: "ops@box", At: statustest.T0.Add(-time.Minute), Stop: true}
	o := statustest.Outcome(plan.Suspended, "suspended by ops@box", running, nil)
	o.Suspended = sus
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, o), reconcile.Source{}, nil)
	h := NewHandler(s, HandlerOptions{})
	rec := get(t, h, "/api/v1/status")
	var st status.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Bots) != 1 || st.Bots[0].Condition != status.ConditionSuspended || st.Bots[0].Suspended == nil ||
		st.Bots[0].Suspended.By != "ops@box" || !st.Bots[0].Suspended.Stop || !st.Bots[0].Suspended.At.Equal(sus.At) {
		t.Fatalf("%s", rec.Body.String())
	}
	rec = get(t, h, "/bots/solo")
	if !strings.Contains(rec.Body.String(), "by ops@box") || !strings.Contains(rec.Body.String(), "nectar resume") {
		t.Errorf("the bot page does not say who suspended it:\n%s", rec.Body.String())
	}
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(time.Minute), statustest.Outcome(plan.None, "running, up to date", running, nil)), reconcile.Source{}, nil)
	if b, _ := s.Bot("solo"); b.Suspended != nil || b.Condition != status.ConditionReady {
		t.Errorf("after resume: %+v", b)
	}
}
