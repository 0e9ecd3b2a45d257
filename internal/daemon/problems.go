package daemon

import (
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
)

// problems remembers what was wrong as of the last pass, so the log says
// each problem once when it appears and once when it is gone, rather than
// on every pass (a resync every minute would bury everything else).
type problems struct {
	open map[string]problem
}

// problem is one open problem: the line that announced it.
type problem struct {
	msg      string
	resolved string // the message logged when it goes away
	attrs    []any
}

func (p problem) same(q problem) bool {
	return p.msg == q.msg && slices.Equal(p.attrs, q.attrs)
}

// Kinds of problem keys; a pass judges only the kinds it could see.
const (
	keyFetch   = "fetch"
	keyLoad    = "load"
	keyEngine  = "engine"
	keyProblem = "problem:" // + the problem's file:line: message
	keyStalled = "stalled:" // + the bot's name
)

// observe compares the pass with what was open, and logs what appeared,
// what changed and what went away.
func (ps *problems) observe(log *slog.Logger, res *reconcile.Result, sourceErr error) {
	if ps.open == nil {
		ps.open = map[string]problem{}
	}
	now := map[string]problem{}
	// judged reports whether this pass tells anything about the key; a
	// key it cannot judge stays as it was, neither logged nor resolved.
	var judged func(key string) bool

	if sourceErr != nil {
		now[keyFetch] = problem{msg: "cannot read the source; the last good revision stays applied",
			resolved: "the source can be read again", attrs: []any{"error", sourceErr.Error()}}
	}
	switch {
	case res == nil:
		judged = func(key string) bool { return key == keyFetch }
	case !res.SourceOK:
		now[keyLoad] = problem{msg: "the fleet does not load; nothing is changed until it does",
			resolved: "the fleet loads again", attrs: []any{"revision", res.Revision}}
		for _, p := range res.SourceProblems {
			now[keyProblem+p.Error()] = sourceProblem(p.Position(), p.Message, p.Hint)
		}
		// The bots were not planned: whether each is stalled is unknown.
		judged = func(key string) bool { return !strings.HasPrefix(key, keyStalled) && key != keyEngine }
	case res.EngineErr != nil:
		now[keyEngine] = problem{msg: "cannot reach the engine; nothing is changed until it answers",
			resolved: "the engine answers again", attrs: []any{"error", res.EngineErr.Error()}}
		judged = func(key string) bool { return key == keyFetch || key == keyLoad || key == keyEngine }
	default:
		var reasons []string
		for _, o := range res.Outcomes {
			if o.Kind != plan.Stalled {
				continue
			}
			reasons = append(reasons, o.Reason)
			now[keyStalled+o.Bot] = problem{msg: "bot stalled: nothing is done about it until a person fixes the reason (its files, its image, its node, a container in its way) or its files change",
				resolved: "bot no longer stalled", attrs: []any{"bot", o.Bot, "reason", o.Reason}}
		}
		// Problems that stall a bot were just said with it; the others
		// (an entry of bots/ that is no bot, say) are said on their own.
		for _, p := range res.SourceProblems {
			if slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, p.Error()) }) {
				continue
			}
			now[keyProblem+p.Error()] = sourceProblem(p.Position(), p.Message, p.Hint)
		}
		judged = func(string) bool { return true }
	}

	for _, key := range slices.Sorted(maps.Keys(ps.open)) {
		old := ps.open[key]
		if _, still := now[key]; still || !judged(key) {
			continue
		}
		log.Info(old.resolved, old.attrs...)
		delete(ps.open, key)
	}
	for _, key := range slices.Sorted(maps.Keys(now)) {
		p := now[key]
		if old, ok := ps.open[key]; ok && old.same(p) {
			continue
		}
		log.Warn(p.msg, p.attrs...)
		ps.open[key] = p
	}
}

func sourceProblem(at, msg, hint string) problem {
	attrs := []any{"at", at, "reason", msg}
	if hint != "" {
		attrs = append(attrs, "hint", hint)
	}
	return problem{msg: "problem in the source", resolved: "problem in the source fixed", attrs: attrs}
}
