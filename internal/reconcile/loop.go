package reconcile

import (
	"context"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/runtime"
)

// Loop runs passes whenever something may have changed: the source
// signals, a container of the fleet changes on the engine, the resync
// timer fires, or a bot's back-off ends. Triggers only ask for a pass;
// those that arrive during a pass coalesce into one more pass, and passes
// never overlap.
type Loop struct {
	Reconciler *Reconciler
	// Snapshot returns the source's current revision (source.Source's
	// Snapshot fits); its Close frees it after the pass. On error it may
	// still return the last good revision, which is then applied.
	Snapshot func(ctx context.Context) (Source, error)
	// Changes signals that the source may have a new revision.
	Changes <-chan struct{}
	// Events are the engine's container events for this fleet.
	Events <-chan runtime.Event
	// Resync is the period of full passes without any trigger.
	Resync time.Duration
	// OnPass receives each pass's result (nil when the source gave no
	// revision at all), the revision it ran on (still readable: it is
	// closed only after OnPass returns) and the source error, if any.
	OnPass func(res *Result, src Source, sourceErr error)
}

// Run runs passes until ctx ends. A pass under way when ctx ends runs to
// its end first: cutting it short could leave a bot stopped and removed
// halfway through a recreate until nectar runs again.
func (l *Loop) Run(ctx context.Context) error {
	resync := l.Resync
	if resync <= 0 {
		resync = time.Minute
	}
	resyncT := time.NewTimer(0) // the first pass runs at once
	defer resyncT.Stop()
	var wake <-chan time.Time
	// A closed trigger channel (its source ended) is dropped, not read
	// again: it would be ready forever.
	changes, events := l.Changes, l.Events
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
		case <-resyncT.C:
		case <-wake:
		}
		// Everything that arrived so far is answered by this one pass.
		changes, events = drain(changes, events)
		next := l.pass(context.WithoutCancel(ctx))
		resyncT.Reset(resync)
		wake = nil
		if !next.IsZero() {
			wake = time.After(time.Until(next))
		}
	}
}

// pass runs one pass and returns when the earliest bot held back may be
// acted on again (zero when none waits): a start backing off, or an
// action that failed.
func (l *Loop) pass(ctx context.Context) time.Time {
	src, err := l.Snapshot(ctx)
	if src.Close != nil {
		defer src.Close()
	}
	if src.FS == nil {
		if l.OnPass != nil {
			l.OnPass(nil, src, err)
		}
		return time.Time{}
	}
	res := l.Reconciler.Pass(ctx, src)
	if l.OnPass != nil {
		l.OnPass(res, src, err)
	}
	var next time.Time
	for _, o := range res.Outcomes {
		if o.Kind != plan.Wait && o.Failure == nil {
			continue
		}
		if !o.NotBefore.IsZero() && (next.IsZero() || o.NotBefore.Before(next)) {
			next = o.NotBefore
		}
	}
	return next
}

// drain empties the trigger channels without blocking, and returns them
// with any that turned out closed set to nil.
func drain(changes <-chan struct{}, events <-chan runtime.Event) (<-chan struct{}, <-chan runtime.Event) {
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				changes = nil
			}
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		default:
			return changes, events
		}
	}
}
