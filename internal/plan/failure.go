package plan

import (
	"fmt"
	"time"
)

// Failure is an action that failed for a bot, kept between passes so the
// next ones do not repeat it blindly. As Flux does, a failure is one of
// two kinds. One that a person must fix (a container name taken by
// something nectar does not own, an image that cannot be had, a container
// the engine refuses) is Stalled: trying again with the same inputs would
// fail the same way, so the action waits until they change or a resync
// period has passed. Any other (the engine away, a timeout) may pass by
// itself, and is tried again after a back-off that grows with each
// failure in a row.
type Failure struct {
	// Kind is the action that failed.
	Kind Kind
	// Hash is the bot's desired hash when it failed ("" for a bot no
	// longer in the source), and Container the ID of the container acted
	// on ("" for a create): the inputs the failure holds for.
	Hash      string
	Container string
	// At is when it last failed; Attempts counts the failures in a row
	// with these inputs.
	At       time.Time
	Attempts int
	Stalled  bool
	// Error and Hint are the error's text and hints, cleaned of secrets.
	Error string
	Hint  string
}

// RetryAt is when the action may be tried again with the same inputs: a
// back-off after the attempts so far, or for a stalled one, stallRetry
// after it failed.
func (f Failure) RetryAt(stallRetry time.Duration) time.Time {
	if f.Stalled {
		return f.At.Add(stallRetry)
	}
	return f.At.Add(Backoff(f.Attempts))
}

// holds reports whether the failure is about action a: the same action on
// the same container, with the bot's inputs unchanged.
func (f Failure) holds(a Action, hash string) bool {
	id := ""
	if a.Container != nil {
		id = a.Container.ID
	}
	return f.Kind == a.Kind && f.Hash == hash && f.Container == id
}

// heldBack turns an action that failed last time, with nothing changed
// since, into a wait for its next attempt. An operator's suspension is
// carried out every pass whatever failed before: it is an emergency stop.
func heldBack(in Input, a Action) Action {
	f, ok := in.Failures[a.Bot]
	if !ok || !a.Kind.Mutates() || a.Suspended != nil || !f.holds(a, in.Desired[a.Bot].Hash) {
		return a
	}
	next := f.RetryAt(in.StallRetry)
	if !in.Now.Before(next) {
		return a
	}
	a.Failure, a.NotBefore = &f, next
	if f.Stalled {
		a.Kind = Stalled
		a.Reason = fmt.Sprintf("cannot %s: %s; a person must fix this: nectar tries again once the bot's configuration changes, or at %s",
			f.Kind, f.Error, next.UTC().Format(time.RFC3339))
		return a
	}
	a.Kind = Wait
	a.Reason = fmt.Sprintf("cannot %s: %s; next attempt in %s (back-off after %d failure(s))",
		f.Kind, f.Error, next.Sub(in.Now).Round(time.Second), f.Attempts)
	return a
}
