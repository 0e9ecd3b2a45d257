package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/fake"
)

// TestFailureClasses: each way an action fails, on the fake engine. What a
// person must fix is Stalled with its hint and not tried again, whatever
// is fixed meanwhile, until the resync period is over; what may pass is
// tried again after the back-off, and then succeeds. No other bot is held
// up either way, and a pass that holds an action back makes no engine call
// for it.
func TestFailureClasses(t *testing.T) {
	tests := []struct {
		name string
		// fault makes pmm-btc's next action fail; the fleet has converged
		// and pmm-btc's container was removed by hand, so a create is due.
		fault      func(h *harness)
		stalled    bool
		err, hint  string
		fix        func(h *harness) // what a person (or time) does about it
		wantAction plan.Kind
	}{
		{
			name: "a container name taken by one nectar does not own",
			fault: func(h *harness) {
				h.rt.Seed(runtime.Container{Name: "hummingbot-pmm-btc", Image: image, State: runtime.StateRunning})
			},
			stalled:    true,
			err:        "cannot create container hummingbot-pmm-btc",
			hint:       "is not nectar's",
			fix:        func(h *harness) { h.rt.Delete("hummingbot-pmm-btc") },
			wantAction: plan.Create,
		},
		{
			name:       "an image that cannot be had",
			fault:      func(h *harness) { h.write("bots/pmm-btc.yml", pmmBot+"image: nowhere/bot:1\n") },
			stalled:    true,
			err:        "cannot find or pull image nowhere/bot:1",
			hint:       "build or load the image",
			fix:        func(h *harness) { h.rt.AddPullable("nowhere/bot:1") },
			wantAction: plan.Create,
		},
		{
			name: "a container the engine refuses",
			fault: func(h *harness) {
				h.rt.Fail(fake.Create, 1, cerrdefs.ErrInvalidArgument.WithMessage("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"))
			},
			stalled:    true,
			err:        "Range of CPUs",
			hint:       "the engine refused the bot's container",
			wantAction: plan.Create,
		},
		{
			name:       "the engine away",
			fault:      func(h *harness) { h.rt.Fail(fake.Create, 1, fake.ErrDown) },
			err:        "cannot connect to the Docker daemon",
			wantAction: plan.Create,
		},
		{
			name:       "a timeout",
			fault:      func(h *harness) { h.rt.Fail(fake.Start, 1, context.DeadlineExceeded) },
			err:        "cannot start container hummingbot-pmm-btc: context deadline exceeded",
			wantAction: plan.Start, // the container was made; its start is what failed
		},
		{
			name: "the engine away as the image is pulled",
			fault: func(h *harness) {
				h.write("bots/pmm-btc.yml", pmmBot+"image: nowhere/bot:2\n")
				h.rt.AddPullable("nowhere/bot:2")
				h.rt.Fail(fake.Pull, 1, fake.ErrDown)
				h.rt.Fail(fake.Ping, 1, fake.ErrDown)
			},
			err:        "or pull image nowhere/bot:2: cannot connect",
			wantAction: plan.Create,
		},
		{
			name: "a start the engine refuses",
			fault: func(h *harness) {
				h.rt.Fail(fake.Start, 1, cerrdefs.ErrInvalidArgument.WithMessage(`OCI runtime create failed: exec: "hbot": executable file not found in $PATH`))
			},
			stalled:    true,
			err:        "executable file not found",
			hint:       "the engine refused",
			wantAction: plan.Start,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if res := h.pass(); len(res.Failed()) > 0 {
				t.Fatalf("converging: %+v", res.Failed())
			}
			c, _ := h.container("pmm-btc")
			h.rt.Delete(c.ID)
			tt.fault(h)
			// Later, so no start of the converging pass holds a start back.
			h.now = h.now.Add(plan.CrashLoopWindow)
			t0 := h.now
			o := outcome(t, h.pass(), "pmm-btc")
			retry := plan.BackoffBase
			if tt.stalled {
				retry = time.Minute
			}
			if o.Err == nil || o.Stalled != tt.stalled || !strings.Contains(o.Err.Error(), tt.err) || !o.RetryAt.Equal(t0.Add(retry)) {
				t.Fatalf("failing pass: %s err=%v stalled=%v retry %s; want an error with %q, stalled %v, retry %s",
					o.Kind, o.Err, o.Stalled, o.RetryAt, tt.err, tt.stalled, t0.Add(retry))
			}
			if hints := strings.Join(hint.Of(o.Err), "; "); !strings.Contains(hints, tt.hint) {
				t.Errorf("hints %q lack %q", hints, tt.hint)
			}
			if tt.fix != nil {
				tt.fix(h)
			}

			// Held back: the same error, no engine call for the bot.
			h.now = t0.Add(time.Second)
			h.rt.ResetLog()
			res := h.pass()
			o = outcome(t, res, "pmm-btc")
			want := plan.Wait
			if tt.stalled {
				want = plan.Stalled
			}
			if o.Kind != want || o.Failure == nil || o.Err != nil || !strings.Contains(o.Reason, tt.err) || !o.NotBefore.Equal(t0.Add(retry)) {
				t.Fatalf("held back: %s %q err=%v next %s; want %s until %s", o.Kind, o.Reason, o.Err, o.NotBefore, want, t0.Add(retry))
			}
			if m := h.rt.Mutations(); len(m) > 0 {
				t.Errorf("a held-back pass changed the engine: %v", m)
			}
			if x := outcome(t, res, "xemm-eth"); x.Kind != plan.None {
				t.Errorf("xemm-eth: %s %q", x.Kind, x.Reason)
			}

			// Tried again once its time comes, and now it goes through.
			h.now = t0.Add(retry)
			o = outcome(t, h.pass(), "pmm-btc")
			if o.Kind != tt.wantAction || o.Err != nil {
				t.Fatalf("after %s: %s %q err=%v, want %s done", retry, o.Kind, o.Reason, o.Err, tt.wantAction)
			}
			if c, ok := h.container("pmm-btc"); !ok || !c.Running() {
				t.Errorf("pmm-btc does not run: %+v", c)
			}
			if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.None {
				t.Errorf("after the retry: %s %q", o.Kind, o.Reason)
			}
		})
	}
}

