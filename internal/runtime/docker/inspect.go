package docker

import (
	"context"
	"time"

	"github.com/nectarhq/nectar/internal/runtime"
)

var _ runtime.Inspector = (*Engine)(nil)

// Inspect reads a container's start time and the engine's restart count.
func (e *Engine) Inspect(ctx context.Context, id string) (runtime.Inspection, error) {
	info, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.Inspection{}, wrap("inspect container "+id, err)
	}
	var out runtime.Inspection
	if info.ContainerJSONBase != nil {
		out.RestartCount = info.RestartCount
		if info.State != nil {
			// A container that never ran says 0001-01-01T00:00:00Z.
			if t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil && t.Year() > 1 {
				out.StartedAt = t
			}
		}
	}
	return out, nil
}
