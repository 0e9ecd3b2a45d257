package reconcile

import (
	"errors"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/runtime"
)

// errNeedsPerson is what errors.Is finds in the error of an action that a
// person must fix before it can succeed (see plan.Failure). It is found
// through an error cleaned of secrets too, which keeps no error types.
var errNeedsPerson = errors.New("needs a person")

// needsPerson marks err as errNeedsPerson, its text unchanged.
type needsPerson struct{ error }

func (e needsPerson) Unwrap() error        { return e.error }
func (e needsPerson) Is(target error) bool { return target == errNeedsPerson }

// stall marks an error a person must fix.
func stall(err error) error {
	if err == nil {
		return nil
	}
	return needsPerson{err}
}

// refusedHint is what to do about a container the engine refuses.
const refusedHint = "the engine refused the bot's container as nectar made it from the source: " +
	"fix what the error names (cpus:, memory:, a mount, the command) in the bot file or nectar.yaml"

// classify marks the engine's refusal of what it was asked (a container
// setting it does not accept, a command it cannot run: the engine's 400)
// as needing a person. The other failures nectar knows to need one are
// marked where they happen (a name taken, an image that cannot be had);
// everything else may pass, and is tried again after a back-off.
func classify(err error) error {
	if err == nil || errors.Is(err, errNeedsPerson) {
		return err
	}
	// The engine's own class may be gone from an error cleaned of the
	// container's environment; the runtime's Kind stays.
	if errors.Is(err, runtime.ErrRefused) || cerrdefs.IsInvalidArgument(err) {
		return stall(hint.Wrap(err, refusedHint))
	}
	return err
}

// step is one action on one container ("" for a create).
type step struct {
	kind      plan.Kind
	container string
}

// noteFailures keeps, per bot, the action that failed this pass, so the
// next passes hold it back (plan.Failure), and forgets every other: a bot
// whose action succeeded, or whose plan no longer holds the failed action,
// starts afresh. It runs after a whole pass.
func (r *Reconciler) noteFailures(res *Result, st *passState) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]plan.Failure{}
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		switch {
		case o.Failure != nil:
			next[o.Bot] = *o.Failure
		case o.Err != nil && o.Suspended == nil:
			f := plan.Failure{Kind: o.Kind, Hash: st.want[o.Bot].desired.Hash, At: now, Attempts: 1, Stalled: o.Stalled,
				Error: o.Err.Error(), Hint: strings.Join(hint.Of(o.Err), "; ")}
			if o.Container != nil {
				f.Container = o.Container.ID
			}
			if o.leftAt != nil {
				f.Kind, f.Container = o.leftAt.kind, o.leftAt.container
			}
			if last, ok := r.failures[o.Bot]; ok && last.Kind == f.Kind && last.Hash == f.Hash && last.Container == f.Container {
				f.Attempts = last.Attempts + 1
			}
			next[o.Bot] = f
			o.RetryAt = f.RetryAt(r.opts.Resync)
		}
	}
	r.failures = next
}
