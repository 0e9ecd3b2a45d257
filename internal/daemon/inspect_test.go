package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/fake"
)

// inspectingRuntime is the fake engine with an Inspect that counts its
// calls per container and says how often each was "restarted".
type inspectingRuntime struct {
	*fake.Runtime
	mu    sync.Mutex
	calls map[string]int
}

func (r *inspectingRuntime) Inspect(ctx context.Context, id string) (runtime.Inspection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[id]++
	return runtime.Inspection{StartedAt: time.Unix(int64(r.calls[id]), 0), RestartCount: r.calls[id]}, nil
}

func (r *inspectingRuntime) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

// Containers are inspected when they are new or changed (an engine event
// named them, or their state moved), not on passes that change nothing;
// what was read is there for the pass's OnPass.
func TestInspectionsFollowChangesOnly(t *testing.T) {
	insp := NewInspections()
	var rt *inspectingRuntime
	var seenInOnPass sync.Map // container id → the inspection OnPass could read
	d := startFakeDaemon(t, 20*time.Millisecond, func(cfg *Config) {
		rt = &inspectingRuntime{Runtime: cfg.Runtime.(*fake.Runtime), calls: map[string]int{}}
		cfg.Runtime = rt
		cfg.Inspections = insp
		inner := cfg.OnPass
		cfg.OnPass = func(res *reconcile.Result, src reconcile.Source, err error) {
			if res != nil {
				for _, o := range res.Outcomes {
					if o.Container != nil {
						if i, ok := insp.Get(o.Container.ID); ok {
							seenInOnPass.Store(o.Container.ID, i)
						}
					}
				}
			}
			inner(res, src, err)
		}
	})
	running := func(r *reconcile.Result) bool {
		n := 0
		for _, o := range r.Outcomes {
			if o.Container != nil && o.Container.State == runtime.StateRunning && o.Kind == "none" {
				n++
			}
		}
		return n == 2
	}
	d.waitPasses(t, "with both bots running", running, 0)
	var id string
	for _, c := range mustList(t, d.rt, "fake-problems") {
		if c.Bot() == "fp-pmm-btc" {
			id = c.ID
		}
	}
	// Let any event of the starts settle, then count.
	time.Sleep(500 * time.Millisecond)
	before := rt.count(id)
	if before == 0 {
		t.Fatal("the running bot's container was never inspected")
	}
	d.mu.Lock()
	d.passes = nil
	d.mu.Unlock()
	d.waitPasses(t, "at all", func(*reconcile.Result) bool { return true }, 10)
	if n := rt.count(id); n != before {
		t.Errorf("11 passes that changed nothing inspected the container %d more times", n-before)
	}
	if v, ok := seenInOnPass.Load(id); !ok || v.(runtime.Inspection).RestartCount != before {
		t.Errorf("OnPass read %+v, want the last inspection (%d)", v, before)
	}

	// The bot exits (an engine event): it is inspected again.
	if err := d.rt.Exit(id, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rt.count(id) == before {
		if time.Now().After(deadline) {
			t.Fatal("the container was not inspected again after it exited")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustList(t *testing.T, rt *fake.Runtime, fleet string) []runtime.Container {
	t.Helper()
	cs, err := rt.List(context.Background(), fleet)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
