package runtime

import (
	"context"
	"time"
)

// Inspection is what the engine knows of one container beyond its list
// entry: when its process last started and how often the engine itself
// restarted it.
type Inspection struct {
	// StartedAt is when the container's main process last started, by
	// the engine's clock; zero if it never ran.
	StartedAt time.Time
	// RestartCount counts the restarts the engine made under the
	// container's restart policy (Docker's RestartCount). Starts asked
	// for through the API (nectar's) are not among them.
	RestartCount int
}

// Inspector is a Runtime that can inspect one container. A list does not
// carry these facts and each inspection is one more call to the engine,
// so callers ask only about containers that changed.
type Inspector interface {
	Inspect(ctx context.Context, id string) (Inspection, error)
}
