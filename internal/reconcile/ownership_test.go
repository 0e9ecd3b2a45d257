package reconcile

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/owner"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/suspend"
	"github.com/nectarhq/nectar/internal/testenv"
)

// second is another fleet folder of the same fleet name, with only the
// bot named, and its own state dir, on the first harness's engine.
func (h *harness) second(keep string) *harness {
	h.t.Helper()
	o := &harness{t: h.t, dir: testenv.CopyExample(h.t, "quickstart", ""), state: h.t.TempDir(), rt: h.rt, now: h.now}
	entries, _ := os.ReadDir(filepath.Join(o.dir, "bots"))
	for _, e := range entries {
		if e.Name() != keep+".yml" {
			os.Remove(filepath.Join(o.dir, "bots", e.Name()))
		}
	}
	rd, err := render.New(render.StateDirOptions(o.state))
	if err != nil {
		h.t.Fatal(err)
	}
	o.r = New(Options{Runtime: o.rt, Renderer: rd, StateDir: o.state, Identities: exampleIDs(), Now: func() time.Time { return o.now }})
	return o
}

// TestSameFleetNameTwoStateDirs: two state dirs running fleets of the
// same name on one engine never remove, stop or recreate each other's
// bots; each reports the other's as a conflict naming its state dir.
func TestSameFleetNameTwoStateDirs(t *testing.T) {
	a := newHarness(t)
	a.pass()
	mine, ok := a.container("pmm-btc")
	if !ok {
		t.Fatal("no container")
	}
	id, _ := owner.ID(a.state)
	if mine.Labels[runtime.LabelOwner] != id || mine.Labels[runtime.LabelStateDir] != a.state {
		t.Fatalf("labels %v, want owner %s", mine.Labels, id)
	}
	b := a.second("hl-perp")
	b.write("bots/hl-perp.yml", strings.Replace(readFile(t, filepath.Join(b.dir, "bots/hl-perp.yml")), "state: stopped", "state: running", 1))
	a.rt.ResetLog()
	res := b.pass()
	for _, bot := range []string{"pmm-btc", "xemm-eth"} {
		o := outcome(t, res, bot)
		if o.Kind != plan.Stalled || !strings.Contains(o.Reason, "state dir "+a.state) || !strings.Contains(o.Reason, "nectar adopt "+bot) {
			t.Errorf("%s: %s %q", bot, o.Kind, o.Reason)
		}
	}
	for _, c := range a.rt.Mutations() {
		if c.Arg == mine.ID || c.Arg == mine.Name {
			t.Errorf("the other state dir's container was touched: %v", c)
		}
	}
	if c, ok := a.container("pmm-btc"); !ok || c.ID != mine.ID || !c.Running() {
		t.Fatalf("the other's bot is gone: %+v", c)
	}
	// And the first one leaves the second's bot alone too.
	if o := outcome(t, a.pass(), "hl-perp"); o.Kind != plan.Stalled {
		t.Errorf("hl-perp: %s %q", o.Kind, o.Reason)
	}
	if _, ok := a.container("hl-perp"); !ok {
		t.Error("the first state dir pruned the second's bot")
	}
}

