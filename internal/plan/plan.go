// Package plan decides, for every bot, the one thing a reconcile pass does
// about it, and says why in words a person can act on. It is a pure
// function of three views of the fleet: what the source wants, what the
// engine runs, and what nectar last applied. It does no I/O, so every row
// of the reconcile table is tested here without Docker.
package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/runtime"
)

// Kind is what a pass does about one bot.
type Kind string

const (
	// Create renders the bot's files, creates its container and starts it.
	Create Kind = "create"
	// Recreate renders the files, then stops, removes, creates and starts
	// the container, because what shapes it changed.
	Recreate Kind = "recreate"
	// Restart rewrites files that were changed on disk behind nectar's
	// back, then stops and starts the container so the bot reads them.
	Restart Kind = "restart"
	// Start starts an existing container that should be running.
	Start Kind = "start"
	// Stop stops a container whose bot is set to stopped; it is kept.
	Stop Kind = "stop"
	// Remove stops and removes the container of a bot deleted from the
	// source. Its instance folder stays.
	Remove Kind = "remove"
	// None: the container already matches the source.
	None Kind = "none"
	// Wait: the bot should run but backs off before the next start.
	Wait Kind = "wait"
	// CrashLoop: the bot exited too often; nectar stops starting it until
	// its configuration changes.
	CrashLoop Kind = "crashloop"
	// Held: hold: true; nectar leaves the container exactly as it is.
	Held Kind = "held"
	// Stalled: the bot's files do not load; nothing is done until a person
	// fixes them.
	Stalled Kind = "stalled"
	// Orphan: a container of a bot deleted from the source, kept because
	// pruning is off or not safe in this pass.
	Orphan Kind = "orphan"
	// Suspended: an operator suspended the bot (`nectar suspend`); nectar
	// leaves its container exactly as it is until `nectar resume`.
	Suspended Kind = "suspended"
)

// kinds is every Kind, the changes first. `nectar plan` sums up a pass in
// this order and the metrics make a series of each, so a kind added above
// is added here, once, for both.
var kinds = [...]Kind{Create, Recreate, Restart, Start, Stop, Remove, None, Wait, CrashLoop, Held, Suspended, Stalled, Orphan}

// Kinds returns every Kind, in the order summaries and metrics list them.
// The slice is the caller's.
func Kinds() []Kind { return slices.Clone(kinds[:]) }

// Stops reports whether the action stops a running bot, which waits on
// the bot's graceful stop.
func (k Kind) Stops() bool {
	switch k {
	case Recreate, Restart, Stop, Remove:
		return true
	}
	return false
}

// Mutates reports whether the action changes anything on the engine.
func (k Kind) Mutates() bool {
	switch k {
	case Create, Recreate, Restart, Start, Stop, Remove:
		return true
	}
	return false
}

// Desired is one bot as the source wants it.
type Desired struct {
	Bot   string
	State string // running or stopped
	Hold  bool
	Image string
	// Hash is the keyed digest of everything that shapes the container and
	// its files; it becomes the container's nectar.hash label.
	Hash string
	// Parts are digests of the pieces behind Hash, to explain a change.
	Parts Parts
	// Settings are the values of the container's settings (network,
	// restart, cpus, memory, stop timeout, command, ...), none of them
	// secret, so a change can say from what to what.
	Settings map[string]string
	// Problems, when not empty, stall the bot: its files did not load.
	Problems []string
	// DiskDrift lists files nectar owns (connector files,
	// .password_verification) whose bytes on disk differ from what nectar
	// last wrote.
	DiskDrift []string
	// Shadowed lists the fleet's files that take the place of a file of
	// the same path the image ships (in scripts/ or controllers/), when
	// the image's files are known.
	Shadowed []string
}

// Applied is what nectar recorded when it last created the bot's container.
//
// A record written by an older nectar held two coarse parts,
// "environment" and "container settings", instead of one per variable and
// setting, and no Settings; it still explains what it can.
type Applied struct {
	Hash     string
	Image    string
	Parts    Parts
	Settings map[string]string `json:",omitempty"`
}

// Starts lists when nectar started a bot's container, for back-off and
// crash-loop detection, with the hash the container had then.
type Starts []StartRecord

// StartRecord is one start nectar made.
type StartRecord struct {
	At   time.Time
	Hash string
}

