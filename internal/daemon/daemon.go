// Package daemon runs nectar continuously: it follows a fleet source,
// listens to the engine's container events, and runs reconcile passes
// whenever either may have changed something. It never stops a bot on its
// own way out: when it ends, the containers keep running as they are.
package daemon

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/source"
)

// Config is what the daemon runs on.
type Config struct {
	Source     source.Source
	Runtime    runtime.Runtime
	Reconciler *reconcile.Reconciler
	// Resync is the period of full passes without any trigger.
	Resync time.Duration
	Log    *slog.Logger
	// OnPass, when set, receives every pass (see reconcile.Loop.OnPass).
	OnPass func(res *reconcile.Result, src reconcile.Source, sourceErr error)
	// Health, when its Every is set, asks the bots for their own status.
	Health Health
	// Inspections, when set and the Runtime is a runtime.Inspector, is
	// kept up to date with each pass's containers before OnPass is called.
	Inspections *Inspections
	// StateDir, when set, is watched for suspend, resume and adopt, which
	// then take effect at once rather than at the next resync.
	StateDir string
}

// Re-subscription delays after the engine's event stream broke.
const (
	eventRetryMin = 500 * time.Millisecond
	eventRetryMax = 30 * time.Second
)

// eventSettle is how long the engine's events must be quiet before they
// ask for a pass. The engine reports a container's "die" before every API
// answer shows it exited, so a pass run at once could still see it
// running, and with the event used up nothing would look again. It also
// folds the bursts of events nectar's own actions cause into one pass.
// A steady stream of events (a bot crash-looping under a restart policy)
// still asks for a pass at least every eventSettleMax.
const (
	eventSettle    = 250 * time.Millisecond
	eventSettleMax = time.Second
)

// Run reconciles until ctx ends. It returns nil on a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	events := make(chan runtime.Event, 1)
	fleets := make(chan string, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { followEvents(ctx, cfg.Runtime, cfg.Log, fleets, events, cfg.Inspections.invalidate) })
	if cfg.StateDir != "" {
		wg.Go(func() { followStateDir(ctx, cfg.StateDir, cfg.Log, events) })
	}
	inspector, _ := cfg.Runtime.(runtime.Inspector)

	var lastFleet string
	var seen problems
	var current atomic.Value // the fleet's name, for the health checks
	current.Store("")
	wg.Go(func() { followHealth(ctx, cfg.Runtime, cfg.Health, func() string { return current.Load().(string) }) })
	loop := &reconcile.Loop{
		Reconciler: cfg.Reconciler,
		Snapshot:   cfg.Source.Snapshot,
		Changes:    cfg.Source.Changes(ctx),
		Events:     events,
		Resync:     cfg.Resync,
		OnPass: func(res *reconcile.Result, src reconcile.Source, sourceErr error) {
			logPass(cfg.Log, res)
			seen.observe(cfg.Log, res, sourceErr)
			// The fleet's name comes from nectar.yaml, so the event
			// subscription can only be made (or moved) after a load.
			if res != nil && res.SourceOK && res.Fleet != lastFleet {
				lastFleet = res.Fleet
				current.Store(res.Fleet)
				select {
				case <-fleets:
				default:
				}
				fleets <- res.Fleet
			}
			if cfg.Inspections != nil && inspector != nil && res != nil && res.SourceOK && res.EngineErr == nil {
				cfg.Inspections.refresh(ctx, inspector, res)
			}
			if cfg.OnPass != nil {
				cfg.OnPass(res, src, sourceErr)
			}
		},
	}
	cfg.Log.Info("nectar is running", "source", cfg.Source.String())
	err := loop.Run(ctx)
	if ctx.Err() != nil {
		cfg.Log.Info("nectar stopped; the bots keep running")
		return nil
	}
	return err
}

// followEvents keeps a subscription to the fleet's container events and
// forwards them as triggers. Each new subscription asks for one pass, since
// changes made before it (during the first pass, or while the engine was
// away) were never reported. When the stream breaks (the engine restarted
// or went away) it subscribes again with a growing delay. seen hears of
// every event's container at once ("" for a new subscription: anything
// may have changed while none was in place).
func followEvents(ctx context.Context, rt runtime.Runtime, log *slog.Logger, fleets <-chan string, out chan<- runtime.Event, seen func(id string)) {
	var fleet string
	select {
	case <-ctx.Done():
		return
	case fleet = <-fleets:
	}
	delay := eventRetryMin
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	var last runtime.Event
	var burst time.Time // when the events waiting to settle began; zero when none wait
	for {
		subCtx, cancel := context.WithCancel(ctx)
		evs, errs := rt.Events(subCtx, fleet)
		seen("")
		forward(out, runtime.Event{Action: "subscribed"})
		moved := false
	stream:
		for {
			select {
			case <-ctx.Done():
				cancel()
				return
			case f := <-fleets:
				if f != fleet {
					fleet, moved = f, true
					break stream
				}
			case ev, ok := <-evs:
				if !ok {
					break stream
				}
				delay = eventRetryMin
				seen(ev.ContainerID)
				last = ev
				now := time.Now()
				if burst.IsZero() {
					burst = now
				}
				settle.Reset(max(min(eventSettle, burst.Add(eventSettleMax).Sub(now)), 0))
			case <-settle.C:
				burst = time.Time{}
				forward(out, last)
			}
		}
		cancel()
		if moved {
			continue
		}
		select {
		case err := <-errs:
			log.Warn("lost the engine's container events; subscribing again", "error", err, "retry_in", delay)
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, eventRetryMax)
	}
}

// forward passes a trigger on without blocking: one pending trigger is
// as good as many.
func forward(out chan<- runtime.Event, ev runtime.Event) {
	select {
	case out <- ev:
	default:
	}
}

// logPass writes one line per pass that changed something or failed, and
// one at debug level for the others. Problems (a source that does not
// load or cannot be read, a stalled bot, the engine away) are logged by
// problems.observe, once each.
func logPass(log *slog.Logger, res *reconcile.Result) {
	if res == nil || !res.SourceOK || res.EngineErr != nil {
		return
	}
	changed, failed := 0, 0
	for _, o := range res.Outcomes {
		if o.Kind.Mutates() {
			changed++
		}
		if o.Err != nil {
			failed++
		}
	}
	level := slog.LevelDebug
	if changed > 0 || failed > 0 {
		level = slog.LevelInfo
	}
	log.Log(context.Background(), level, "pass done", "fleet", res.Fleet, "revision", res.Revision,
		"bots", len(res.Outcomes), "changed", changed, "failed", failed, "took", res.Duration.Round(time.Millisecond))
}
