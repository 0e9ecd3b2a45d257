package swarm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/nectarhq/nectar/internal/runtime"
)

// Update changes the service to spec in place (Swarm cannot rename a
// service, so the reconciler's create-aside-and-rename does not apply):
//
//   - the secrets and configs of spec.Files that are new are made first,
//     then one ServiceUpdate switches the service to them and to the rest
//     of the spec, with one replica when run and none otherwise;
//   - the service keeps its node: spec.Node when set, else its own pin;
//   - when run, the task is always replaced (a new process from the new
//     spec, as the single engine's recreate gives), old one stopped first
//     (the update order is stop-first), and Update waits until a task of
//     the new spec runs; one that ends instead is an error in Swarm's
//     words. When not run, it waits until no task is alive;
//   - then the service's secrets and configs it no longer names are
//     removed.
//
// The result is how the task that was running before ended: Killed when
// it did not exit within its grace period (exit 137); ExitCode -1 when no
// task was running.
func (e *Engine) Update(ctx context.Context, id string, spec runtime.Spec, run bool) (runtime.Stopped, error) {
	op := "update service " + id
	none := runtime.Stopped{ExitCode: -1}
	if spec.Name == "" || spec.Image == "" {
		return none, fmt.Errorf("%s: the spec needs a name and an image", op)
	}
	cur, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return none, wrap(op, err)
	}
	if cur.Spec.Name != spec.Name {
		return none, fmt.Errorf("%s: it is named %s, the spec %s: Swarm cannot rename a service: %w", op, cur.Spec.Name, spec.Name, ErrUnsupported)
	}
	before, err := e.tasks(ctx, cur.ID)
	if err != nil {
		return none, err
	}
	next, err := e.serviceSpec(ctx, spec)
	if err != nil {
		return none, fmt.Errorf("%s: %w", op, err)
	}
	objs, err := e.attachFiles(ctx, spec, next.TaskTemplate.ContainerSpec)
	if err != nil {
		return none, fmt.Errorf("%s: %w", op, err)
	}
	old, err := e.writeService(ctx, cur, next, spec.Node, run)
	if err != nil {
		e.undo(ctx, objs)
		return none, err
	}
	grace := max(gracePeriod(old), *next.TaskTemplate.ContainerSpec.StopGracePeriod)
	stopped, err := e.awaitUpdate(ctx, op, cur.ID, before, run, grace, spec.Env)
	if err != nil {
		return stopped, err
	}
	// Left in use only while a task still names them; a later update or
	// the remove takes them.
	if _, err := e.removeUnused(ctx, spec.Labels[runtime.LabelFleet], spec.Name, next.TaskTemplate.ContainerSpec); err != nil {
		return stopped, fmt.Errorf("%s: the service runs its new spec, but its old files remain: %w", op, err)
	}
	return stopped, nil
}

// writeService updates cur to next in one ServiceUpdate: next's placement
// is the service's own unless node names another (see keepPlacement), its
// replica count 1 when run, and when run ForceUpdate is raised so that a
// new task replaces the old one even when the task spec is the same. An
// update another writer overtook ("update out of sequence") is read again
// and retried. It returns the service as it was just before the update.
func (e *Engine) writeService(ctx context.Context, cur swarm.Service, next swarm.ServiceSpec, node string, run bool) (swarm.Service, error) {
	op := "update service " + cur.Spec.Name
	var n uint64
	if run {
		n = 1
	}
	for attempt := 0; ; attempt++ {
		placement, err := e.keepPlacement(ctx, cur, node)
		if err != nil {
			return cur, fmt.Errorf("%s: %w", op, err)
		}
		spec := next
		spec.TaskTemplate.Placement = placement
		spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
		if run {
			spec.TaskTemplate.ForceUpdate = cur.Spec.TaskTemplate.ForceUpdate + 1
		}
		_, err = e.cli.ServiceUpdate(ctx, cur.ID, cur.Version, spec, swarm.ServiceUpdateOptions{})
		if err == nil {
			return cur, nil
		}
		if attempt < 5 && strings.Contains(err.Error(), "out of sequence") {
			if cur, _, err = e.cli.ServiceInspectWithRaw(ctx, cur.ID, swarm.ServiceInspectOptions{}); err != nil {
				return cur, wrap(op, err)
			}
			continue
		}
		return cur, withoutEnv(wrap(op, err), append(envOf(cur), envOf(swarm.Service{Spec: next})...))
	}
}

// awaitUpdate waits for the update to take effect. before are the
// service's tasks as they were before it: any other task is of the new
// spec. When run, it waits (the old task's grace period, then as long as
// Start does) until a new task runs and every old one has ended; when not,
// until no task is alive. It returns how the old running task ended.
func (e *Engine) awaitUpdate(ctx context.Context, op, id string, before []swarm.Task, run bool, grace time.Duration, env []string) (runtime.Stopped, error) {
	old, wasRunning := map[string]bool{}, map[string]bool{}
	for _, t := range before {
		old[t.ID] = true
		wasRunning[t.ID] = t.Status.State == swarm.TaskStateRunning
	}
	if !run {
		ts, err := e.awaitNoTask(ctx, op, id, grace+stopMargin)
		if err != nil {
			return runtime.Stopped{ExitCode: -1}, err
		}
		return stoppedOf(ts, wasRunning), nil
	}
	ctx, cancel := context.WithTimeout(ctx, grace+stopMargin+startWait)
	defer cancel()
	for {
		ts, err := e.tasks(ctx, id)
		if err != nil {
			return runtime.Stopped{ExitCode: -1}, err
		}
		runs, err := newTaskRuns(op, ts, old, env)
		if err != nil {
			return stoppedOf(ts, wasRunning), err
		}
		if runs && oldEnded(ts, wasRunning) {
			return stoppedOf(ts, wasRunning), nil
		}
		select {
		case <-ctx.Done():
			return stoppedOf(ts, wasRunning), notRunning(op, ts, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// newTaskRuns reports whether a task not among old runs; a new task that
// ended instead is the error.
func newTaskRuns(op string, ts []swarm.Task, old map[string]bool, env []string) (bool, error) {
	for _, t := range ts {
		switch {
		case old[t.ID]:
		case t.Status.State == swarm.TaskStateRunning && t.DesiredState == swarm.TaskStateRunning:
			return true, nil
		case !live(t.Status.State):
			return false, taskFailed(op, t, env)
		}
	}
	return false, nil
}

// oldEnded reports whether every task that was running before has ended
// (or is no longer listed).
func oldEnded(ts []swarm.Task, wasRunning map[string]bool) bool {
	for _, t := range ts {
		if wasRunning[t.ID] && live(t.Status.State) {
			return false
		}
	}
	return true
}

// stoppedOf is how the latest of the tasks that were running ended.
func stoppedOf(ts []swarm.Task, wasRunning map[string]bool) runtime.Stopped {
	var ran []swarm.Task
	for _, t := range ts {
		if wasRunning[t.ID] {
			ran = append(ran, t)
		}
	}
	out := runtime.Stopped{ExitCode: -1}
	if t := latest(ran); t != nil && !live(t.Status.State) && t.Status.ContainerStatus != nil {
		out.ExitCode = t.Status.ContainerStatus.ExitCode
		out.Killed = out.ExitCode == runtime.KilledExitCode
	}
	return out
}
