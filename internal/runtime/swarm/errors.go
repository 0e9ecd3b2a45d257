package swarm

import (
	"errors"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// engineError is a manager's failure in nectar's words: the operation,
// Swarm's reason, and the runtime sentinel callers branch on.
type engineError struct {
	op   string
	kind error // runtime.ErrNotFound, runtime.ErrConflict or nil
	err  error
}

func (e *engineError) Error() string { return e.op + ": " + e.err.Error() }

func (e *engineError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrap names the operation and classifies the manager's error. Swarm
// refuses a service name in use as a conflict ("name conflicts with an
// existing object"), which the API reports as 409.
func wrap(op string, err error) *engineError {
	e := &engineError{op: op, err: err}
	switch {
	case cerrdefs.IsNotFound(err):
		e.kind = runtime.ErrNotFound
	case cerrdefs.IsConflict(err), strings.Contains(err.Error(), "name conflicts with an existing object"):
		e.kind = runtime.ErrConflict
	}
	return e
}

// withoutEnv takes the service's environment (the account password is in
// it) out of an error before it travels on: every value long enough to be
// matched without garbling the message, and short values of keys that
// look secret. When anything was taken out, Swarm's own error leaves the
// chain and only its classification stays.
func withoutEnv(e *engineError, env []string) error {
	msg := e.err.Error()
	clean := scrub.Env(msg, env)
	if clean == msg {
		return e
	}
	return &engineError{op: e.op, kind: e.kind, err: errors.New(clean)}
}
