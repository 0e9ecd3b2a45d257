package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
		body := "account: master_account\nconnectors: [binance]\nscript_config: conf_pmm_btc.yml\nheadless: true\n"
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
	if res := r.Pass(context.Background(), src); len(res.Failed()) > 0 {
		b.Fatalf("converging: %v", res.Failed()[0].Err)
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
