package docker

import (
	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/runtime"
)

// wrap names the operation and classifies the engine's error.
func wrap(op string, err error) *runtime.EngineError {
	e := &runtime.EngineError{Op: op, Err: err}
	switch {
	case isNotFound(err):
		e.Kind = runtime.ErrNotFound
	case cerrdefs.IsConflict(err):
		e.Kind = runtime.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		e.Kind = runtime.ErrRefused
	}
	return e
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// withoutEnv removes the container's environment from an engine error
// (see runtime.EngineError.WithoutEnv).
func withoutEnv(e *runtime.EngineError, env []string) error { return e.WithoutEnv(env) }