// Input is everything a plan is made from.
type Input struct {
	// SourceOK is false when nectar.yaml or the source as a whole failed
	// to load. Then nothing at all is done.
	SourceOK    bool
	SourceError string
	Prune       bool
	// AllowEmpty permits pruning when the source holds no bot at all,
	// which otherwise looks like a broken checkout.
	AllowEmpty bool
	// PruneHeld, when set, says why no container may be pruned this pass
	// (the list of bots is uncertain: an entry of bots/ has a problem).
	PruneHeld string
	Desired   map[string]Desired
	Observed  []runtime.Container
	Applied   map[string]Applied
	Starts    map[string]Starts
	Now       time.Time
	// Owner is this state dir's identity (internal/owner). When set, only
	// containers that carry it (runtime.LabelOwner), or are Adopted (by
	// id), are acted on; any other container of the fleet is a conflict,
	// reported Stalled and never touched. A container without the label
	// was made by an older nectar: it is this one's when its hash is the
	// one this state dir would make now or last applied (the hash covers
	// the instance folder's path, which lies in the state dir).
	Owner   string
	Adopted map[string]bool
	// Suspended lists the bots an operator suspended; SuspendAll, when
	// set, suspends every bot.
	Suspended  map[string]Suspension
	SuspendAll *Suspension
	// Failures are the actions that failed in earlier passes, by bot (the
	// last one of each), and StallRetry how long a stalled one waits when
	// nothing changes: see Failure.
	Failures   map[string]Failure
	StallRetry time.Duration
}

// Suspension is an operator's emergency stop of a bot, kept in the state
// dir by `nectar suspend`.
type Suspension struct {
	// By is who suspended it, user@host.
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Stop asks for the bot's container to be stopped (gracefully, with
	// the bot's stop timeout), not only left alone.
	Stop bool `json:"stop,omitempty"`
}

// suspension returns the bot's suspension, if any.
func (in Input) suspension(bot string) *Suspension {
	if s, ok := in.Suspended[bot]; ok {
		return &s
	}
	return in.SuspendAll
}

// Action is the plan for one bot.
type Action struct {
	Bot    string
	Kind   Kind
	Reason string
	// Container is the observed container acted on, if any.
	Container *runtime.Container
	// NotBefore, for Wait, is when the next start is allowed; for an
	// action held back by a Failure, when it is tried again.
	NotBefore time.Time
	// Suspended is set when an operator suspended the bot.
	Suspended *Suspension
	// Failure, when set, is the earlier failure this action waits on
	// instead of being tried again now; Kind is then Wait or Stalled.
	Failure *Failure
}

func (a Action) String() string { return fmt.Sprintf("%s %s: %s", a.Kind, a.Bot, a.Reason) }

// Crash-loop and back-off settings (§4: CrashLoop after 5 restarts in 10
// minutes).
const (
	CrashLoopStarts = 5
	CrashLoopWindow = 10 * time.Minute
	BackoffBase     = 5 * time.Second
	BackoffMax      = 2 * time.Minute
)

// Make returns one action per bot, plus one for every extra container,
// sorted by bot name.
func Make(in Input) []Action {
	byBot := map[string][]runtime.Container{}
	conflicts := map[string][]runtime.Container{}
	for _, c := range in.Observed {
		if in.SourceOK && !in.owns(c) {
			conflicts[c.Bot()] = append(conflicts[c.Bot()], c)
			continue
		}
		byBot[c.Bot()] = append(byBot[c.Bot()], c)
	}
	var out []Action
	if !in.SourceOK {
		for _, bot := range slices.Sorted(maps.Keys(byBot)) {
			out = append(out, Action{Bot: bot, Kind: Stalled, Reason: "cannot load the source, nothing is changed: " + in.SourceError})
		}
		return out
	}
	// A bot claimed by a container this nectar does not own is left
	// alone whole: creating it would take the other's name, and pruning
	// or recreating would take the other's bot.
	for _, bot := range slices.Sorted(maps.Keys(conflicts)) {
		for i := range conflicts[bot] {
			c := &conflicts[bot][i]
			out = append(out, Action{Bot: bot, Kind: Stalled, Container: c, Reason: conflictReason(in, c)})
		}
		delete(byBot, bot)
	}
	names := slices.Sorted(maps.Keys(in.Desired))
	for _, bot := range names {
		if conflicts[bot] != nil {
			continue
		}
		own, extra := pick(bot, byBot[bot])
		a := decide(in, in.Desired[bot], own)
		out = append(out, a)
		if a.Suspended != nil {
			// Extra containers of a suspended bot are left as they are too.
			continue
		}
		for i := range extra {
			out = append(out, Action{Bot: bot, Kind: Remove, Container: &extra[i],
				Reason: fmt.Sprintf("extra container %s also claims bot %s", extra[i].Name, bot)})
		}
	}
	pruneOK := in.Prune && (len(in.Desired) > 0 || in.AllowEmpty) && in.PruneHeld == ""
	for _, bot := range slices.Sorted(maps.Keys(byBot)) {
		if _, ok := in.Desired[bot]; ok {
			continue
		}
		for i := range byBot[bot] {
			c := &byBot[bot][i]
			if sus := in.suspension(bot); sus != nil {
				out = append(out, suspended(Action{Bot: bot, Container: c}, sus))
				continue
			}
			switch {
			case pruneOK:
				out = append(out, Action{Bot: bot, Kind: Remove, Container: c, Reason: "bot removed from source"})
			case !in.Prune:
				out = append(out, Action{Bot: bot, Kind: Orphan, Container: c, Reason: "bot removed from source; prune is off in nectar.yaml, so the container is kept"})
			case in.PruneHeld != "":
				out = append(out, Action{Bot: bot, Kind: Orphan, Container: c, Reason: "not in the source, but nothing is pruned while bots/ has problems (" + in.PruneHeld + "); the container is kept"})
			default:
				out = append(out, Action{Bot: bot, Kind: Orphan, Container: c, Reason: "bot removed from source, but the source holds no bot at all; not pruning without --allow-empty"})
			}
		}
	}
	for i := range out {
		out[i] = heldBack(in, out[i])
		out[i].Reason += killWarning(out[i]) + shadowNote(out[i], in.Desired[out[i].Bot])
	}
	slices.SortStableFunc(out, func(a, b Action) int { return cmp.Compare(a.Bot, b.Bot) })
	return out
}