// TestUpgradeFromUnlabelledContainers: containers made by a nectar that
// did not label their owner stay this state dir's without a restart (it
// made them: its hash, or its record), while another state dir sees them
// as a conflict. `nectar adopt` (owner.Adopt) takes one over on purpose.
func TestUpgradeFromUnlabelledContainers(t *testing.T) {
	h := newHarness(t)
	h.pass()
	// Make every container look as an older nectar left it.
	cs, _ := h.rt.List(context.Background(), "quickstart")
	for _, c := range cs {
		h.rt.Delete(c.ID)
		labels := maps.Clone(c.Labels)
		delete(labels, runtime.LabelOwner)
		delete(labels, runtime.LabelStateDir)
		c.Labels = labels
		h.rt.Seed(c)
	}
	h.rt.ResetLog()
	res := h.pass()
	if len(h.rt.Mutations()) != 0 || res.Pending() {
		t.Fatalf("the upgrade changed containers: %v", h.rt.Mutations())
	}
	// A change recreates it (the record says this state dir made it),
	// now with the label.
	h.write("bots/pmm-btc.yml", pmmBot+"env: {EXTRA: one}\n")
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Recreate || o.Err != nil {
		t.Fatalf("%s %q %v", o.Kind, o.Reason, o.Err)
	}
	if c, _ := h.container("pmm-btc"); c.Labels[runtime.LabelOwner] == "" {
		t.Error("the recreated container has no owner")
	}
	// Another state dir sees xemm-eth (unlabelled) as nobody's it knows.
	b := h.second("hl-perp")
	o := outcome(t, b.pass(), "xemm-eth")
	if o.Kind != plan.Stalled || !strings.Contains(o.Reason, "older nectar") {
		t.Fatalf("%s %q", o.Kind, o.Reason)
	}
	// Adopted on purpose: the second state dir now owns (and prunes) it.
	x, _ := h.container("xemm-eth")
	if err := owner.Adopt(b.state, map[string]owner.Adoption{x.ID: {Bot: "xemm-eth", By: "test"}}, nil); err != nil {
		t.Fatal(err)
	}
	if o := outcome(t, b.pass(), "xemm-eth"); o.Kind != plan.Remove || o.Err != nil {
		t.Fatalf("after adopt: %s %q %v", o.Kind, o.Reason, o.Err)
	}
}

// TestSuspendLeavesContainersAlone: a suspension read from the state dir
// freezes the bot (no recreate, no start) until resumed; --stop stops it
// once, through the normal stop path.
func TestSuspendLeavesContainersAlone(t *testing.T) {
	h := newHarness(t)
	h.pass()
	before, _ := h.container("pmm-btc")
	if _, err := suspend.Suspend(h.state, []string{"pmm-btc"}, false, plan.Suspension{By: "ops@box", At: h.now}); err != nil {
		t.Fatal(err)
	}
	h.write("bots/pmm-btc.yml", pmmBot+"env: {EXTRA: one}\n")
	h.rt.Exit(before.ID, 1)
	h.rt.ResetLog()
	o := outcome(t, h.pass(), "pmm-btc")
	if o.Kind != plan.Suspended || o.Suspended == nil || o.Suspended.By != "ops@box" || len(h.rt.Mutations()) != 0 {
		t.Fatalf("%s %q %v", o.Kind, o.Reason, h.rt.Mutations())
	}
	// --all with --stop: the running bot is stopped, the exited one left.
	suspend.Suspend(h.state, nil, true, plan.Suspension{By: "ops@box", At: h.now, Stop: true})
	res := h.pass()
	if o := outcome(t, res, "xemm-eth"); o.Kind != plan.Stop || o.Err != nil {
		t.Fatalf("xemm-eth: %s %q %v", o.Kind, o.Reason, o.Err)
	}
	if c, _ := h.container("xemm-eth"); c.Running() {
		t.Fatal("not stopped")
	}
	h.rt.ResetLog()
	h.pass()
	if len(h.rt.Mutations()) != 0 {
		t.Fatalf("a suspended fleet changed: %v", h.rt.Mutations())
	}
	if _, err := suspend.Resume(h.state, []string{"pmm-btc"}, false); err == nil {
		t.Error("resuming one bot of a suspended fleet was allowed")
	}
	suspend.Resume(h.state, nil, true)
	h.now = h.now.Add(time.Hour)
	res = h.pass()
	if o := outcome(t, res, "pmm-btc"); o.Kind != plan.Recreate {
		t.Errorf("pmm-btc after resume: %s %q", o.Kind, o.Reason)
	}
	if o := outcome(t, res, "xemm-eth"); o.Kind != plan.Start {
		t.Errorf("xemm-eth after resume: %s %q", o.Kind, o.Reason)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
