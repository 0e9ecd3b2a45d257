package status

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Status is a snapshot of everything the daemon knows about the fleet, as
// /api/v1/status serves it. Bots here carry no history and no file list;
// /api/v1/bots/<bot> (Store.Bot) has those.
type Status struct {
	// Source names where the desired state comes from (a folder or a git
	// URL, with any credentials in it removed).
	Source string `json:"source"`
	// Fleet is the fleet's name from nectar.yaml.
	Fleet string `json:"fleet"`
	// GeneratedAt is when this snapshot was read.
	GeneratedAt time.Time `json:"generated_at"`
	// Ready turns true after the first pass that loaded the source and
	// listed the engine, and stays true.
	Ready bool `json:"ready"`
	// Applied is the last revision nectar acted on: its source loaded and
	// the engine answered. Attempted is the last revision it tried; the two
	// differ while a newer revision fails to load or the engine is away.
	Applied   Revision `json:"applied"`
	Attempted Revision `json:"attempted"`
	// SourceOK is false when the attempted revision's nectar.yaml, or the
	// source as a whole, failed to load (see Problems).
	SourceOK bool `json:"source_ok"`
	// SourceError is the error of the last fetch of the source, if it
	// failed (the last good revision then stays applied).
	SourceError string `json:"source_error,omitempty"`
	Engine      Engine `json:"engine"`
	// LastPass is nil before the first pass.
	LastPass *Pass `json:"last_pass,omitempty"`
	// Passes counts the passes recorded since the daemon started.
	Passes uint64 `json:"passes"`
	// Problems are every problem of the attempted revision.
	Problems []Problem `json:"problems"`
	// Conditions counts the bots in each condition.
	Conditions map[string]int `json:"conditions"`
	Bots       []BotStatus    `json:"bots"`
	Accounts   []Account      `json:"accounts"`
}

// Revision is one revision of the source and when it was recorded.
type Revision struct {
	Revision string    `json:"revision"`
	At       time.Time `json:"at,omitzero"`
	// Subject and Author describe a git revision's commit: the first line
	// of its message and its author's name.
	Subject string `json:"subject,omitempty"`
	Author  string `json:"author,omitempty"`
}

