package status

import (
	"maps"
	"slices"
	"time"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
)

// botState is what the Store keeps about one bot between passes.
type botState struct {
	status  BotStatus // without History
	history []Action  // newest first, at most StoreOptions.History
	// The last decision the plan made about the bot, so a pass that
	// repeats it adds no history entry.
	lastKind   plan.Kind
	lastReason string
}

// RecordPass records one reconcile pass; it fits reconcile.Loop.OnPass.
// res is nil when the source gave no revision at all. src must still be
// readable during the call: the shared files of an applied revision are
// copied from it for /files. Nothing in res that could hold a secret is
// kept: the Store copies names, states and reasons into its own types.
func (s *Store) RecordPass(res *reconcile.Result, src reconcile.Source, sourceErr error) {
	now := s.opts.Now()
	applied := res != nil && res.SourceOK && res.EngineErr == nil
	// Reading files is the slow part, so it happens before the lock. Only
	// the loop records passes, so the snapshot read here is current.
	cur := s.snap.Load()
	var files *SharedFiles
	if applied && src.FS != nil && (cur.files == nil || cur.files.Revision != res.Revision) {
		files = copySharedFiles(src.FS, res.Revision)
	}
	var rendered map[string][]File
	if applied && s.opts.Files != nil {
		rendered = s.readRendered(res, cur)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	st.version++
	st.passes++
	st.sourceErr = errText(sourceErr)
	if sourceErr != nil {
		s.metrics.sourceErrors.Inc()
	}
	if res == nil {
		// Not even a last good revision: the first fetch failed.
		st.lastPass = &Pass{Started: now, Result: ResultSourceError}
		st.sourceOK = false
		s.metrics.recordPass(st.lastPass, nil)
		s.finish()
		return
	}
	started := res.Started
	if started.IsZero() {
		started = now
	}
	ended := started.Add(res.Duration)
	st.attempted = revisionOf(res, started)
	st.sourceOK = res.SourceOK
	st.problems = problemsOf(res.SourceProblems)
	st.lastPass = summarize(res, started)
	if !res.SourceOK && sourceErr == nil {
		s.metrics.sourceErrors.Inc()
	}
	if res.SourceOK {
		st.fleet = res.Fleet
	}
	switch {
	case !res.SourceOK:
		// Nothing was changed and the engine was not asked: the bots
		// stay as the applied revision left them.
	case res.EngineErr != nil:
		st.engine = Engine{Reachable: false, Error: errText(res.EngineErr), CheckedAt: ended}
		if len(st.bots) == 0 && res.Loaded != nil {
			s.seedBots(res.Loaded)
		}
	default:
		st.ready = true
		st.engine = Engine{Reachable: true, CheckedAt: ended}
		st.applied = revisionOf(res, started)
		st.accounts = accountsOf(res.Loaded)
		s.recordBots(res, ended, rendered)
		if files != nil {
			st.files = files
		}
	}
	s.metrics.recordPass(st.lastPass, res)
	s.finish()
}

// RecordHealth records a round of the bots' own health reports, by bot:
// every running bot launched by hbot was asked, so a bot missing from the
// round has no health to show (stopped, or not run by hbot).
func (s *Store) RecordHealth(round map[string]botstatus.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.version++
	for name, b := range s.st.bots {
		h, ok := round[name]
		if !ok {
			b.status.BotHealth = nil
			continue
		}
		b.status.BotHealth = &BotHealth{State: h.State, Reason: Redact(h.Reason), Errors: h.Errors, Orders: h.Orders, UpdatedAt: h.UpdatedAt, CheckedAt: h.Checked}
	}
	s.finish()
}

// finish publishes the new state and tells the subscribers.
func (s *Store) finish() {
	s.metrics.recordState(&s.st)
	s.publish()
	s.notify()
}

// readRendered lists the rendered files of the bots whose files may have
// changed: those the pass rendered, and those not listed yet. Reading each
// bot's manifest every pass would add a file read per bot to every pass.
func (s *Store) readRendered(res *reconcile.Result, cur *Snapshot) map[string][]File {
	out := map[string][]File{}
	for _, o := range res.Outcomes {
		if _, done := out[o.Bot]; done {
			continue
		}
		known, ok := cur.bots[o.Bot]
		if ok && len(known.Files) > 0 && len(o.Rendered) == 0 {
			continue
		}
		var files []File
		for _, f := range s.opts.Files(o.Bot) {
			files = append(files, File{Path: f.Path, Digest: f.Digest})
		}
		out[o.Bot] = files
	}
	return out
}

// recordBots updates every bot from the outcomes of an applied pass. The
// plan gives one outcome per bot of the source and per container of the
// fleet; a bot with neither is gone and forgotten.
func (s *Store) recordBots(res *reconcile.Result, at time.Time, rendered map[string][]File) {
	st := &s.st
	fl := res.Loaded
	seen := map[string]bool{}
	for _, o := range res.Outcomes {
		b := st.bots[o.Bot]
		if b == nil {
			b = &botState{status: BotStatus{Name: o.Bot}}
			st.bots[o.Bot] = b
		}
		primary := !seen[o.Bot]
		seen[o.Bot] = true
		if files, ok := rendered[o.Bot]; ok {
			b.status.Files = files
		}
		if primary {
			// The first outcome is about the bot's own container; any
			// more remove extra containers that claim the bot.
			setDesired(&b.status, fl)
			s.setObserved(&b.status, o.Container, at)
			b.status.NectarStarts = o.Restarts
			b.status.Suspended = nil
			if s := o.Suspended; s != nil {
				b.status.Suspended = &Suspension{By: Redact(s.By), At: s.At, Stop: s.Stop}
			}
			b.status.Condition = condition(o, b.status.Desired)
			s.setLastError(&b.status, o, at)
		} else if o.Err != nil {
			b.status.Condition = failedCondition(o)
			s.setLastError(&b.status, o, at)
		}
		if o.Kind.Mutates() || o.Err != nil || !sameDecision(o, b.lastKind, b.lastReason) {
			s.addHistory(b, o, res.Revision, at)
		}
		if primary {
			b.lastKind, b.lastReason = o.Kind, o.Reason
		}
	}
	if fl != nil {
		for name := range fl.Bots {
			if b := st.bots[name]; b != nil && !seen[name] {
				// Only a hand-made result leaves a bot of the source
				// without an outcome; keep what is known of it.
				setDesired(&b.status, fl)
				seen[name] = true
			}
		}
	}
	for name := range st.bots {
		if !seen[name] {
			delete(st.bots, name)
		}
	}
}

// seedBots lists the source's bots before the engine ever answered, so
// the page shows the fleet rather than nothing.
func (s *Store) seedBots(fl *fleet.Fleet) {
	for name := range fl.Bots {
		b := &botState{status: BotStatus{Name: name, Actual: ActualUnknown, Condition: ConditionUnknown}}
		setDesired(&b.status, fl)
		s.st.bots[name] = b
	}
}

func (s *Store) addHistory(b *botState, o reconcile.Outcome, revision string, at time.Time) {
	entry := Action{
		Kind:       string(o.Kind),
		Reason:     Redact(o.Reason),
		At:         at,
		Revision:   revision,
		DurationMS: millis(o.Duration),
		Error:      errText(o.Err),
		Rendered:   slices.Clone(o.Rendered),
		Killed:     Redact(o.Killed),
		Hint:       hintText(o.Err),
	}
	if o.Killed != "" {
		b.status.Killed = &Kill{At: at, Warning: entry.Killed}
		s.metrics.kills.Inc()
	}
	// A new slice every time: published snapshots share the old one.
	keep := b.history[:min(len(b.history), s.opts.History-1)]
	b.history = append([]Action{entry}, keep...)
	// The last action is the last thing nectar did (or tried to do) to
	// the bot; a decision to do nothing, or a change of what it waits
	// for, goes into the history only.
	if o.Kind.Mutates() || o.Err != nil {
		last := entry
		b.status.LastAction = &last
	}
}

// sameDecision reports whether the plan decided the same as last pass. A
// wait's reason counts down each pass; only its kind matters.
func sameDecision(o reconcile.Outcome, kind plan.Kind, reason string) bool {
	if o.Kind != kind {
		return false
	}
	return o.Kind == plan.Wait || o.Reason == reason
}

// setDesired copies what the source says about the bot: names and states,
// nothing from its account but the account's name.
func setDesired(b *BotStatus, fl *fleet.Fleet) {
	var fb *fleet.Bot
	if fl != nil {
		fb = fl.Bots[b.Name]
	}
	if fb == nil {
		b.Desired, b.Held, b.Image, b.Account, b.Connectors, b.Problems = DesiredAbsent, false, "", "", []string{}, nil
		return
	}
	b.Desired = fb.State
	if b.Desired == "" {
		b.Desired = fleet.StateRunning
	}
	b.Held = fb.Hold
	b.Image = fb.Image
	b.Account = fb.Account
	b.Connectors = orEmpty(slices.Clone(fb.Connectors))
	b.Problems = problemsOf(fl.BotProblems(b.Name))
}

func (s *Store) setObserved(b *BotStatus, c *runtime.Container, at time.Time) {
	b.ObservedAt = at
	b.StartedAt, b.Restarts, b.Uptime = time.Time{}, 0, ""
	if c == nil {
		b.Actual, b.Health, b.EngineStatus = ActualMissing, "", ""
		b.ContainerID, b.ContainerName, b.ContainerImage = "", "", ""
		b.Task = nil
		return
	}
	b.Task = nil
	if t := c.Task; t != nil {
		b.Task = &Task{Node: t.Node, NodeState: t.NodeState, State: t.State, Error: t.Err}
	}
	b.Actual = c.State
	b.EngineStatus = c.Status
	b.Health, _ = parseEngineStatus(c.Status)
	b.ContainerID, b.ContainerName, b.ContainerImage = c.ID, c.Name, c.Image
	if s.opts.Inspected != nil {
		if i, ok := s.opts.Inspected(c.ID); ok {
			b.StartedAt, b.Restarts = i.StartedAt, i.RestartCount
		}
	}
}

// condition sums up the bot after the pass.
func condition(o reconcile.Outcome, desired string) string {
	if o.Err != nil {
		return failedCondition(o)
	}
	switch o.Kind {
	case plan.Held:
		return ConditionHeld
	case plan.Suspended:
		return ConditionSuspended
	case plan.Stalled:
		return ConditionStalled
	case plan.CrashLoop:
		return ConditionCrashLoop
	case plan.Wait:
		return ConditionWaiting
	case plan.Orphan:
		return ConditionOrphan
	case plan.None:
		if desired == fleet.StateStopped {
			return ConditionStopped
		}
		return ConditionReady
	}
	return ConditionProgressing
}

// failedCondition is the condition of a bot whose action failed: stalled
// when a person must fix what failed, as on the passes after it, which
// hold the action back; failed when it may pass by itself.
func failedCondition(o reconcile.Outcome) string {
	if o.Stalled {
		return ConditionStalled
	}
	return ConditionFailed
}

// setLastError keeps the error that stands between the bot and what the
// source wants, with its hint and when the next attempt comes, and clears
// them once nothing stands there.
func (s *Store) setLastError(b *BotStatus, o reconcile.Outcome, at time.Time) {
	var msg, hint string
	var next time.Time
	switch {
	case o.Err != nil:
		msg, hint, next = errText(o.Err), hintText(o.Err), o.RetryAt
		if next.IsZero() && s.opts.Resync > 0 {
			// Not held back: the next pass retries it, and one comes at
			// the latest a resync after this one ended.
			next = at.Add(s.opts.Resync)
		}
	case o.Failure != nil:
		// Held back by the failure of an earlier pass: the same error
		// stands (so it keeps the time it first appeared), until the
		// action is tried again.
		msg, hint, next = Redact(o.Failure.Error), Redact(o.Failure.Hint), o.NotBefore
	case o.Kind == plan.Wait:
		msg, next = Redact(o.Reason), o.NotBefore
	case o.Kind == plan.Stalled || o.Kind == plan.CrashLoop:
		msg = Redact(o.Reason)
	}
	if msg != b.LastError {
		b.LastError, b.LastErrorAt = msg, at
	}
	b.LastErrorHint, b.NextAttempt = hint, next
	if msg == "" {
		b.LastErrorAt = time.Time{}
	}
}

func summarize(res *reconcile.Result, started time.Time) *Pass {
	p := &Pass{Revision: res.Revision, Started: started, DurationMS: millis(res.Duration), Mutations: res.Mutations}
	for _, o := range res.Outcomes {
		if o.Kind.Mutates() {
			p.Actions++
		}
		if o.Err != nil {
			p.Errors++
		}
	}
	switch {
	case !res.SourceOK:
		p.Result = ResultSourceError
	case res.EngineErr != nil:
		p.Result = ResultEngineUnreachable
	case p.Errors > 0:
		p.Result = ResultFailed
	case p.Actions > 0:
		p.Result = ResultChanged
	default:
		p.Result = ResultOK
	}
	return p
}

func problemsOf(ps []fleet.Problem) []Problem {
	if len(ps) == 0 {
		return nil
	}
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem{File: p.File, Line: p.Line, Column: p.Column, Position: p.Position(), Message: Redact(p.Message), Hint: Redact(p.Hint)}
	}
	return out
}

// accountsOf lists the fleet's accounts by name, with their connectors'
// names and the bots using each: never a password or a credential.
func accountsOf(fl *fleet.Fleet) []Account {
	if fl == nil {
		return nil
	}
	out := make([]Account, 0, len(fl.Accounts))
	for _, name := range slices.Sorted(maps.Keys(fl.Accounts)) {
		a := Account{Name: name, Bots: orEmpty(fl.BotsUsingAccount(name)), Connectors: []Connector{}}
		for _, c := range fl.Accounts[name].Connectors {
			conn := Connector{Name: c, Bots: []string{}}
			for _, bot := range a.Bots {
				if slices.Contains(fl.Bots[bot].Connectors, c) {
					conn.Bots = append(conn.Bots, bot)
				}
			}
			a.Connectors = append(a.Connectors, conn)
		}
		out = append(out, a)
	}
	return out
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// revisionOf is the pass's revision as the page shows it.
func revisionOf(res *reconcile.Result, at time.Time) Revision {
	rev := Revision{Revision: res.Revision, At: at}
	if c := res.Commit; c != nil {
		rev.Subject, rev.Author = c.Subject, c.Author
	}
	return rev
}