// TestStallTriedAgainWhenTheBotChanges: a stalled action waits for the
// resync period only while the bot stays as it was; a change to it is what
// a person does to fix it, and is tried at once.
func TestStallTriedAgainWhenTheBotChanges(t *testing.T) {
	h := newHarness(t)
	h.write("bots/pmm-btc.yml", pmmBot+"image: nowhere/bot:1\n")
	if o := outcome(t, h.pass(), "pmm-btc"); !o.Stalled {
		t.Fatalf("%s err=%v stalled=%v", o.Kind, o.Err, o.Stalled)
	}
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Stalled || !strings.Contains(o.Reason, "nowhere/bot:1") {
		t.Fatalf("unchanged: %s %q", o.Kind, o.Reason)
	}
	h.write("bots/pmm-btc.yml", pmmBot)
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Create || o.Err != nil {
		t.Fatalf("image fixed: %s %q err=%v", o.Kind, o.Reason, o.Err)
	}
}

// TestBackoffGrowsWithEachFailure: an action that keeps failing for a
// reason that may pass is tried again after 5s, then 10s, ...
func TestBackoffGrowsWithEachFailure(t *testing.T) {
	h := newHarness(t)
	h.write("bots/xemm-eth.yml", "account: master_account\nconfig: conf_xemm_eth.yml\nstate: stopped\n")
	h.rt.Fail(fake.Create, 2, fake.ErrDown)
	t0 := h.now
	if o := outcome(t, h.pass(), "pmm-btc"); o.Err == nil || o.Stalled || !o.RetryAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("first: err=%v stalled=%v retry %s", o.Err, o.Stalled, o.RetryAt)
	}
	h.now = t0.Add(5 * time.Second)
	if o := outcome(t, h.pass(), "pmm-btc"); o.Err == nil || !o.RetryAt.Equal(h.now.Add(10*time.Second)) {
		t.Fatalf("second: err=%v retry %s, want %s", o.Err, o.RetryAt, h.now.Add(10*time.Second))
	}
	second := h.now
	h.now = second.Add(9 * time.Second)
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Wait || !strings.Contains(o.Reason, "back-off after 2 failure(s)") {
		t.Fatalf("within the back-off: %s %q", o.Kind, o.Reason)
	}
	h.now = second.Add(10 * time.Second)
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Create || o.Err != nil {
		t.Fatalf("third try: %s %q err=%v", o.Kind, o.Reason, o.Err)
	}
}

// vanishing is the fake engine with one twist: a container named in gone
// disappears just before nectar stops or starts it, as when a person
// removes it between the pass's list and its action.
type vanishing struct {
	*fake.Runtime
	gone string
}

func (v *vanishing) vanish(id string) {
	if id == v.gone {
		v.Runtime.Delete(id)
	}
}

func (v *vanishing) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	v.vanish(id)
	return v.Runtime.Stop(ctx, id, timeout)
}

func (v *vanishing) Start(ctx context.Context, id string) error {
	v.vanish(id)
	return v.Runtime.Start(ctx, id)
}

// TestContainerGoneMidActionIsNoFailure: a stop whose container is gone is
// done (nothing runs); a restart or a start whose container is gone makes
// it anew, as a create would, rather than failing until the next pass.
func TestContainerGoneMidActionIsNoFailure(t *testing.T) {
	tests := []struct {
		name   string
		action plan.Kind
		setup  func(h *harness, c runtime.Container)
		runs   bool // the bot runs afterwards
	}{
		{"restart", plan.Restart, func(h *harness, c runtime.Container) {
			conn := filepath.Join(h.state, "instances", "pmm-btc", "conf", "connectors", "binance.yml")
			os.WriteFile(conn, []byte("connector: binance\nbinance_api_key: tampered\n"), 0o600)
		}, true},
		{"start", plan.Start, func(h *harness, c runtime.Container) {
			h.rt.Stop(context.Background(), c.ID, 0)
			h.now = h.now.Add(plan.Backoff(1))
		}, true},
		{"stop", plan.Stop, func(h *harness, c runtime.Container) {
			h.write("bots/pmm-btc.yml", pmmBot+"state: stopped\n")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.pass()
			c, _ := h.container("pmm-btc")
			tt.setup(h, c)
			h.r.opts.Runtime = &vanishing{Runtime: h.rt, gone: c.ID}
			o := outcome(t, h.pass(), "pmm-btc")
			if o.Kind != tt.action || o.Err != nil {
				t.Fatalf("%s %q err=%v, want %s without error", o.Kind, o.Reason, o.Err, tt.action)
			}
			now, ok := h.container("pmm-btc")
			if tt.runs && (!ok || !now.Running() || now.ID == c.ID || !strings.Contains(o.Reason, "made it anew")) {
				t.Errorf("the bot was not made anew: %+v (reason %q)", now, o.Reason)
			}
			if !tt.runs && ok {
				t.Errorf("a container is back: %+v", now)
			}
			if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.None {
				t.Errorf("next pass: %s %q", o.Kind, o.Reason)
			}
		})
	}
}