// Engine says whether the container engine (Docker) answered.
type Engine struct {
	Reachable bool `json:"reachable"`
	// Error is why the last attempt to list the fleet's containers failed.
	Error string `json:"error,omitempty"`
	// CheckedAt is when nectar last asked the engine.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Pass results, as Pass.Result and the result label of
// nectar_passes_total say them.
const (
	ResultOK                = "ok"                 // nothing needed changing
	ResultChanged           = "changed"            // actions ran and all succeeded
	ResultFailed            = "failed"             // at least one action failed
	ResultEngineUnreachable = "engine_unreachable" // the engine did not answer; nothing changed
	ResultSourceError       = "source_error"       // the source did not load; nothing changed
)

// Pass summarises one reconcile pass.
type Pass struct {
	Revision   string    `json:"revision"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Result     string    `json:"result"`
	// Actions counts the actions that change something; Errors those of
	// them that failed; Mutations the engine calls they made.
	Actions   int `json:"actions"`
	Errors    int `json:"errors"`
	Mutations int `json:"mutations"`
}

// Problem is one thing wrong with the source: where, what, and how to fix it.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Column is 0 when unknown.
	Column int `json:"column,omitempty"`
	// Position is "file:line:column" with the unknown parts left out.
	Position string `json:"position"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// Bot conditions: one word for how a bot is doing, after Flux's Ready /
// Reconciling / Stalled.
const (
	ConditionReady       = "ready"       // running as the source says
	ConditionStopped     = "stopped"     // stopped as the source says
	ConditionProgressing = "progressing" // an action just succeeded; the next pass confirms it
	ConditionWaiting     = "waiting"     // backing off before starting the bot again
	ConditionFailed      = "failed"      // the last action failed in a way that may pass (engine away, a timeout); retried with back-off
	ConditionCrashLoop   = "crashloop"   // exited too often; nectar stopped starting it
	ConditionStalled     = "stalled"     // a person must act: its files do not load, its image cannot be had, its name is taken, its node is down
	ConditionHeld        = "held"        // hold: true; nectar leaves it alone
	ConditionSuspended   = "suspended"   // an operator suspended it (nectar suspend); nectar leaves it alone
	ConditionOrphan      = "orphan"      // removed from the source, container kept
	ConditionUnknown     = "unknown"     // the engine has not answered yet
)

// Conditions lists every condition, healthiest first: the order the page
// counts bots in, and the series nectar_bots always has.
func Conditions() []string { return slices.Clone(allConditions) }

var allConditions = []string{
	ConditionReady, ConditionStopped, ConditionProgressing, ConditionWaiting, ConditionHeld,
	ConditionSuspended, ConditionOrphan, ConditionUnknown, ConditionFailed, ConditionCrashLoop, ConditionStalled,
}

// Desired and actual states besides the bot file's and the engine's own.
const (
	// DesiredAbsent: the bot is no longer in the source.
	DesiredAbsent = "absent"
	// ActualMissing: there is no container for the bot.
	ActualMissing = "missing"
	// ActualUnknown: the engine has not answered yet.
	ActualUnknown = "unknown"
)

// Task is a Swarm cluster's view of a bot's task.
type Task struct {
	// Node is the host name of the node the bot is placed on; NodeState
	// that node's state (ready, down, disconnected, unknown).
	Node      string `json:"node,omitempty"`
	NodeState string `json:"node_state,omitempty"`
	// State is the task's state (running, pending, failed, ...) and Error
	// its last error, as Swarm says them.
	State string `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
}

// BotStatus is one bot: what the source wants, what the engine runs, and
// what nectar last did about it.
type BotStatus struct {
	Name string `json:"name"`
	// Desired is running or stopped as the bot file says, or absent when
	// the bot was removed from the source.
	Desired string `json:"desired"`
	Held    bool   `json:"held"`
	// Suspended is set while an operator's suspension (nectar suspend)
	// keeps nectar off the bot: who, when, and whether it asked for a stop.
	Suspended *Suspension `json:"suspended,omitempty"`
	Condition string      `json:"condition"`
	// Actual is the container's state as last observed (running, exited,
	// ...), missing when there is none, unknown before the engine answered.
	Actual string `json:"actual"`
	// Health is the container's health check (healthy, unhealthy,
	// starting), empty when it has none.
	Health string `json:"health,omitempty"`
	// StartedAt is when the container's process last started, by the
	// engine's clock; absent when the engine was not asked or it never ran.
	StartedAt time.Time `json:"started_at,omitzero"`
	// Uptime is how long the running container has been up, worked out
	// from StartedAt when the answer is made ("3h 12m"); absent when the
	// container does not run or its start time is not known.
	Uptime string `json:"uptime,omitempty"`
	// EngineStatus is Docker's own description, e.g. "Exited (1) 2 minutes ago".
	EngineStatus string `json:"engine_status,omitempty"`
	// Task is where a Swarm cluster runs the bot and how its task does;
	// absent on a single engine.
	Task       *Task     `json:"task,omitempty"`
	ObservedAt time.Time `json:"observed_at,omitzero"`
	// Restarts counts the restarts the engine made of the container under
	// its restart policy, as `docker inspect` says (RestartCount).
	Restarts int `json:"restarts"`
	// NectarStarts counts the starts nectar made of the bot's container in
	// the crash-loop window (10 minutes), the one after creating it
	// included.
	NectarStarts int `json:"nectar_starts"`
	// Image is the image the source asks for; ContainerImage the one the
	// container runs.
	Image          string   `json:"image,omitempty"`
	ContainerImage string   `json:"container_image,omitempty"`
	Account        string   `json:"account,omitempty"`
	Connectors     []string `json:"connectors"`
	ContainerID    string   `json:"container_id,omitempty"`
	ContainerName  string   `json:"container_name,omitempty"`
	// LastAction is the last thing nectar did, or tried and failed to do,
	// to the bot's container (create, recreate, restart, start, stop,
	// remove) with its reason and time; passes that found nothing to do
	// leave it as it is. Absent until nectar acts on the bot.
	LastAction *Action `json:"last_action,omitempty"`
	// LastError is the error of the bot's latest failed action or stall;
	// it clears once a later pass gets the bot where the source wants it.
	// It is the whole text; LastErrorHint says how to fix it, when known.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	LastErrorHint string    `json:"last_error_hint,omitempty"`
	// NextAttempt is when nectar tries the bot again at the latest: after
	// a failed action, the next periodic pass (an event may bring it
	// sooner); for a bot backing off, the end of its back-off.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Problems are the source problems that keep this bot from being applied.
	Problems []Problem `json:"problems,omitempty"`
	// Killed is set once a stop of the bot ended in a kill: it did not
	// exit within its stop timeout, so open orders may remain. It stays
	// until the daemon restarts; the history keeps every one.
	Killed *Kill `json:"killed,omitempty"`
	// BotHealth is the bot's own account of itself (hbot bots only), from
	// the status snapshot its engine writes when asked.
	BotHealth *BotHealth `json:"bot_health,omitempty"`
	// History is newest first and bounded. Only /api/v1/bots/<bot> has it.
	History []Action `json:"history,omitempty"`
	// Files are what nectar last rendered into the bot's instance folder:
	// names and keyed digests, never contents. Only /api/v1/bots/<bot>.
	Files []File `json:"files,omitempty"`
}

// Suspension is an operator's emergency stop of a bot.
type Suspension struct {
	By   string    `json:"by"` // user@host
	At   time.Time `json:"at"`
	Stop bool      `json:"stop"` // suspended with --stop: the container is stopped
}

// Action is one entry of a bot's history.
type Action struct {
	// Kind is the plan's word: create, recreate, restart, start, stop,
	// remove, none, wait, crashloop, held, stalled or orphan.
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	Revision   string    `json:"revision,omitempty"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
	// Rendered names the instance files the action wrote or removed.
	Rendered []string `json:"rendered,omitempty"`
	// Killed, when set, says the action's stop had to kill the bot and
	// where open orders may remain.
	Killed string `json:"killed,omitempty"`
	// Hint says how to fix a failed action, when nectar knows.
	Hint string `json:"hint,omitempty"`
}

// Kill is the last stop of a bot that ended in a kill.
type Kill struct {
	At      time.Time `json:"at"`
	Warning string    `json:"warning"`
}

// BotHealth is what the bot says of itself: trading, not trading,
// erroring or unresponsive, with why.
type BotHealth struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
	// Errors counts ERROR and CRITICAL lines among the last 600 of the
	// bot's log; Orders the open orders its engine reports.
	Errors int `json:"errors"`
	Orders int `json:"orders"`
	// UpdatedAt is when the bot wrote the snapshot read; CheckedAt when
	// nectar asked for it.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	CheckedAt time.Time `json:"checked_at"`
}

// File is one rendered instance file and its keyed digest.
type File struct {
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// Account is one account of the fleet: names only. Its password and
// credentials never leave the reconciler.
type Account struct {
	Name       string      `json:"name"`
	Connectors []Connector `json:"connectors"`
	// Bots are the bots whose files name the account.
	Bots []string `json:"bots"`
}

// Connector is one credential of an account and the bots it is rendered into.
type Connector struct {
	Name string   `json:"name"`
	Bots []string `json:"bots"`
}

// NeedsAttention reports whether something in s waits on a person: a bot
// whose action failed, that is stalled or crash-loops, a source that does
// not load or cannot be fetched, or an engine that does not answer.
// `nectar status` exits non-zero then.
func (s Status) NeedsAttention() bool {
	for _, b := range s.Bots {
		switch b.Condition {
		case ConditionFailed, ConditionStalled, ConditionCrashLoop:
			return true
		}
	}
	if s.LastPass != nil && !s.SourceOK || s.SourceError != "" {
		return true
	}
	return !s.Engine.Reachable && !s.Engine.CheckedAt.IsZero()
}

// UptimeAt says how long b's container has been up as of now, from its
// start time; "" when it does not run or its start time is unknown. The
// Uptime field holds it as of when the answer was made; pages work it
// out again for the second they are rendered in.
func (b BotStatus) UptimeAt(now time.Time) string {
	if b.StartedAt.IsZero() || (b.Actual != "running" && b.Actual != "restarting") {
		return ""
	}
	return formatSpan(now.Sub(b.StartedAt))
}

// formatSpan writes d in its two largest units: "45s", "12m 3s",
// "3h 12m", "2d 4h".
func formatSpan(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	d = d.Truncate(time.Second)
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	hours, d := d/time.Hour, d%time.Hour
	mins, secs := d/time.Minute, (d%time.Minute)/time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// Ago says how long before now t was, in the largest whole unit ("12s
// ago", "3h from now", "never" for the zero time). The page and `nectar
// status` both say times this way, so the two read alike.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, " from now"
	}
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s" + suffix
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m" + suffix
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h" + suffix
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d" + suffix
}

// FormatMillis writes a duration given in milliseconds (Pass.DurationMS,
// Action.DurationMS) with the precision a person reads: "1.5 ms", "32 ms",
// "1.84 s".
func FormatMillis(ms float64) string {
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}
