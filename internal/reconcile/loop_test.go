package reconcile

import (
	"context"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/runtime"
)

// loopHarness runs a Loop over the fake engine inside a synctest bubble,
// so timers advance without sleeping.
type loopHarness struct {
	*harness
	changes chan struct{}
	events  chan runtime.Event
	mu      sync.Mutex
	passes  []*Result
}

// start runs the loop; the channel closes when Run returns.
func (h *loopHarness) start(ctx context.Context) <-chan struct{} {
	l := &Loop{
		Reconciler: h.r,
		Snapshot: func(ctx context.Context) (Source, error) {
			root, err := os.OpenRoot(h.dir)
			if err != nil {
				return Source{}, err
			}
			return Source{Revision: "loop", FS: root.FS(), Close: func() { root.Close() }}, nil
		},
		Changes: h.changes,
		Events:  h.events,
		Resync:  time.Minute,
		OnPass: func(res *Result, _ Source, err error) {
			h.mu.Lock()
			h.passes = append(h.passes, res)
			h.mu.Unlock()
		},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	return done
}

func (h *loopHarness) last() *Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.passes[len(h.passes)-1]
}

func (h *loopHarness) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.passes)
}

func TestLoopTriggersCoalesceAndResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newHarness(t)
		base.r.opts.Now = time.Now // the bubble's clock
		h := &loopHarness{harness: base, changes: make(chan struct{}, 1), events: make(chan runtime.Event, 100)}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h.start(ctx)
		synctest.Wait()
		if h.count() != 1 {
			t.Fatalf("%d passes at start, want 1", h.count())
		}
		// A burst of engine events and a source change: one more pass.
		for range 50 {
			h.events <- runtime.Event{Action: "die"}
		}
		h.changes <- struct{}{}
		synctest.Wait()
		if n := h.count(); n < 2 || n > 3 {
			t.Fatalf("%d passes after a burst, want 2 or 3", n)
		}
		before := h.count()
		// Nothing happens until the resync period ends.
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if h.count() != before {
			t.Fatal("a pass ran without a trigger")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if h.count() != before+1 {
			t.Fatalf("no resync pass: %d", h.count())
		}
	})
}

func TestLoopWakesWhenBackoffEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newHarness(t)
		base.r.opts.Now = time.Now
		h := &loopHarness{harness: base, changes: make(chan struct{}, 1), events: make(chan runtime.Event, 100)}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h.start(ctx)
		synctest.Wait()
		c, _ := h.container("pmm-btc")
		h.rt.Exit(c.ID, 1)
		h.events <- runtime.Event{Action: "die"}
		synctest.Wait()
		last := h.last()
		if o := outcome(t, last, "pmm-btc"); o.Kind != plan.Wait {
			t.Fatalf("%+v", o)
		}
		time.Sleep(plan.Backoff(1) + time.Second)
		synctest.Wait()
		last = h.last()
		if o := outcome(t, last, "pmm-btc"); o.Kind != plan.Start {
			t.Fatalf("after the back-off: %+v", o)
		}
	})
}

// A trigger channel that closes (its source ended) is neither a trigger
// nor a reason to spin: the loop runs no extra pass and still stops when
// asked, even when the close and the stop come together.
func TestLoopSurvivesClosedTriggers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newHarness(t)
		base.r.opts.Now = time.Now
		h := &loopHarness{harness: base, changes: make(chan struct{}, 1), events: make(chan runtime.Event, 1)}
		ctx, cancel := context.WithCancel(t.Context())
		done := h.start(ctx)
		synctest.Wait()
		close(h.changes)
		close(h.events)
		synctest.Wait()
		if n := h.count(); n != 1 {
			t.Fatalf("%d passes after the triggers closed, want 1", n)
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("the loop did not stop")
		}
	})
}
