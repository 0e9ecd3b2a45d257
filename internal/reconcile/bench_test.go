package reconcile

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/hbcrypt"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
	"github.com/nectarhq/nectar/internal/runtime/fake"
	"github.com/nectarhq/nectar/internal/testenv"
)

// bigFleet is the example fleet with n bots of one account.
func bigFleet(b *testing.B, fleetName, prefix string, n int) string {
	dir := testenv.CopyExample(b, fleetName, prefix)
	os.RemoveAll(filepath.Join(dir, "bots"))
	os.MkdirAll(filepath.Join(dir, "bots"), 0o755)
	for i := range n {
		body := "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n"
		if err := os.WriteFile(filepath.Join(dir, "bots", fmt.Sprintf("%s%04d.yml", prefix, i)), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// benchNoOp converges once, then measures passes that find nothing to do.
func benchNoOp(b *testing.B, rt runtime.Runtime, dir string, calls func() int64) {
	rd, err := render.New(render.StateDirOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	r := New(Options{Runtime: rt, Renderer: rd, StateDir: b.TempDir(), Identities: exampleIDs(), Workers: 8})
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	src := Source{Revision: "bench", FS: root.FS()}
	res := r.Pass(context.Background(), src)
	if len(res.Failed()) > 0 {
		b.Fatalf("converging: %v", res.Failed()[0].Err)
	}
	if _, real := rt.(*docker.Engine); real {
		// Every bot past its start: each decrypts its keys when it starts,
		// as Hummingbot does, and a hundred of them doing so would be
		// measured along with the passes.
		waitRunning(b, rd, res)
	}
	// A daemon's no-op passes come seconds or minutes after the last
	// write; right after one, the renderer reads every file back (see
	// render's racy window), which is not the steady state measured here.
	time.Sleep(1100 * time.Millisecond)
	before := calls()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := r.Pass(context.Background(), src); res.Pending() {
			b.Fatal("a no-op pass found work")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(calls()-before)/float64(b.N), "engine-calls/pass")
}

// waitRunning waits until every bot the pass started says it runs, in its
// engine's status snapshot.
func waitRunning(b *testing.B, rd *render.Renderer, res *Result) {
	deadline := time.Now().Add(5 * time.Minute)
	for _, o := range res.Outcomes {
		if o.Kind != plan.Create {
			continue
		}
		for {
			if s, err := botstatus.ReadSnapshot(rd.InstanceDir(o.Bot)); err == nil && s.Running {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s never got past its start", o.Bot)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// BenchmarkNoOpPassEngine100: a pass over 100 running test bots on the
// real engine, after convergence.
func BenchmarkNoOpPassEngine100(b *testing.B) {
	testenv.RequireDocker(b)
	testenv.BuildTestbot(b)
	const fleetName = "bench-noop"
	testenv.RemoveFleet(b, fleetName)
	dir := bigFleet(b, fleetName, "bn-", 100)
	eng, err := docker.New(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	b.Cleanup(func() { testenv.RemoveFleet(b, fleetName) })
	start := time.Now()
	benchNoOp(b, eng, dir, func() int64 { return eng.Calls().Total() })
	b.Logf("setup and runs took %s", time.Since(start).Round(time.Second))
}

// BenchmarkNoOpPassFake measures nectar's own cost of a no-op pass as the
// fleet grows, with the in-memory engine.
func BenchmarkNoOpPassFake(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("bots=%d", n), func(b *testing.B) {
			rt := fake.New()
			rt.AddImage(testenv.TestbotImage)
			dir := bigFleet(b, "bench-fake", "bf-", n)
			benchNoOp(b, rt, dir, func() int64 { return int64(len(rt.Log())) })
		})
	}
}

// rolloutFleet is the example fleet with accounts × perAccount bots, each
// account a copy of master_account, the stand-in spending stopDelay
// "cancelling orders" when it is stopped.
func rolloutFleet(b *testing.B, fleetName, prefix string, accounts, perAccount int, stopDelay time.Duration) string {
	dir := testenv.CopyExample(b, fleetName, prefix)
	os.RemoveAll(filepath.Join(dir, "bots"))
	os.MkdirAll(filepath.Join(dir, "bots"), 0o755)
	settings := filepath.Join(dir, "nectar.yaml")
	data, err := os.ReadFile(settings)
	if err != nil {
		b.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "    TZ: UTC\n", "    TZ: UTC\n    TESTBOT_STOP_DELAY: "+stopDelay.String()+"\n", 1))
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for a := range accounts {
		acct := fmt.Sprintf("acct%02d", a)
		os.MkdirAll(filepath.Join(dir, "accounts", acct), 0o755)
		for _, f := range []string{"password.age", "binance.yml.age"} {
			data, err := os.ReadFile(filepath.Join(dir, "accounts", "master_account", f))
			if err != nil {
				b.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "accounts", acct, f), data, 0o600)
		}
		for i := range perAccount {
			body := "account: " + acct + "\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n"
			os.WriteFile(filepath.Join(dir, "bots", fmt.Sprintf("%s%02d-%d.yml", prefix, a, i)), []byte(body), 0o644)
		}
	}
	return dir
}

// BenchmarkFleetWideImageChange: 20 and 40 bots, four per account, on the
// real engine, each taking 5 s to stop gracefully (the stand-in "cancels
// its orders"); the whole fleet's image changes. It reports the time from
// the change to every bot running on the new image, against one bot's
// graceful recreate measured the same way, how many bots had to be
// killed, and what one key derivation costs on this machine: each bot
// derives its key as it starts, as Hummingbot does, and on a small host
// those derivations compete with the engine for the CPU.
func BenchmarkFleetWideImageChange(b *testing.B) {
	for _, accounts := range []int{5, 10} {
		b.Run(fmt.Sprintf("bots=%d", accounts*4), func(b *testing.B) { fleetWideImageChange(b, accounts) })
	}
}

func fleetWideImageChange(b *testing.B, accounts int) {
	testenv.RequireDocker(b)
	testenv.BuildTestbot(b)
	const (
		fleetName  = "bench-rollout"
		perAccount = 4
		stopDelay  = 5 * time.Second
	)
	next := testenv.TestbotImage + "-next"
	if out, err := exec.Command("docker", "tag", testenv.TestbotImage, next).CombinedOutput(); err != nil {
		b.Fatalf("docker tag: %v\n%s", err, out)
	}
	testenv.RemoveFleet(b, fleetName)
	dir := rolloutFleet(b, fleetName, "ro-", accounts, perAccount, stopDelay)
	eng, err := docker.New(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	state := b.TempDir()
	// Registered after the state folder, so it runs first: running bots
	// keep writing into their instance folders.
	b.Cleanup(func() { testenv.RemoveFleet(b, fleetName) })
	rd, err := render.New(render.StateDirOptions(state))
	if err != nil {
		b.Fatal(err)
	}
	pr := &phaseRuntime{Runtime: eng, last: map[string]time.Duration{}}
	r := New(Options{Runtime: pr, Renderer: rd, StateDir: state, Identities: exampleIDs()})
	var passed time.Time // when the last pass began
	pass := func() *Result {
		root, err := os.OpenRoot(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer root.Close()
		passed = time.Now()
		res := r.Pass(context.Background(), Source{Revision: "bench", FS: root.FS()})
		if len(res.Failed()) > 0 {
			b.Fatalf("%s: %v", res.Failed()[0].Bot, res.Failed()[0].Err)
		}
		return res
	}
	// The bots named up and past their start since the given time: each
	// engine says it runs, so its stop path is in place (a stop before
	// that is a kill, with Hummingbot as with the stand-in).
	var all []string
	for bot := range accounts * perAccount {
		all = append(all, fmt.Sprintf("ro-%02d-%d", bot/perAccount, bot%perAccount))
	}
	ready := func(since time.Time, bots ...string) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			n := 0
			for _, bot := range bots {
				inst := rd.InstanceDir(bot)
				info, err := os.Stat(filepath.Join(inst, botstatus.SnapshotFile))
				if snap, rerr := botstatus.ReadSnapshot(inst); err == nil && rerr == nil && snap.Running && !info.ModTime().Before(since) {
					n++
				}
			}
			if n == len(bots) {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d bots became ready", n, len(bots))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	edit := func(old, new string) {
		settings := filepath.Join(dir, "nectar.yaml")
		data, _ := os.ReadFile(settings)
		s := strings.Replace(string(data), old, new, 1)
		if s == string(data) {
			b.Fatalf("nectar.yaml has no %q", old)
		}
		os.WriteFile(settings, []byte(s), 0o644)
	}
	killed := func(res *Result) int {
		n := 0
		for _, o := range res.Outcomes {
			if o.Killed != "" {
				n++
			}
		}
		return n
	}
	pass()
	ready(passed, all...)

	// One bot alone: a graceful stop and a start, as nectar makes them.
	one := filepath.Join(dir, "bots", "ro-00-0.yml")
	body, _ := os.ReadFile(one)
	os.WriteFile(one, append(body, "env: {ALONE: one}\n"...), 0o644)
	start := time.Now()
	res := pass()
	single := time.Since(start)
	kills := killed(res)
	ready(passed, "ro-00-0")

	b.ResetTimer()
	start = time.Now()
	edit("image: "+testenv.TestbotImage, "image: "+next)
	pr.begin()
	res = pass()
	fleetWide := time.Since(start)
	b.StopTimer()
	kills += killed(res)
	cs, err := eng.List(context.Background(), fleetName)
	if err != nil {
		b.Fatal(err)
	}
	onNext := 0
	for _, c := range cs {
		if c.Running() && c.Image == next {
			onNext++
		}
	}
	if onNext != accounts*perAccount {
		b.Fatalf("%d of %d bots run the new image", onNext, accounts*perAccount)
	}
	b.ReportMetric(fleetWide.Seconds(), "fleet-s")
	b.ReportMetric(single.Seconds(), "one-bot-s")
	b.ReportMetric(fleetWide.Seconds()/single.Seconds(), "ratio")
	b.ReportMetric(float64(kills), "killed")
	b.ReportMetric(pr.last["stop"].Seconds(), "stops-done-s")
	b.ReportMetric(pr.last["start"].Seconds(), "starts-done-s")
	b.ReportMetric(pr.last["create"].Seconds(), "creates-done-s")
	b.ReportMetric(pr.last["remove"].Seconds(), "removes-done-s")
	t0 := time.Now()
	if _, err := hbcrypt.NewKeyring().PasswordVerification("bench", hbcrypt.NewSalt()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(t0).Seconds(), "derive-s")
}

// phaseRuntime notes when the last stop and the last start of a rollout
// ended, to tell where its time goes.
type phaseRuntime struct {
	runtime.Runtime
	mu   sync.Mutex
	t0   time.Time
	last map[string]time.Duration
}

func (p *phaseRuntime) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t0 = time.Now()
}

func (p *phaseRuntime) note(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.t0.IsZero() {
		p.last[what] = max(p.last[what], time.Since(p.t0))
	}
}

func (p *phaseRuntime) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	defer p.note("stop")
	return p.Runtime.Stop(ctx, id, timeout)
}

func (p *phaseRuntime) Start(ctx context.Context, id string) error {
	defer p.note("start")
	return p.Runtime.Start(ctx, id)
}

func (p *phaseRuntime) Create(ctx context.Context, spec runtime.Spec) (string, error) {
	defer p.note("create")
	return p.Runtime.Create(ctx, spec)
}

func (p *phaseRuntime) Remove(ctx context.Context, id string) error {
	defer p.note("remove")
	return p.Runtime.Remove(ctx, id)
}