// killWarning is said of an action that stops a running container whose
// stop cannot be graceful: one not run by hbot (launch: classic, or made
// before nectar ran bots with hbot) has the official image's shell as its
// main process, which ignores SIGTERM, so the stop ends in a kill.
func killWarning(a Action) string {
	c := a.Container
	if !a.Kind.Stops() || c == nil || !c.Running() || c.Labels[runtime.LabelLaunch] == fleet.LaunchHbot {
		return ""
	}
	return "; its stop cannot be graceful (not run by hbot: the image's shell ignores SIGTERM), so open orders may remain"
}

// shadowNote is said of an action that writes a bot's files when some of
// the fleet's files replace the image's own: the bot will not run the
// code its image ships under that name.
func shadowNote(a Action, d Desired) string {
	if len(d.Shadowed) == 0 || (a.Kind != Create && a.Kind != Recreate && a.Kind != Restart) {
		return ""
	}
	const show = 3
	names := d.Shadowed
	more := ""
	if len(names) > show {
		more = fmt.Sprintf(" and %d more", len(names)-show)
		names = names[:show]
	}
	if len(d.Shadowed) == 1 {
		return "; the fleet's " + names[0] + " replaces the image's own file of that name"
	}
	return "; the fleet's " + strings.Join(names, ", ") + more + " replace the image's own files of those names"
}

// pick chooses the container that is the bot's own (named as nectar names
// it); any other container labelled with the bot is extra.
func pick(bot string, cs []runtime.Container) (*runtime.Container, []runtime.Container) {
	var own *runtime.Container
	var extra []runtime.Container
	for i := range cs {
		if own == nil && cs[i].Name == fleet.ContainerName(bot) {
			own = &cs[i]
			continue
		}
		extra = append(extra, cs[i])
	}
	if own == nil && len(extra) > 0 {
		own, extra = &extra[0], extra[1:]
	}
	return own, extra
}

// owns reports whether the container is this nectar's to act on.
func (in Input) owns(c runtime.Container) bool {
	owner := c.Labels[runtime.LabelOwner]
	switch {
	case in.Owner == "" || owner == in.Owner || in.Adopted[c.ID]:
		return true
	case owner != "":
		return false
	}
	// Made by a nectar from before owners were labelled: this state dir's
	// if it is what this state dir makes or last made for the bot.
	h := c.Hash()
	if h == "" {
		return false
	}
	if d, ok := in.Desired[c.Bot()]; ok && d.Hash == h {
		return true
	}
	if a, ok := in.Applied[c.Bot()]; ok && a.Hash == h {
		return true
	}
	return false
}

// conflictReason says whose a container is, as far as its labels tell,
// and how to take it over on purpose.
func conflictReason(in Input, c *runtime.Container) string {
	fleetName := c.Labels[runtime.LabelFleet]
	var who string
	if owner := c.Labels[runtime.LabelOwner]; owner != "" {
		who = "belongs to another nectar of fleet " + fleetName + " (fleet id " + owner
		if dir := c.Labels[runtime.LabelStateDir]; dir != "" {
			who += ", state dir " + dir
		}
		who += ")"
	} else {
		who = "was made by an older nectar that did not label its owner, and not from this state dir (no record of it here): another nectar of fleet " + fleetName + " may run it"
	}
	return fmt.Sprintf("container %s %s; nectar leaves it alone. Two fleets named %s share this Docker host: rename one in its nectar.yaml. "+
		"If this state dir should manage it (its own state dir was lost, or the other nectar is retired), stop the other nectar and run `nectar adopt %s`",
		c.Name, who, fleetName, c.Bot())
}

