// Command nectar-bench runs nectar's benchmarks that matter to operators
// and prints one table of their figures, each with the command that
// measures it alone. It also writes the table to bench/<date>-<host>.md and
// bench/LATEST.md. `make bench` runs it from the repository's top.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"
)

// row is one line of the table: a figure read from one benchmark's
// metrics.
type row struct {
	what   string
	bench  string // the benchmark's full name, without the -N suffix
	format func(m metrics) string
	target string
}

// suite is one `go test -bench` run feeding one or more rows.
type suite struct {
	pkg, pattern, benchtime string
}

func (s suite) command() string {
	return fmt.Sprintf("go test -run '^$' -bench '%s' -benchtime %s %s", s.pattern, s.benchtime, s.pkg)
}

// metrics maps a unit ("ns/op", "total-p50-ms") to its value.
type metrics map[string]float64

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" }

func latency(m metrics) string {
	return fmt.Sprintf("total p50 %s, p90 %s; nectar's own p50 %s, p90 %s; wait p50 %s; Docker p50 %s",
		ms(m["total-p50-ms"]), ms(m["total-p90-ms"]), ms(m["nectar-p50-ms"]), ms(m["nectar-p90-ms"]),
		ms(m["wait-p50-ms"]), ms(m["docker-p50-ms"]))
}

// rollout reads a fleet-wide image change: the time to converge beside
// one bot's graceful recreate, and what a key derivation costs here (each
// bot derives its key as it starts).
func rollout(m metrics) string {
	return fmt.Sprintf("%.1f s (last stop done at %.1f s), %.2f× one bot's graceful recreate (%.1f s); %.0f killed; one key derivation %.2f s of CPU here",
		m["fleet-s"], m["stops-done-s"], m["ratio"], m["one-bot-s"], m["killed"], m["derive-s"])
}

var suites = map[string]suite{
	"change":  {"./internal/daemon", "ChangeToConverged", "1x"},
	"noop":    {"./internal/reconcile", "NoOpPass", "30x"},
	"render":  {"./internal/render", "RenderFleet", "1x"},
	"rss":     {"./internal/daemon", "RunRSS100", "1x"},
	"status":  {"./internal/web", "SteadyLoad", "1x"},
	"rollout": {"./internal/reconcile", "FleetWideImageChange", "1x"},
}

var rows = []struct {
	suite string
	row
}{
	{"change", row{what: "credential edited in a watched folder → bot running again", bench: "BenchmarkChangeToConverged/folder-credential-edit", format: latency, target: "nectar < 100 ms, total < 1.5 s"}},
	{"change", row{what: "`git commit` in a file:// repository → converged", bench: "BenchmarkChangeToConverged/git-local-commit", format: latency, target: "nectar < 100 ms"}},
	{"change", row{what: "push to a loopback HTTP remote, --poll 1s → converged", bench: "BenchmarkChangeToConverged/git-http-push-poll-1s", format: latency, target: "nectar < 100 ms"}},
	{"noop", row{what: "no-op pass, 100 test bots on the real engine", bench: "BenchmarkNoOpPassEngine100", format: func(m metrics) string {
		return fmt.Sprintf("%s per pass, %.0f engine call(s)", ms(m["ns/op"]/1e6), m["engine-calls/pass"])
	}, target: "< 50 ms, 1 engine call"}},
	{"noop", row{what: "no-op pass, 1,000 bots on the in-memory engine", bench: "BenchmarkNoOpPassFake/bots=1000", format: func(m metrics) string {
		return fmt.Sprintf("%s per pass", ms(m["ns/op"]/1e6))
	}}},
	{"render", row{what: "cold render, 100 bots × 3 connectors × 2 secrets, 10 accounts", bench: "BenchmarkRenderFleet", format: func(m metrics) string {
		return fmt.Sprintf("%.2f s with %.0f derivations, against %.1f s and %.0f derivations per value; re-render %.3f s, %.0f derivations",
			m["ns/op"]/1e9, m["derivations/op"], m["baseline-s"], m["baseline-derivations"], m["rerender-s"], m["rerender-derivations"])
	}, target: "one derivation per account"}},
	{"rss", row{what: "nectar's memory managing 100 running bots", bench: "BenchmarkRunRSS100", format: func(m metrics) string {
		return fmt.Sprintf("RSS %.1f MiB (peak %.1f MiB)", m["rss-MiB"], m["peak-rss-MiB"])
	}}},
	{"rollout", row{what: "fleet-wide image change, 20 bots in 5 accounts, each 5 s to stop gracefully → all running the new image", bench: "BenchmarkFleetWideImageChange/bots=20", format: rollout, target: "< 2× one graceful stop + start, 0 killed"}},
	{"rollout", row{what: "the same, 40 bots in 10 accounts", bench: "BenchmarkFleetWideImageChange/bots=40", format: rollout, target: "< 2× one graceful stop + start, 0 killed"}},
	{"status", row{what: "status page under 500 requests/s on loopback while passes run (100 bots)", bench: "BenchmarkSteadyLoad", format: func(m metrics) string {
		return fmt.Sprintf("`/` p50 %s, p99 %s; `/api/v1/status` p50 %s, p99 %s; %.0f req/s held",
			ms(m["page-p50-ms"]), ms(m["page-p99-ms"]), ms(m["api-p50-ms"]), ms(m["api-p99-ms"]), m["req/s"])
	}}},
}

