package runtime

import (
	"errors"

	"github.com/nectarhq/nectar/internal/scrub"
)

// ErrRefused means the engine refused what it was asked as invalid (a
// setting it does not accept, a command it cannot run): asking again the
// same way fails again, so a person must change the input.
var ErrRefused = errors.New("refused by the engine")

// EngineError is an engine's failure in nectar's words: what was being
// done, the engine's own reason, and the sentinel callers branch on. Both
// engines (Docker and Swarm) report their failures this way.
type EngineError struct {
	Op   string // e.g. "start container 3f2a…"
	Kind error  // ErrNotFound, ErrConflict, ErrRefused or nil
	Err  error
}

func (e *EngineError) Error() string { return e.Op + ": " + e.Err.Error() }

func (e *EngineError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// WithoutEnv takes a container's environment (the account password is in
// it) out of the error before it travels on: an engine message may quote
// what it was sent, escaped (runc quotes an entry with Go's %q). Whole
// KEY=VALUE entries go, every value long enough not to garble the message
// by accident, and short values of keys that look secret. When anything was
// taken out, the engine's own error leaves the chain; its Kind stays, which
// is why a refusal is a Kind and not only the engine's error class.
func (e *EngineError) WithoutEnv(env []string) error {
	msg := e.Err.Error()
	clean := scrub.Env(msg, env)
	if clean == msg {
		return e
	}
	return &EngineError{Op: e.Op, Kind: e.Kind, Err: errors.New(clean)}
}
