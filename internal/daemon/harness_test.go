package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/testenv"
)

// daemonUnderTest is a daemon running on the real engine in the
// background, with every pass's result delivered to the test.
type daemonUnderTest struct {
	t      testing.TB
	fleet  string
	state  string
	rt     *timedRuntime
	src    *timedSource
	snaps  sync.Map // *reconcile.Result → snapTiming of the pass's snapshot
	srcErr sync.Map // *reconcile.Result → the source error of its pass, if any
	passes chan *reconcile.Result
	count  atomic.Int64 // passes run so far
	cancel context.CancelFunc
	done   chan error
}

// startDaemon runs the daemon on spec (a folder or git source) for fleet,
// whose containers are removed when the test ends.
func startDaemon(t testing.TB, fleetName string, spec source.Spec) *daemonUnderTest {
	t.Helper()
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })

	ctx, cancel := context.WithCancel(context.Background())
	eng, err := docker.New(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rd, err := render.New(render.StateDirOptions(state))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ids, err := secrets.LoadIdentities(testenv.DemoIdentity())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	src, err := source.Open(spec)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rt := &timedRuntime{Runtime: eng}
	tsrc := &timedSource{Source: src}
	d := &daemonUnderTest{t: t, fleet: fleetName, state: state, rt: rt, src: tsrc, passes: make(chan *reconcile.Result, 1000), cancel: cancel, done: make(chan error, 1)}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	r := reconcile.New(reconcile.Options{Runtime: rt, Renderer: rd, StateDir: state, Identities: ids, Log: log})
	go func() {
		d.done <- Run(ctx, Config{
			Source: tsrc, Runtime: rt, Reconciler: r, Resync: time.Hour, Log: log,
			OnPass: func(res *reconcile.Result, _ reconcile.Source, err error) {
				d.count.Add(1)
				if res != nil {
					at, took := tsrc.last()
					d.snaps.Store(res, snapTiming{at, took})
					if err != nil {
						d.srcErr.Store(res, err)
					}
					select {
					case d.passes <- res:
					default:
						t.Error("pass results piled up unread")
					}
				}
			},
		})
	}()
	t.Cleanup(func() { d.stop(); eng.Close() })
	return d
}