// suspended is the action for a suspended bot: nothing, or a graceful
// stop when the operator asked for one and the container runs.
func suspended(a Action, s *Suspension) Action {
	a.Suspended = s
	who := fmt.Sprintf("suspended by %s at %s", s.By, s.At.UTC().Format(time.RFC3339))
	c := a.Container
	switch {
	case s.Stop && c != nil && c.Running():
		a.Kind, a.Reason = Stop, who+" with --stop (nectar resume undoes it)"
	case s.Stop:
		a.Kind, a.Reason = Suspended, who+" with --stop; the container is stopped and left as it is until nectar resume"
	default:
		a.Kind, a.Reason = Suspended, who+"; nectar leaves the container as it is until nectar resume"
	}
	return a
}

func decide(in Input, d Desired, c *runtime.Container) Action {
	a := Action{Bot: d.Bot, Container: c}
	if s := in.suspension(d.Bot); s != nil {
		// The emergency stop wins over everything the source says, hold
		// and problems included.
		return suspended(a, s)
	}
	switch {
	case d.Hold:
		a.Kind, a.Reason = Held, "hold: true in the bot file; nectar leaves the container as it is"
		if len(d.Problems) > 0 {
			// Held wins (nothing is done either way), but what would stall
			// the bot once released is said now.
			a.Reason += fmt.Sprintf("; its files have %d problem(s), first: %s", len(d.Problems), d.Problems[0])
		}
	case len(d.Problems) > 0:
		a.Kind, a.Reason = Stalled, d.Problems[0]
		if n := len(d.Problems) - 1; n > 0 {
			a.Reason += fmt.Sprintf(" (and %d more problem(s))", n)
		}
	case c == nil && d.State == "stopped":
		a.Kind, a.Reason = None, "state: stopped, and there is no container"
	case c == nil:
		a.Kind, a.Reason = Create, "no container yet"
	case d.State == "stopped":
		if c.Running() {
			a.Kind, a.Reason = Stop, "state: stopped in the bot file"
		} else {
			a.Kind, a.Reason = None, "stopped, as the bot file says"
		}
	case c.Hash() != d.Hash:
		a.Kind, a.Reason = Recreate, changeReason(d, in.Applied[d.Bot], c.Hash())
	case c.Name != fleet.ContainerName(d.Bot):
		// A recreate creates the new container under a passing name and
		// renames it once the old one is gone; cut short in between, the
		// bot is left with a container of that name.
		a.Kind, a.Reason = Recreate, fmt.Sprintf("its container is named %s, not %s (a recreate was cut short)", c.Name, fleet.ContainerName(d.Bot))
	case len(d.DiskDrift) > 0:
		a.Kind, a.Reason = Restart, listSome(d.DiskDrift)+" changed on disk; nectar writes it again and restarts the bot"
	case c.Running():
		a.Kind, a.Reason = None, "running, up to date"
	default:
		a = startOrWait(in, d, c, a)
	}
	return a
}

// startOrWait restarts an exited container with exponential back-off, and
// gives up with CrashLoop after too many starts of the same configuration.
func startOrWait(in Input, d Desired, c *runtime.Container, a Action) Action {
	why := "container " + c.State
	if c.State == runtime.StateExited && c.ExitCode >= 0 {
		why = fmt.Sprintf("container exited with code %d", c.ExitCode)
	} else if c.State == runtime.StateCreated {
		why = "container created but not started"
	}
	var recent int
	var last time.Time
	for _, s := range in.Starts[d.Bot] {
		if s.Hash == d.Hash && in.Now.Sub(s.At) < CrashLoopWindow {
			recent++
			if s.At.After(last) {
				last = s.At
			}
		}
	}
	if recent >= CrashLoopStarts {
		a.Kind = CrashLoop
		a.Reason = fmt.Sprintf("%s; started %d times in %s, so nectar stops starting it until the bot's configuration changes", why, recent, CrashLoopWindow)
		return a
	}
	if recent > 0 {
		next := last.Add(Backoff(recent))
		if in.Now.Before(next) {
			a.Kind, a.NotBefore = Wait, next
			a.Reason = fmt.Sprintf("%s; next start in %s (back-off after %d start(s))", why, next.Sub(in.Now).Round(time.Second), recent)
			return a
		}
	}
	a.Kind, a.Reason = Start, why
	return a
}

// Backoff is the wait before the next start after n recent starts.
func Backoff(n int) time.Duration {
	d := BackoffBase
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// listSome names up to three items and counts the rest.
func listSome(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:3], ", "), len(items)-3)
}
