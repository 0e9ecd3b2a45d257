package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/testenv"
)

// minChanges is how many changes each change-to-converged benchmark
// measures at least, whatever b.N is, so its percentiles mean something.
const minChanges = 20

// BenchmarkChangeToConverged measures, on the real engine, the time from a
// change to the pass that has the bot running again on it, split into:
//
//	wait    change → the pass takes its snapshot (the debounce for a
//	        folder, the ref watch or the poll period for git)
//	nectar  nectar's own work: the snapshot (for git: ls-remote and
//	        fetch), load, decrypt, render, plan, bookkeeping (snapshot
//	        plus the pass's duration, less Docker's calls)
//	docker  stop, remove, create and start of the container
//
// Each sub-benchmark makes max(b.N, 20) changes to a one-bot fleet and
// reports p50 and p90 of each part in milliseconds.
func BenchmarkChangeToConverged(b *testing.B) {
	b.Run("folder-credential-edit", func(b *testing.B) {
		dir := oneBotFleet(b, "bench-folder", "bf-")
		d := startDaemon(b, "bench-folder", source.Spec{Source: dir})
		ids, err := secrets.LoadIdentities(testenv.DemoIdentity())
		if err != nil {
			b.Fatal(err)
		}
		folder := manage.Folder{Dir: dir}
		measureChanges(b, d, "bf-pmm-btc", func(i int) {
			plain, err := folder.ReadCredential("master_account", "binance", ids)
			if err != nil {
				b.Fatal(err)
			}
			plain = apiKeyLine.ReplaceAll(plain, fmt.Appendf(nil, "binance_api_key: bench-key-%d", i))
			if err := folder.AddCredential("master_account", "binance", plain, true); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("git-local-commit", func(b *testing.B) {
		work := oneBotFleet(b, "bench-git", "bg-")
		testenv.Git(b, work, "init", "-q", "-b", "main")
		commitAll(b, work)
		d := startDaemon(b, "bench-git", source.Spec{Source: "file://" + work, Branch: "main", Poll: time.Hour})
		measureChanges(b, d, "bg-pmm-btc", func(i int) {
			writeFile(b, work, "bots/bg-pmm-btc.yml", fmt.Sprintf("account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv:\n  CHANGE: %q\n", fmt.Sprint(i)))
			commitAll(b, work)
		})
	})
	b.Run("git-http-push-poll-1s", func(b *testing.B) {
		work := oneBotFleet(b, "bench-http", "bh-")
		testenv.Git(b, work, "init", "-q", "-b", "main")
		commitAll(b, work)
		bare := filepath.Join(b.TempDir(), "fleet.git")
		testenv.Git(b, "", "clone", "-q", "--bare", work, bare)
		testenv.Git(b, work, "remote", "add", "origin", bare)
		srv, _ := testenv.GitHTTPServer(b, filepath.Dir(bare), "")
		d := startDaemon(b, "bench-http", source.Spec{Source: srv.URL + "/fleet.git", Poll: time.Second})
		measureChanges(b, d, "bh-pmm-btc", func(i int) {
			writeFile(b, work, "bots/bh-pmm-btc.yml", fmt.Sprintf("account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv:\n  CHANGE: %q\n", fmt.Sprint(i)))
			commitAll(b, work)
			testenv.Git(b, work, "push", "-q", "origin", "main")
		})
	})
}

var apiKeyLine = regexp.MustCompile(`binance_api_key: .*`)

// oneBotFleet is the example fleet with pmm-btc only. Its stand-in stops
// at once (TESTBOT_STOP_DELAY: 0s), so the figures are nectar's and the
// engine's, not a bot's cancelling of its orders.
func oneBotFleet(b *testing.B, fleetName, prefix string) string {
	dir := testenv.CopyExample(b, fleetName, prefix)
	for _, bot := range []string{"xemm-eth", "hl-perp"} {
		if err := os.Remove(filepath.Join(dir, "bots", prefix+bot+".yml")); err != nil {
			b.Fatal(err)
		}
	}
	settings := filepath.Join(dir, "nectar.yaml")
	data, err := os.ReadFile(settings)
	if err != nil {
		b.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "    TZ: UTC\n", "    TZ: UTC\n    TESTBOT_STOP_DELAY: 0s\n", 1))
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// measureChanges makes the changes one at a time, each after the fleet
// has settled, and reports the percentiles of each part.
func measureChanges(b *testing.B, d *daemonUnderTest, bot string, change func(i int)) {
	d.converged(waitLong)
	d.settle()
	var total, wait, own, engine []time.Duration
	n := max(b.N, minChanges)
	b.ResetTimer()
	for i := range n {
		d.drain()
		d.rt.take()
		at := time.Now()
		change(i)
		res := d.waitPass(bot+" was recreated", waitLong, func(res *reconcile.Result) bool { return acted(res, bot, plan.Recreate) })
		done := res.Started.Add(res.Duration)
		docker := d.rt.take()
		snapAt, snapTook := d.snapshotOf(res)
		total = append(total, done.Sub(at))
		wait = append(wait, snapAt.Sub(at))
		own = append(own, snapTook+res.Duration-docker)
		engine = append(engine, docker)
		// Let the events of the recreate run their pass, and the new
		// bot get past its start (a stop before that is a kill after its
		// whole stop timeout), so the next change starts from quiet.
		d.converged(waitLong)
		d.waitReady(bot, at)
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"total", total}, {"wait", wait}, {"nectar", own}, {"docker", engine}} {
		b.ReportMetric(percentile(m.ds, 50), m.name+"-p50-ms")
		b.ReportMetric(percentile(m.ds, 90), m.name+"-p90-ms")
	}
	b.ReportMetric(float64(n), "changes")
}

// percentile returns the p-th percentile of ds in milliseconds (nearest
// rank).
func percentile(ds []time.Duration, p int) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = max(min(i, len(s)), 1)
	return float64(s[i-1].Microseconds()) / 1000
}

// BenchmarkRunRSS100 runs the nectar binary as a daemon over 100 test bots
// on the real engine and reports its resident memory once they all run
// (rss-MiB, after a few idle passes) and its peak (peak-rss-MiB, from
// /proc's VmHWM, which includes the first pass that created them all).
func BenchmarkRunRSS100(b *testing.B) {
	const bots = 100
	testenv.RequireDocker(b)
	testenv.BuildTestbot(b)
	const fleetName = "bench-rss"
	testenv.RemoveFleet(b, fleetName)
	dir := testenv.CopyExample(b, fleetName, "br-")
	os.RemoveAll(filepath.Join(dir, "bots"))
	os.MkdirAll(filepath.Join(dir, "bots"), 0o755)
	for i := range bots {
		body := "account: master_account\nconnectors: [binance]\nscript_config: conf_pmm_btc.yml\nheadless: true\nnetwork: none\n"
		if err := os.WriteFile(filepath.Join(dir, "bots", fmt.Sprintf("br-%03d.yml", i)), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	state := b.TempDir()
	b.Cleanup(func() { testenv.RemoveFleet(b, fleetName) })
	var rss, peak float64
	for b.Loop() {
		cmd := exec.Command(testenv.NectarBinary(b), "--source", dir, "--state-dir", state, "run", "--resync", "2s", "--listen", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "NECTAR_AGE_KEY_FILE="+testenv.DemoIdentity())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			out, _ := exec.Command("docker", "ps", "-q", "--filter", "label=nectar.fleet="+fleetName).Output()
			if len(strings.Fields(string(out))) == bots {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		time.Sleep(5 * time.Second) // a few idle passes
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		rss, peak = procKiB(status, "VmRSS:")/1024, procKiB(status, "VmHWM:")/1024
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(peak, "peak-rss-MiB")
}

// procKiB reads a "Name:   123 kB" line of /proc/<pid>/status.
func procKiB(status []byte, name string) float64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			var kib float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kib)
			return kib
		}
	}
	return 0
}
