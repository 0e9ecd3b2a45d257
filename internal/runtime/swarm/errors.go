package swarm

import (
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/nectarhq/nectar/internal/runtime"
)

// wrap names the operation and classifies the manager's error. Swarm
// refuses a service name in use as a conflict ("name conflicts with an
// existing object"), which the API reports as 409.
func wrap(op string, err error) *runtime.EngineError {
	e := &runtime.EngineError{Op: op, Err: err}
	switch {
	case cerrdefs.IsNotFound(err):
		e.Kind = runtime.ErrNotFound
	case cerrdefs.IsConflict(err), strings.Contains(err.Error(), "name conflicts with an existing object"):
		e.Kind = runtime.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		e.Kind = runtime.ErrRefused
	}
	return e
}

// withoutEnv takes the service's environment out of an error (see
// runtime.EngineError.WithoutEnv).
func withoutEnv(e *runtime.EngineError, env []string) error { return e.WithoutEnv(env) }