func main() {
	only := flag.String("only", "", "run only these suites (comma-separated: change, noop, render, rss, status, rollout)")
	outDir := flag.String("out", "bench", "folder for the dated table and LATEST.md")
	flag.Parse()
	want := map[string]bool{}
	for s := range strings.SplitSeq(*only, ",") {
		if s != "" {
			want[s] = true
		}
	}
	results := map[string]metrics{}
	for _, name := range []string{"change", "noop", "render", "rss", "status", "rollout"} {
		if len(want) > 0 && !want[name] {
			continue
		}
		s := suites[name]
		fmt.Fprintf(os.Stderr, "bench: %s\n", s.command())
		if err := runSuite(s, results); err != nil {
			fmt.Fprintf(os.Stderr, "nectar-bench: error: %v\n", err)
			os.Exit(1)
		}
	}
	var table bytes.Buffer
	writeTable(&table, results, want)
	os.Stdout.Write(table.Bytes())
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "nectar-bench: error: %v\n", err)
		os.Exit(1)
	}
	host, _ := os.Hostname()
	name := filepath.Join(*outDir, time.Now().UTC().Format("2006-01-02")+"-"+host+".md")
	for _, p := range []string{name, filepath.Join(*outDir, "LATEST.md")} {
		if err := os.WriteFile(p, table.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "nectar-bench: error: %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: written to %s and %s\n", name, filepath.Join(*outDir, "LATEST.md"))
}

// runSuite runs one go test -bench and adds every benchmark line's metrics
// to results.
func runSuite(s suite, results map[string]metrics) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", s.pattern, "-benchtime", s.benchtime, "-timeout", "30m", s.pkg)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", s.command(), err, out.String())
	}
	parse(&out, results)
	return nil
}

// parse reads Go benchmark lines: name-N, iterations, then value/unit
// pairs.
func parse(r io.Reader, results map[string]metrics) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := metrics{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				m[f[i+1]] = v
			}
		}
		results[name] = m
	}
}

func writeTable(w io.Writer, results map[string]metrics, want map[string]bool) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "# nectar benchmarks, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s/%s, %s. One run each; the machine is shared, so treat small\ndifferences as noise.\n\n",
		host, goruntime.NumCPU(), goruntime.GOOS, goruntime.GOARCH, goruntime.Version())
	fmt.Fprintln(w, "| what | measured | target | command |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		if len(want) > 0 && !want[r.suite] {
			continue
		}
		figure := "(no result)"
		if m, ok := results[r.bench]; ok {
			figure = r.format(m)
		}
		target := r.target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | `%s` |\n", r.what, figure, target, suites[r.suite].command())
	}
}
