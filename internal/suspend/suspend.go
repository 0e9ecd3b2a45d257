// Package suspend keeps an operator's emergency stops: bots (or the whole
// fleet) that nectar must leave alone, or stop, whatever the source says,
// until they are resumed. They live in one small file in the state dir,
// written by `nectar suspend` and `nectar resume` while a daemon may run
// (which holds the state dir's lock): the daemon reads the file every
// pass and watches it, so a change is acted on at once.
package suspend

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/statefile"
)

// FileName is the file in the state dir.
const FileName = "suspended.json"

// State is what is suspended.
type State struct {
	// All, when set, suspends every bot of the fleet.
	All  *plan.Suspension           `json:"all,omitempty"`
	Bots map[string]plan.Suspension `json:"bots,omitempty"`
}

// Path is the file's path in stateDir.
func Path(stateDir string) string { return filepath.Join(stateDir, FileName) }

// Load reads the state dir's suspensions; none is no error.
func Load(stateDir string) (State, error) {
	var s State
	err := statefile.Read(Path(stateDir), &s)
	return s, err
}

// Suspend suspends the bots named, or every bot with all. A bot suspended
// again takes the new suspension (so --stop can be added later).
func Suspend(stateDir string, bots []string, all bool, s plan.Suspension) (State, error) {
	var st State
	err := statefile.Update(Path(stateDir), &st, func() error {
		if all {
			st.All = &s
			return nil
		}
		if st.Bots == nil {
			st.Bots = map[string]plan.Suspension{}
		}
		for _, b := range bots {
			st.Bots[b] = s
		}
		return nil
	})
	return st, err
}

// Resume lifts the suspension of the bots named, or every suspension with
// all. Resuming one bot while the whole fleet is suspended is refused: it
// would not run either way.
func Resume(stateDir string, bots []string, all bool) (State, error) {
	var st State
	err := statefile.Update(Path(stateDir), &st, func() error {
		if all {
			st = State{}
			return nil
		}
		if st.All != nil {
			return hint.New(fmt.Sprintf("the whole fleet is suspended (by %s at %s)", st.All.By, st.All.At.Format(time.RFC3339)),
				"`nectar resume --all` lifts it; then suspend again the bots that must stay suspended")
		}
		var unknown []string
		for _, b := range bots {
			if _, ok := st.Bots[b]; !ok {
				unknown = append(unknown, b)
			}
			delete(st.Bots, b)
		}
		if len(unknown) > 0 {
			return hint.New(fmt.Sprintf("not suspended: %v", unknown), "`nectar suspend --list` shows what is suspended")
		}
		return nil
	})
	return st, err
}

// Names lists the suspended bots, sorted.
func (s State) Names() []string {
	var out []string
	for b := range s.Bots {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// Who names the person suspending: user@host.
func Who() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}
