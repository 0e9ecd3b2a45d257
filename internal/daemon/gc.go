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
// the requests that overlap it (BenchmarkSteadyLoad in internal/web shows
// its p99 about halve from 100 to 400). The cost is memory: the daemon
// over 100 bots holds about 50 MiB resident instead of 33 MiB
// (BenchmarkRunRSS100), little beside one Hummingbot container.
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
