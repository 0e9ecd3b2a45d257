package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/daemon"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// benchFleet is a fleet of n bots over five accounts, each bot with a
// running container; pass(i) is the i-th pass over it, in which a few bots
// restart so that every pass changes the snapshot.
func benchFleet(n int) (pass func(i int) *reconcile.Result) {
	fl := &fleet.Fleet{Name: "bench", Bots: map[string]*fleet.Bot{}, Accounts: map[string]*fleet.Account{}}
	for a := range 5 {
		name := fmt.Sprintf("account-%d", a)
		fl.Accounts[name] = &fleet.Account{Name: name, Connectors: []string{"binance", "kucoin", "hyperliquid_perpetual"}}
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("bot-%03d", i)
		fl.Bots[names[i]] = &fleet.Bot{Name: names[i], Account: fmt.Sprintf("account-%d", i%5), State: fleet.StateRunning,
			Image: "hummingbot/hummingbot:2.16.0", Connectors: []string{"binance", "kucoin"}}
	}
	return func(i int) *reconcile.Result {
		res := &reconcile.Result{Revision: fmt.Sprintf("main@sha1:%040x", i/50), Fleet: "bench", Loaded: fl,
			Started: statustest.T0.Add(time.Duration(i) * time.Second), Duration: 40 * time.Millisecond, SourceOK: true}
		for j, name := range names {
			c := statustest.ContainerOf(name, "hummingbot/hummingbot:2.16.0", runtime.StateRunning, "Up 3 hours (healthy)", -1)
			o := reconcile.Outcome{Action: plan.Action{Bot: name, Kind: plan.None, Reason: "running, up to date", Container: c}, Restarts: 1}
			if (i+j)%17 == 0 {
				c.State, c.Status = runtime.StateExited, "Exited (1) 3 seconds ago"
				o.Kind, o.Reason, o.Duration = plan.Start, "container exited with code 1", 90*time.Millisecond
			}
			res.Outcomes = append(res.Outcomes, o)
		}
		return res
	}
}

func benchFiles(bot string) []render.FileRecord {
	return []render.FileRecord{
		{Path: "conf/.password_verification", Digest: "91fe11e36df3cff10b7c2677648eaed0cca8736cd5ea6a0ff78029bc537b2b16"},
		{Path: "conf/conf_client.yml", Digest: "f5210c895cfc48bfcabc708166a44044d232752e4b8a342607e7bbbb4c7ff066"},
		{Path: "conf/connectors/binance.yml", Digest: "e8bc15d5ecb13e66fe80b2b4c806afc60ee9fc5507b5912397982cd7a50dc297"},
	}
}

// benchStore is a Store for a 100-bot fleet after enough passes to fill
// the bots' histories. Its clock is the wall's, or, with ticking, one that
// moves a second each time it is read, so that no two requests share a
// cached answer.
func benchStore(b *testing.B, ticking bool) (*status.Store, func(i int) *reconcile.Result) {
	pass := benchFleet(100)
	now := time.Now
	if ticking {
		var ticks atomic.Int64
		now = func() time.Time { return statustest.T0.Add(time.Duration(ticks.Add(1)) * time.Second) }
	}
	s := status.NewStore(status.StoreOptions{Source: "/srv/fleet", Files: benchFiles, Now: now})
	for i := range 200 {
		s.RecordPass(pass(i), reconcile.Source{}, nil)
	}
	return s, pass
}

// serveLoopback runs h on a real http.Server (NewServer's settings) on a
// loopback port and returns its base URL.
func serveLoopback(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(ln.Addr().String(), h)
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}
}

func fetchOK(client *http.Client, url string) (int64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, err
}

func benchmarkGET(b *testing.B, path string) {
	b.Run("cached", func(b *testing.B) { benchmarkGETWith(b, path, false) })
	b.Run("rendered", func(b *testing.B) { benchmarkGETWith(b, path, true) })
}

func benchmarkGETWith(b *testing.B, path string, ticking bool) {
	s, _ := benchStore(b, ticking)
	base := serveLoopback(b, NewHandler(s, HandlerOptions{}))
	client := benchClient()
	n, err := fetchOK(client, base+path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := fetchOK(client, base+path); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStatusPage serves the overview of a 100-bot fleet over
// loopback: "cached" as answers come within one second of one snapshot,
// "rendered" with every request rendering the page anew.
func BenchmarkStatusPage(b *testing.B) { benchmarkGET(b, "/") }

// BenchmarkStatusAPI serves /api/v1/status of a 100-bot fleet over
// loopback, cached and rendered as BenchmarkStatusPage.
func BenchmarkStatusAPI(b *testing.B) { benchmarkGET(b, "/api/v1/status") }

// BenchmarkSteadyLoad drives 500 requests a second, alternating the
// overview and /api/v1/status of a 100-bot fleet, for 5 s
// ($NECTAR_LOAD_SECONDS), while passes are recorded ten times a second and
// four event streams stay open. Requests leave on a fixed schedule and
// latency counts from when each was due, so a stall shows in the tail
// instead of slowing the sender. It reports p50 and p99 per route. It is
// one measurement, not a loop: run it with -benchtime=1x.
func BenchmarkSteadyLoad(b *testing.B) {
	const rate = 500
	seconds := 5
	if v, err := strconv.Atoi(os.Getenv("NECTAR_LOAD_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	// The daemon runs with its own collector target; so does this.
	defer debug.SetGCPercent(daemon.TuneGC())
	s, pass := benchStore(b, false)
	base := serveLoopback(b, NewHandler(s, HandlerOptions{}))
	client := benchClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var background sync.WaitGroup
	for range 4 {
		background.Go(func() { followEvents(ctx, base) })
	}
	background.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 200; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.RecordPass(pass(i), reconcile.Source{}, nil)
			}
		}
	})

	paths := []string{"/", "/api/v1/status"}
	total := rate * seconds
	latencies := make([][]time.Duration, len(paths))
	var mu sync.Mutex
	var errs int
	var requests sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(due))
		route := i % len(paths)
		requests.Go(func() {
			_, err := fetchOK(client, base+paths[route])
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			latencies[route] = append(latencies[route], took)
		})
	}
	requests.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	background.Wait()

	if errs > 0 {
		b.Errorf("%d of %d requests failed", errs, total)
	}
	names := []string{"page", "api"}
	for route, l := range latencies {
		slices.Sort(l)
		b.ReportMetric(ms(percentile(l, 0.50)), names[route]+"-p50-ms")
		b.ReportMetric(ms(percentile(l, 0.99)), names[route]+"-p99-ms")
		b.ReportMetric(ms(l[len(l)-1]), names[route]+"-max-ms")
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
}

// followEvents holds an event stream open and reads it until ctx ends.
func followEvents(ctx context.Context, base string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
