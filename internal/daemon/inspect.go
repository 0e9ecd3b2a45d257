package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
)

// Inspections keeps what the engine said of each of the fleet's
// containers when inspected: its start time and the engine's own restart
// count, which a list does not carry. A container is inspected again only
// when it may have changed: it is new, its listed state moved, or an
// engine event named it (Docker's restart policy restarting it says "die"
// and "start"). A pass that changed nothing costs no inspection.
type Inspections struct {
	mu    sync.Mutex
	known map[string]inspected // by container id
	stale map[string]bool      // ids an event named since their inspection
	all   bool                 // every entry is stale (a new event subscription)
}

type inspected struct {
	runtime.Inspection
	state string // the listed state when inspected
}

// NewInspections returns an empty cache.
func NewInspections() *Inspections {
	return &Inspections{known: map[string]inspected{}, stale: map[string]bool{}}
}

// Get returns the last inspection of a container.
func (in *Inspections) Get(id string) (runtime.Inspection, bool) {
	if in == nil {
		return runtime.Inspection{}, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	i, ok := in.known[id]
	return i.Inspection, ok
}

// invalidate marks a container (every one, for "") as possibly changed.
func (in *Inspections) invalidate(id string) {
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if id == "" {
		in.all = true
		return
	}
	in.stale[id] = true
}

// inspectParallel bounds the inspections made at once; inspectWait each.
const (
	inspectParallel = 8
	inspectWait     = 5 * time.Second
)

// refresh inspects the pass's containers that may have changed, and
// forgets containers the pass no longer lists.
func (in *Inspections) refresh(ctx context.Context, rt runtime.Inspector, res *reconcile.Result) {
	listed := map[string]string{}
	for _, o := range res.Outcomes {
		if o.Container != nil {
			listed[o.Container.ID] = o.Container.State
		}
	}
	in.mu.Lock()
	var ask []string
	for id, state := range listed {
		k, ok := in.known[id]
		if !ok || k.state != state || in.stale[id] || in.all {
			ask = append(ask, id)
		}
	}
	for id := range in.known {
		if _, ok := listed[id]; !ok {
			delete(in.known, id)
		}
	}
	// Events that arrive from here on may postdate the inspection, so they
	// stay marked for the next pass.
	clear(in.stale)
	in.all = false
	in.mu.Unlock()

	var wg sync.WaitGroup
	sem := make(chan struct{}, inspectParallel)
	for _, id := range ask {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(ctx, inspectWait)
			defer cancel()
			i, err := rt.Inspect(ctx, id)
			in.mu.Lock()
			defer in.mu.Unlock()
			if err != nil {
				// Unknown rather than wrong; the next pass asks again.
				delete(in.known, id)
				return
			}
			in.known[id] = inspected{Inspection: i, state: listed[id]}
		})
	}
	wg.Wait()
}