// waitReady waits until the bot's engine says it runs, in a status
// snapshot written after since: it started, and its stop path is in
// place. A stop before that is a kill after the whole stop timeout, with
// Hummingbot as with the test bot, so a test that stops a bot it just
// made waits for this first.
func (d *daemonUnderTest) waitReady(bot string, since time.Time) {
	d.t.Helper()
	inst := filepath.Join(d.state, "instances", bot)
	deadline := time.Now().Add(waitLong)
	for {
		info, err := os.Stat(filepath.Join(inst, botstatus.SnapshotFile))
		snap, rerr := botstatus.ReadSnapshot(inst)
		if err == nil && rerr == nil && !info.ModTime().Before(since) && snap.Running {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("bot %s did not become ready", bot)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until every running bot of the fleet is ready.
func (d *daemonUnderTest) settle() {
	d.t.Helper()
	for bot, c := range d.containers() {
		if c.Running() {
			d.waitReady(bot, time.Time{})
		}
	}
}

// stop ends the daemon and checks it ended cleanly.
func (d *daemonUnderTest) stop() {
	d.t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("Run returned %v on shutdown", err)
		}
	case <-time.After(30 * time.Second):
		var buf strings.Builder
		pprof.Lookup("goroutine").WriteTo(&buf, 1)
		d.t.Errorf("the daemon did not stop within 30s; goroutines:\n%s", buf.String())
	}
}

// waitPass waits for a pass whose result satisfies ok and returns it.
func (d *daemonUnderTest) waitPass(what string, timeout time.Duration, ok func(*reconcile.Result) bool) *reconcile.Result {
	d.t.Helper()
	deadline := time.After(timeout)
	var last *reconcile.Result
	for {
		select {
		case res := <-d.passes:
			last = res
			if ok(res) {
				return res
			}
		case <-deadline:
			d.t.Fatalf("no pass within %s where %s; last pass:\n%s", timeout, what, describe(last))
			return nil
		}
	}
}

// converged waits for a pass that acted on nothing and in which every bot
// that should run has its container (none, held or stopped; never a
// failure).
func (d *daemonUnderTest) converged(timeout time.Duration) *reconcile.Result {
	d.t.Helper()
	return d.waitPass("the fleet converged", timeout, func(res *reconcile.Result) bool {
		if !res.SourceOK || res.EngineErr != nil {
			return false
		}
		for _, o := range res.Outcomes {
			if o.Kind.Mutates() || o.Err != nil || o.Kind == plan.Wait || o.Kind == plan.Stalled || o.Kind == plan.CrashLoop {
				return false
			}
		}
		return true
	})
}

// drain forgets the results delivered so far.
func (d *daemonUnderTest) drain() {
	for {
		select {
		case <-d.passes:
		default:
			return
		}
	}
}

func describe(res *reconcile.Result) string {
	if res == nil {
		return "(none)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "revision %s source ok %v engine %v\n", res.Revision, res.SourceOK, res.EngineErr)
	for _, p := range res.SourceProblems {
		fmt.Fprintf(&b, "  problem %s\n", p)
	}
	for _, o := range res.Outcomes {
		fmt.Fprintf(&b, "  %s err=%v\n", o.Action, o.Err)
	}
	return b.String()
}

// outcome returns the bot's outcome in res.
func outcome(res *reconcile.Result, bot string) (reconcile.Outcome, bool) {
	for _, o := range res.Outcomes {
		if o.Bot == bot {
			return o, true
		}
	}
	return reconcile.Outcome{}, false
}

// acted reports whether res holds a successful action of kind on bot.
func acted(res *reconcile.Result, bot string, kind plan.Kind) bool {
	o, ok := outcome(res, bot)
	return ok && o.Kind == kind && o.Err == nil
}

// containers lists the fleet's containers by bot.
func (d *daemonUnderTest) containers() map[string]runtime.Container {
	d.t.Helper()
	list, err := d.rt.List(context.Background(), d.fleet)
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[string]runtime.Container{}
	for _, c := range list {
		if _, dup := out[c.Bot()]; dup {
			d.t.Errorf("two containers for bot %s", c.Bot())
		}
		out[c.Bot()] = c
	}
	return out
}

// timedRuntime adds up the time spent in the engine's mutating calls, so
// benchmarks can separate Docker's share of a change from nectar's.
type timedRuntime struct {
	runtime.Runtime
	mu    sync.Mutex
	spent time.Duration
}

func (r *timedRuntime) timed(start time.Time) {
	r.mu.Lock()
	r.spent += time.Since(start)
	r.mu.Unlock()
}

// take returns the time spent since the last take.
func (r *timedRuntime) take() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.spent
	r.spent = 0
	return s
}

func (r *timedRuntime) Create(ctx context.Context, spec runtime.Spec) (string, error) {
	defer r.timed(time.Now())
	return r.Runtime.Create(ctx, spec)
}

func (r *timedRuntime) Start(ctx context.Context, id string) error {
	defer r.timed(time.Now())
	return r.Runtime.Start(ctx, id)
}

func (r *timedRuntime) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	defer r.timed(time.Now())
	return r.Runtime.Stop(ctx, id, timeout)
}

func (r *timedRuntime) Remove(ctx context.Context, id string) error {
	defer r.timed(time.Now())
	return r.Runtime.Remove(ctx, id)
}

func (r *timedRuntime) Rename(ctx context.Context, id, name string) error {
	defer r.timed(time.Now())
	return r.Runtime.Rename(ctx, id, name)
}

func (r *timedRuntime) ImagePresent(ctx context.Context, ref string) (bool, error) {
	defer r.timed(time.Now())
	return r.Runtime.ImagePresent(ctx, ref)
}

// writeFile writes a file of the fleet, creating its folder.
func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameSave replaces a file the way many editors save: write a temporary
// file, then rename it over the original. The temporary file is a dotfile
// at the fleet's top, which the loader ignores.
func renameSave(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	tmp := filepath.Join(dir, ".save-"+filepath.Base(p))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// timedSource remembers when the last snapshot was taken and how long it
// took (for git, that includes the ls-remote and any fetch).
type timedSource struct {
	source.Source
	mu    sync.Mutex
	start time.Time
	took  time.Duration
}

func (s *timedSource) Snapshot(ctx context.Context) (source.Snapshot, error) {
	start := time.Now()
	snap, err := s.Source.Snapshot(ctx)
	s.mu.Lock()
	s.start, s.took = start, time.Since(start)
	s.mu.Unlock()
	return snap, err
}

// last returns when the last snapshot began and how long it took.
func (s *timedSource) last() (time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start, s.took
}

type snapTiming struct {
	at   time.Time
	took time.Duration
}

// snapshotOf returns when the snapshot res ran on was taken, and how long
// it took.
func (d *daemonUnderTest) snapshotOf(res *reconcile.Result) (time.Time, time.Duration) {
	v, _ := d.snaps.Load(res)
	st, _ := v.(snapTiming)
	return st.at, st.took
}
