package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime/fake"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/testenv"
)

// fakeDaemon runs the daemon on a copy of the example fleet and the
// in-memory engine, with a fast resync, and keeps its log.
type fakeDaemon struct {
	dir string
	log *testenv.SyncBuffer
	rt  *fake.Runtime

	mu     sync.Mutex
	passes []*reconcile.Result
}

func startFakeDaemon(t *testing.T, resync time.Duration, tweak func(*Config)) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{dir: testenv.CopyExample(t, "fake-problems", "fp-"), log: &testenv.SyncBuffer{}, rt: fake.New()}
	d.rt.AddImage(testenv.TestbotImage)
	state := t.TempDir()
	rd, err := render.New(render.StateDirOptions(state))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := secrets.LoadIdentities(testenv.DemoIdentity())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(d.log, nil))
	src, err := source.Open(source.Spec{Source: d.dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r := reconcile.New(reconcile.Options{Runtime: d.rt, Renderer: rd, StateDir: state, Identities: ids, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := Config{Source: src, Runtime: d.rt, Reconciler: r, Resync: resync, Log: log,
		OnPass: func(res *reconcile.Result, _ reconcile.Source, _ error) {
			d.mu.Lock()
			d.passes = append(d.passes, res)
			d.mu.Unlock()
		}}
	if tweak != nil {
		tweak(&cfg)
	}
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the daemon ended with %v", err)
		}
	})
	return d
}

// waitPasses waits until a pass satisfies ok, then for n more passes.
func (d *fakeDaemon) waitPasses(t *testing.T, what string, ok func(*reconcile.Result) bool, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	found := -1
	for time.Now().Before(deadline) {
		d.mu.Lock()
		if found < 0 {
			for i, res := range d.passes {
				if res != nil && ok(res) {
					found = i
				}
			}
		}
		count := len(d.passes)
		d.mu.Unlock()
		if found >= 0 && count > found+n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pass %s (then %d more); log:\n%s", what, n, d.log.String())
}

// countLines counts the log lines holding every one of parts.
func countLines(log string, parts ...string) int {
	n := 0
	for line := range strings.SplitSeq(log, "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// A problem is logged once when it appears, with where and why, however
// many passes it lasts, and once when it is fixed.
func TestDaemonLogsEachProblemOnce(t *testing.T) {
	d := startFakeDaemon(t, 20*time.Millisecond, nil)
	d.waitPasses(t, "that loaded the fleet", func(r *reconcile.Result) bool { return r.SourceOK }, 0)

	write := func(rel, content string) {
		t.Helper()
		d.mu.Lock()
		d.passes = nil // only passes after the change count
		d.mu.Unlock()
		if err := os.WriteFile(filepath.Join(d.dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stalled := func(r *reconcile.Result) bool {
		for _, o := range r.Outcomes {
			if o.Bot == "fp-typo" && o.Kind == plan.Stalled {
				return true
			}
		}
		return false
	}

	// A bot file that names a missing account stalls that bot.
	d.log.Take()
	write("bots/fp-typo.yml", "account: master_acount\nconfig: conf_pmm_btc.yml\n")
	d.waitPasses(t, "with fp-typo stalled", stalled, 5)
	log := d.log.Take()
	if n := countLines(log, "level=WARN", "bot stalled", "bot=fp-typo", "bots/fp-typo.yml:1:10", "master_acount"); n != 1 {
		t.Errorf("the stall was logged %d times over 6 passes, want once with file:line and reason; log:\n%s", n, log)
	}

	// A broken nectar.yaml: the fleet does not load.
	settings := filepath.Join(d.dir, "nectar.yaml")
	good, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	write("nectar.yaml", string(good)+"max_parallel_restarts: [\n")
	d.waitPasses(t, "that did not load", func(r *reconcile.Result) bool { return !r.SourceOK }, 5)
	log = d.log.Take()
	if n := countLines(log, "level=WARN", "the fleet does not load"); n != 1 {
		t.Errorf("the load failure was logged %d times, want once; log:\n%s", n, log)
	}
	if n := countLines(log, "level=WARN", "problem in the source", "at=nectar.yaml:"); n != 1 {
		t.Errorf("nectar.yaml's problem was logged %d times, want once with its line; log:\n%s", n, log)
	}
	if countLines(log, "bot stalled") != 0 || countLines(log, "no longer stalled") != 0 {
		t.Errorf("a source that does not load said something of fp-typo's stall; log:\n%s", log)
	}

	// Fixed: each resolution once.
	write("nectar.yaml", string(good))
	d.waitPasses(t, "that loaded again", func(r *reconcile.Result) bool { return r.SourceOK }, 3)
	log = d.log.Take()
	if countLines(log, "level=INFO", "the fleet loads again") != 1 || countLines(log, "level=INFO", "problem in the source fixed", "at=nectar.yaml:") != 1 {
		t.Errorf("the fix was not logged once; log:\n%s", log)
	}
	if countLines(log, "bot stalled") != 0 {
		t.Errorf("fp-typo's stall, unchanged, was logged again; log:\n%s", log)
	}
	d.mu.Lock()
	d.passes = nil
	d.mu.Unlock()
	if err := os.Remove(filepath.Join(d.dir, "bots", "fp-typo.yml")); err != nil {
		t.Fatal(err)
	}
	d.waitPasses(t, "without fp-typo", func(r *reconcile.Result) bool { return r.SourceOK && !stalled(r) && len(r.Outcomes) > 0 }, 3)
	log = d.log.Take()
	if n := countLines(log, "level=INFO", "bot no longer stalled", "bot=fp-typo"); n != 1 {
		t.Errorf("the stall's end was logged %d times, want once; log:\n%s", n, log)
	}
}
