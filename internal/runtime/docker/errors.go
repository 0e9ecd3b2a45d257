package docker

import (
	"errors"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// engineError is an engine failure in nectar's words: what was being done,
// the engine's own reason, and the runtime sentinel callers branch on.
type engineError struct {
	op   string // e.g. "start container 3f2a…"
	kind error  // runtime.ErrNotFound, runtime.ErrConflict or nil
	err  error
}

func (e *engineError) Error() string { return e.op + ": " + e.err.Error() }

func (e *engineError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrap names the operation and classifies the engine's error.
func wrap(op string, err error) *engineError {
	e := &engineError{op: op, err: err}
	switch {
	case isNotFound(err):
		e.kind = runtime.ErrNotFound
	case cerrdefs.IsConflict(err):
		e.kind = runtime.ErrConflict
	}
	return e
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// withoutEnv removes the container's environment from an engine error
// before it travels on: the account password is in it, and an engine
// message may quote what it was sent, escaped (runc quotes an entry with
// Go's %q). Whole KEY=VALUE entries go, and every value long enough not to
// garble the message by accident; short values of keys that look secret go
// whatever their length. When anything was removed, the engine's error
// leaves the chain; its classification stays.
func withoutEnv(e *engineError, env []string) error {
	msg := e.err.Error()
	clean := scrub.Env(msg, env)
	if clean == msg {
		return e
	}
	return &engineError{op: e.op, kind: e.kind, err: errors.New(clean)}
}
