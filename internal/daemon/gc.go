package daemon

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target the daemon runs with: the
// heap may grow to five times what is live before it is collected.
//
// The daemon's live heap is small (about 3 MiB with 100 bots), and Go's
// default (100) then collects every few MiB allocated: with the status
// page polled hundreds of times a second while passes run, that is a dozen
// collections a second, and on a two-core host each one's marking delays
// the requests that overlap it. BenchmarkSteadyLoad (internal/web) shows
// it: p99 of / and /api/v1/status halve from 100 to 400. The cost is a
// few MiB of heap (BenchmarkRunRSS100 measures the whole daemon).
const GCPercent = 400

// TuneGC sets the collector's target to GCPercent, unless the operator
// chose one with $GOGC, which Go has already applied. It returns the
// target before, for a benchmark to restore.
func TuneGC() (before int) {
	if _, set := os.LookupEnv("GOGC"); set {
		before = debug.SetGCPercent(-1) // only to read it
		debug.SetGCPercent(before)
		return before
	}
	return debug.SetGCPercent(GCPercent)
}
