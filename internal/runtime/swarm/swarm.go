// Package swarm implements nectar's runtime.Runtime over Docker Swarm
// services, through a manager's Engine API: one service per bot, named and
// labelled as the single engine names and labels a bot's container, with
// one replica while the bot runs and none while it is stopped.
//
// What the interface calls a container is a service here: its ID is the
// service's ID, its state comes from the service's replica count and its
// latest task. Several things the interface asks for cannot be done through
// a manager alone; each method's comment says where this runtime falls
// short.
//
// A bot's files reach its task by content, as secrets and configs
// (files.go); each bot is pinned to one node, where its volumes are, and
// stays there (placement.go); Update changes a service in place
// (update.go).
package swarm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
)

// DefaultStopTimeout is the stop grace period of a service whose spec sets
// none; the same as the single engine's, for the same reason (a bot run by
// hbot needs up to 50 s to wind down and cancel its orders).
const DefaultStopTimeout = docker.DefaultStopTimeout

// Log rotation when the spec leaves it unset, as on the single engine.
const (
	DefaultLogMaxSize  = docker.DefaultLogMaxSize
	DefaultLogMaxFiles = docker.DefaultLogMaxFiles
)

// startWait bounds how long Start waits for the bot's task to run.
const startWait = 2 * time.Minute

// stopMargin is how long Stop waits beyond the grace period: the node
// reports the task's end to the manager a moment after the kill.
const stopMargin = 30 * time.Second

// pollEvery is how often a wait reads the tasks again.
const pollEvery = 200 * time.Millisecond

// ErrUnsupported is wrapped by the operations Swarm has no way to do
// through a manager (renaming a service, signalling a task's process).
var ErrUnsupported = errors.ErrUnsupported

// Engine is a Swarm cluster reached through one of its managers. It is
// safe for concurrent use.
type Engine struct {
	cli *client.Client
	// local is the manager's own engine, which reads image files.
	local *docker.Engine
	// placeMu serialises choosing a node and creating the service there,
	// so that concurrent creates each see the others' services and spread.
	placeMu sync.Mutex
}

var (
	_ runtime.Runtime   = (*Engine)(nil)
	_ runtime.Inspector = (*Engine)(nil)
	_ runtime.Updater   = (*Engine)(nil)
)

// New connects to the manager the environment names (DOCKER_HOST and the
// rest, as docker.New) and negotiates the API version with one ping. It
// fails when the engine does not answer or is not a Swarm manager.
func New(ctx context.Context) (*Engine, error) {
	return newEngine(ctx, client.FromEnv)
}

func newEngine(ctx context.Context, opts ...client.Opt) (*Engine, error) {
	opts = append(opts, client.WithAPIVersionNegotiation())
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot make a Docker client: %w", err)
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		cli.Close()
		return nil, wrap("ping Swarm manager at "+cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersionPing(ping)
	info, err := cli.Info(ctx)
	if err != nil {
		cli.Close()
		return nil, wrap("read engine info at "+cli.DaemonHost(), err)
	}
	if !info.Swarm.ControlAvailable {
		cli.Close()
		return nil, fmt.Errorf("the engine at %s is not a Swarm manager (swarm state %q): point DOCKER_HOST at a manager, or run `docker swarm init` there", cli.DaemonHost(), info.Swarm.LocalNodeState)
	}
	// The same environment names the same engine: the manager's.
	local, err := docker.New(ctx)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return &Engine{cli: cli, local: local}, nil
}

// Close releases the connections to the manager.
func (e *Engine) Close() error {
	e.local.Close()
	return e.cli.Close()
}

// APIVersion is the Engine API version in use, as negotiated.
func (e *Engine) APIVersion() string { return e.cli.ClientVersion() }

// Ping checks that the manager answers.
func (e *Engine) Ping(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx); err != nil {
		return wrap("ping Swarm manager at "+e.cli.DaemonHost(), err)
	}
	return nil
}

// List returns the fleet's services with three requests: the services,
// the tasks of all of them, and the nodes (for each task's node: its host
// name and state).
func (e *Engine) List(ctx context.Context, fleet string) ([]runtime.Container, error) {
	if fleet == "" {
		return nil, errors.New("cannot list services: empty fleet name")
	}
	label := filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+fleet))
	services, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: label})
	if err != nil {
		return nil, wrap("list services of fleet "+fleet, err)
	}
	if len(services) == 0 {
		return nil, nil
	}
	args := filters.NewArgs()
	for _, s := range services {
		args.Add("service", s.ID)
	}
	tasks, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: args})
	if err != nil {
		return nil, wrap("list tasks of fleet "+fleet, err)
	}
	ns, err := e.readNodes(ctx)
	if err != nil {
		return nil, err
	}
	byService := map[string][]swarm.Task{}
	for _, t := range tasks {
		byService[t.ServiceID] = append(byService[t.ServiceID], t)
	}
	out := make([]runtime.Container, 0, len(services))
	for _, s := range services {
		out = append(out, fromService(s, latest(byService[s.ID]), ns))
	}
	return out, nil
}

// latest is the task created last, nil when there is none.
func latest(tasks []swarm.Task) *swarm.Task {
	var last *swarm.Task
	for i := range tasks {
		if last == nil || tasks[i].Meta.CreatedAt.After(last.Meta.CreatedAt) {
			last = &tasks[i]
		}
	}
	return last
}

// replicas is the service's wanted replica count.
func replicas(s swarm.Service) uint64 {
	if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		return *r.Replicas
	}
	return 0
}

// fromService is the service in the interface's words. The state follows
// the latest task, read against what the service wants:
//
//   - no task yet: created;
//   - a task on its way (pending … starting): restarting while the service
//     wants it, since Swarm is bringing it up on its own;
//   - running: running (also while a stop is under way);
//   - ended: exited, unless the service still wants a replica and its
//     restart policy will make another, which is restarting.
//
// Status says which node the task is on, its state and its error; Task
// says the same for a program, with the node's state.
func fromService(s swarm.Service, t *swarm.Task, ns nodes) runtime.Container {
	c := runtime.Container{
		ID:       s.ID,
		Name:     s.Spec.Name,
		Labels:   s.Spec.Labels,
		ExitCode: -1,
		Created:  s.Meta.CreatedAt,
		State:    runtime.StateCreated,
		Task:     taskView(s, t, ns),
	}
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		c.Image = cs.Image
	}
	want := replicas(s) > 0
	if t == nil {
		c.Status = "no task"
		if want {
			c.State, c.Status = runtime.StateRestarting, "no task yet"
		}
		return c
	}
	if cs := t.Status.ContainerStatus; cs != nil && !live(t.Status.State) {
		c.ExitCode = cs.ExitCode
	}
	switch st := t.Status.State; {
	case st == swarm.TaskStateRunning:
		c.State = runtime.StateRunning
	case live(st):
		c.State = runtime.StateCreated
		if want {
			c.State = runtime.StateRestarting
		}
	default:
		c.State = runtime.StateExited
		if want && restarts(s, c.ExitCode) {
			c.State = runtime.StateRestarting
		}
	}
	c.Status = taskStatus(t, c.Task.Node)
	return c
}

// live reports whether a task in state st has not ended.
func live(st swarm.TaskState) bool {
	switch st {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
		swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return false
	}
	return true
}

// restarts reports whether Swarm will start another task after one ended
// with code.
func restarts(s swarm.Service, code int) bool {
	p := s.Spec.TaskTemplate.RestartPolicy
	if p == nil {
		return true // Swarm's default is any
	}
	switch p.Condition {
	case swarm.RestartPolicyConditionNone:
		return false
	case swarm.RestartPolicyConditionOnFailure:
		return code != 0
	}
	return true
}

// taskStatus is a short description of a task: "running on node
// nectar-node2", with its exit code and error when it ended. host is the
// node's host name when known; otherwise the node's ID stands in.
func taskStatus(t *swarm.Task, host string) string {
	var b strings.Builder
	b.WriteString(string(t.Status.State))
	switch {
	case t.NodeID != "" && host != "":
		b.WriteString(" on node " + host)
	case t.NodeID != "":
		b.WriteString(" on node " + short(t.NodeID))
	}
	if cs := t.Status.ContainerStatus; cs != nil && !live(t.Status.State) {
		b.WriteString(" (exit " + strconv.Itoa(cs.ExitCode) + ")")
	}
	if t.Status.Err != "" {
		b.WriteString(": " + t.Status.Err)
	}
	return b.String()
}

// Create makes the bot's service with no replica: the bot does not run
// until Start. The service's spec is what the single engine gives a
// container (see serviceSpec), its files mounted from secrets and configs
// made first (see attachFiles), pinned to spec.Node or else to the node
// place chooses. A name in use is ErrConflict. A missing image is not
// found here: each node looks for it only when it starts the task, and
// Start reports that.
func (e *Engine) Create(ctx context.Context, spec runtime.Spec) (string, error) {
	op := "create service " + spec.Name
	if spec.Name == "" || spec.Image == "" {
		return "", fmt.Errorf("%s: the spec needs a name and an image", op)
	}
	svc, err := e.serviceSpec(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	objs, err := e.attachFiles(ctx, spec, svc.TaskTemplate.ContainerSpec)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	id, err := e.createPlaced(ctx, spec, svc)
	if err != nil {
		// Objects named for this service that no service uses.
		e.undo(ctx, objs)
		return "", err
	}
	return id, nil
}

// createPlaced creates the service, first pinning it to a node of place's
// choice when the spec names none.
func (e *Engine) createPlaced(ctx context.Context, spec runtime.Spec, svc swarm.ServiceSpec) (string, error) {
	op := "create service " + spec.Name
	e.placeMu.Lock()
	defer e.placeMu.Unlock()
	if spec.Node == "" {
		host, err := e.place(ctx, spec.Labels[runtime.LabelFleet])
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		svc.TaskTemplate.Placement = pin(host)
	}
	resp, err := e.cli.ServiceCreate(ctx, svc, swarm.ServiceCreateOptions{})
	if err != nil {
		return "", withoutEnv(wrap(op, err), spec.Env)
	}
	return resp.ID, nil
}

// serviceSpec is the Swarm form of spec:
//
//   - labels on the service only: the task containers carry Swarm's own
//     (com.docker.swarm.service.name, …), never nectar's, so a nectar run
//     against a node's engine directly cannot take them for its own;
//   - a TTY and open stdin, no init process, the stop grace period from
//     StopTimeout, rotated json-file logs, limits, the restart policy;
//   - a mount whose Source is an absolute path binds that path of the node
//     (on one machine, every node's); any other Source names a local
//     volume on the node, created on first use with the fleet's labels,
//     and kept when the service goes;
//   - Node pins the service with node.hostname==Node (Create and Update
//     pin it when Node is empty, see place);
//   - an update stops the old task before it starts the new one, so two
//     copies of a bot never trade at once.
func (e *Engine) serviceSpec(ctx context.Context, spec runtime.Spec) (swarm.ServiceSpec, error) {
	grace := spec.StopTimeout
	if grace <= 0 {
		grace = DefaultStopTimeout
	}
	// Whole seconds, as the single engine rounds them.
	grace = time.Duration(math.Ceil(grace.Seconds())) * time.Second
	restart, err := restartPolicy(spec.Restart)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	nets, err := e.networks(ctx, spec.Network)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	logSize, logFiles := spec.LogMaxSize, spec.LogMaxFiles
	if logSize == "" {
		logSize = DefaultLogMaxSize
	}
	if logFiles <= 0 {
		logFiles = DefaultLogMaxFiles
	}
	noInit := false
	cs := &swarm.ContainerSpec{
		Image:           spec.Image,
		Args:            spec.Cmd,
		Env:             spec.Env,
		TTY:             true,
		OpenStdin:       true,
		Init:            &noInit,
		StopGracePeriod: &grace,
	}
	for _, m := range spec.Mounts {
		mm := mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if !strings.HasPrefix(m.Source, "/") {
			mm.Type = mount.TypeVolume
			mm.VolumeOptions = &mount.VolumeOptions{Labels: map[string]string{
				runtime.LabelFleet: spec.Labels[runtime.LabelFleet],
				runtime.LabelBot:   spec.Labels[runtime.LabelBot],
			}}
		}
		cs.Mounts = append(cs.Mounts, mm)
	}
	var zero uint64
	out := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: spec.Name, Labels: spec.Labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			RestartPolicy: restart,
			Networks:      nets,
			LogDriver: &swarm.Driver{Name: "json-file", Options: map[string]string{
				"max-size": logSize, "max-file": strconv.Itoa(logFiles),
			}},
		},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
		UpdateConfig:   &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst, FailureAction: swarm.UpdateFailureActionPause},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst},
	}
	if spec.NanoCPUs > 0 || spec.MemoryBytes > 0 {
		out.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: spec.NanoCPUs, MemoryBytes: spec.MemoryBytes}}
	}
	if spec.Node != "" {
		out.TaskTemplate.Placement = pin(spec.Node)
	}
	return out, nil
}

// networks attaches the service to the named network. Swarm knows the
// host network and the cluster's overlay networks by their Swarm IDs,
// which the manager resolves from the name. It has no "none" and no
// "bridge" to attach to: a task without a network gets the node's default
// bridge, so both mean no attachment.
func (e *Engine) networks(ctx context.Context, name string) ([]swarm.NetworkAttachmentConfig, error) {
	switch name {
	case "", "none", "bridge", "default":
		return nil, nil
	}
	n, err := e.cli.NetworkInspect(ctx, name, network.InspectOptions{Scope: "swarm"})
	if err != nil {
		return nil, wrap("find Swarm network "+name, err)
	}
	return []swarm.NetworkAttachmentConfig{{Target: n.ID}}, nil
}

// restartPolicy maps Docker's restart policies to Swarm's conditions: no
// is none, always and unless-stopped are any (a stopped bot has no replica,
// so nothing restarts it), on-failure[:N] is on-failure with N attempts.
func restartPolicy(s string) (*swarm.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := &swarm.RestartPolicy{}
	switch name {
	case "", "no":
		p.Condition = swarm.RestartPolicyConditionNone
	case "always", "unless-stopped":
		p.Condition = swarm.RestartPolicyConditionAny
	case "on-failure":
		p.Condition = swarm.RestartPolicyConditionOnFailure
	default:
		return nil, fmt.Errorf("restart policy %q: want no, always, unless-stopped or on-failure[:N]", s)
	}
	if hasCount {
		n, err := strconv.ParseUint(count, 10, 64)
		if p.Condition != swarm.RestartPolicyConditionOnFailure || err != nil {
			return nil, fmt.Errorf("restart policy %q: only on-failure takes a count, a whole number like on-failure:5", s)
		}
		p.MaxAttempts = &n
	}
	return p, nil
}

// scale sets the service's replica count, retrying when another writer
// updated the service between the read and the write. It returns the
// service as read before the update, and whether anything changed.
func (e *Engine) scale(ctx context.Context, id string, n uint64) (swarm.Service, bool, error) {
	op := fmt.Sprintf("scale service %s to %d", id, n)
	for attempt := 0; ; attempt++ {
		s, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err != nil {
			return s, false, wrap(op, err)
		}
		if s.Spec.Mode.Replicated == nil {
			return s, false, fmt.Errorf("%s: not a replicated service", op)
		}
		if replicas(s) == n {
			return s, false, nil
		}
		spec := s.Spec
		rep := *spec.Mode.Replicated
		rep.Replicas = &n
		spec.Mode.Replicated = &rep
		_, err = e.cli.ServiceUpdate(ctx, id, s.Version, spec, swarm.ServiceUpdateOptions{})
		if err == nil {
			return s, true, nil
		}
		// "update out of sequence": someone else wrote in between.
		if attempt < 5 && strings.Contains(err.Error(), "out of sequence") {
			continue
		}
		return s, false, withoutEnv(wrap(op, err), envOf(s))
	}
}

func envOf(s swarm.Service) []string {
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Env
	}
	return nil
}

// tasks lists the service's tasks.
func (e *Engine) tasks(ctx context.Context, id string) ([]swarm.Task, error) {
	ts, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		return nil, wrap("list tasks of service "+id, err)
	}
	return ts, nil
}

// Start gives the service its replica and waits, up to two minutes, for
// its task to run. A task that ends instead (the node lacks the image, the
// bot exits at once) is an error carrying Swarm's reason; a missing image
// is ErrNotFound. Starting a running service does nothing.
func (e *Engine) Start(ctx context.Context, id string) error {
	op := "start service " + id
	before, _, err := e.scale(ctx, id, 1)
	if err != nil {
		return err
	}
	since := time.Now()
	if t := latestOf(e.tasks(ctx, id)); t != nil {
		since = t.Meta.CreatedAt
	}
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	for {
		ts, err := e.tasks(ctx, id)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.DesiredState != swarm.TaskStateRunning && t.Status.State != swarm.TaskStateRunning {
				continue
			}
			switch {
			case t.Status.State == swarm.TaskStateRunning:
				return nil
			case !live(t.Status.State) && !t.Meta.CreatedAt.Before(since):
				return taskFailed(op, t, envOf(before))
			}
		}
		select {
		case <-ctx.Done():
			return notRunning(op, ts, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// taskFailed is the error of a task that ended when it should run, in
// Swarm's words; a node that lacks the image makes it ErrNotFound.
func taskFailed(op string, t swarm.Task, env []string) error {
	werr := &runtime.EngineError{Op: op, Err: errors.New(taskStatus(&t, ""))}
	if strings.Contains(t.Status.Err, "No such image") {
		werr.Kind = runtime.ErrNotFound
	}
	return withoutEnv(werr, env)
}

// notRunning is the error of a wait for a task to run that ran out.
func notRunning(op string, ts []swarm.Task, cause error) error {
	state := "no task"
	if last := latest(ts); last != nil {
		state = taskStatus(last, "")
	}
	return fmt.Errorf("%s: its task is not running (%w; last: %s): can a node that is up run it? (docker node ls, docker service ps)", op, cause, state)
}

func latestOf(ts []swarm.Task, err error) *swarm.Task {
	if err != nil {
		return nil
	}
	return latest(ts)
}

// Stop takes the service's replica away and waits for its task to end.
// Swarm stops a task with SIGTERM and kills it after the service's stop
// grace period (the spec's StopTimeout), whoever asked; a different
// timeout cannot be given to one stop without changing the service, so
// timeout only lengthens the wait, never shortens the grace period. A task
// that ended with 137 was killed. Stopping a stopped service does nothing.
func (e *Engine) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	op := "stop service " + id
	before, err := e.tasks(ctx, id)
	if err != nil {
		return runtime.Stopped{ExitCode: -1}, err
	}
	wasRunning := map[string]bool{}
	for _, t := range before {
		if t.Status.State == swarm.TaskStateRunning {
			wasRunning[t.ID] = true
		}
	}
	svc, _, err := e.scale(ctx, id, 0)
	if err != nil {
		return runtime.Stopped{ExitCode: -1}, err
	}
	ts, err := e.awaitNoTask(ctx, op, id, max(gracePeriod(svc), timeout)+stopMargin)
	if err != nil {
		return runtime.Stopped{ExitCode: -1}, err
	}
	out := runtime.Stopped{ExitCode: -1}
	if t := latest(ts); t != nil && t.Status.ContainerStatus != nil {
		out.ExitCode = t.Status.ContainerStatus.ExitCode
		out.Killed = wasRunning[t.ID] && out.ExitCode == runtime.KilledExitCode
	}
	return out, nil
}

// gracePeriod is how long Swarm lets the service's task wind down after
// SIGTERM before it kills it.
func gracePeriod(s swarm.Service) time.Duration {
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil && cs.StopGracePeriod != nil {
		return *cs.StopGracePeriod
	}
	return DefaultStopTimeout
}

// awaitNoTask waits, up to wait, until none of the service's tasks is
// alive, and returns the tasks as they ended.
func (e *Engine) awaitNoTask(ctx context.Context, op, id string, wait time.Duration) ([]swarm.Task, error) {
	deadline := time.Now().Add(wait)
	for {
		ts, err := e.tasks(ctx, id)
		if err != nil {
			return nil, err
		}
		var alive []string
		for _, t := range ts {
			if live(t.Status.State) {
				alive = append(alive, short(t.ID)+" "+string(t.Status.State))
			}
		}
		if len(alive) == 0 {
			return ts, nil
		}
		if time.Now().After(deadline) {
			sort.Strings(alive)
			return nil, fmt.Errorf("%s: tasks still not ended %s after the stop (%s): is their node reachable? (docker node ls)", op, wait, strings.Join(alive, ", "))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// Rename cannot be done: Swarm refuses to rename a service. The error
// wraps ErrUnsupported.
func (e *Engine) Rename(ctx context.Context, id, name string) error {
	return fmt.Errorf("rename service %s to %s: Swarm cannot rename a service: %w", id, name, ErrUnsupported)
}

// Signal cannot be done through a manager: Swarm has no call that reaches
// a task's process, only the engine of the node running it does. The
// error wraps ErrUnsupported.
func (e *Engine) Signal(ctx context.Context, id, signal string) error {
	return fmt.Errorf("signal %s to service %s: Swarm cannot signal a task's process through a manager: %w", signal, id, ErrUnsupported)
}

// Remove deletes a service that has no replica and no task still alive;
// otherwise it is ErrConflict. Swarm removes the service's containers;
// its volumes stay on their nodes. The secrets and configs labelled for
// the service go with it (see removeFiles).
func (e *Engine) Remove(ctx context.Context, id string) error {
	op := "remove service " + id
	s, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return wrap(op, err)
	}
	if replicas(s) > 0 {
		return &runtime.EngineError{Op: op, Kind: runtime.ErrConflict, Err: errors.New("the service still has a replica: stop it first")}
	}
	ts, err := e.tasks(ctx, id)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if live(t.Status.State) {
			return &runtime.EngineError{Op: op, Kind: runtime.ErrConflict, Err: fmt.Errorf("task %s is still %s", short(t.ID), t.Status.State)}
		}
	}
	if err := e.cli.ServiceRemove(ctx, id); err != nil {
		return wrap(op, err)
	}
	return e.removeFiles(ctx, s.Spec.Labels[runtime.LabelFleet], s.Spec.Name)
}

// ImagePresent reports whether the manager's engine has the image, or
// else whether its registry knows it. Each node looks for the image
// itself when it starts a task (pulling it when it can), so a manager can
// only answer for itself and for the registry.
func (e *Engine) ImagePresent(ctx context.Context, ref string) (bool, error) {
	ok, err := e.local.ImagePresent(ctx, ref)
	if ok || err != nil {
		return ok, err
	}
	if _, err := e.cli.DistributionInspect(ctx, ref, ""); err != nil {
		return false, nil
	}
	return true, nil
}

// Pull has the manager's engine pull the image, so a reference that no
// registry holds fails before any bot is stopped for it. The nodes pull
// for themselves when they start a task.
func (e *Engine) Pull(ctx context.Context, ref string) error {
	return e.local.Pull(ctx, ref)
}

// ImageFiles reads the image's files through the manager's own engine,
// as the single engine does; the manager needs the image.
func (e *Engine) ImageFiles(ctx context.Context, ref string, dirs []string) (*runtime.ImageFiles, error) {
	return e.local.ImageFiles(ctx, ref, dirs)
}

// Inspect reads when the service's task started and how many tasks Swarm
// started after the first (its restarts, within the task history Swarm
// keeps: five by default).
func (e *Engine) Inspect(ctx context.Context, id string) (runtime.Inspection, error) {
	ts, err := e.tasks(ctx, id)
	if err != nil {
		return runtime.Inspection{}, err
	}
	var out runtime.Inspection
	if t := latest(ts); t != nil && t.Status.State == swarm.TaskStateRunning {
		out.StartedAt = t.Status.Timestamp
	}
	if len(ts) > 1 {
		out.RestartCount = len(ts) - 1
	}
	return out, nil
}

// Task is where a bot's current task runs and how it is doing.
type Task struct {
	ID string
	// NodeID and Hostname name the node Swarm placed the task on.
	NodeID   string
	Hostname string
	State    string
	Err      string
	// ContainerID is the task's container on that node's engine.
	ContainerID string
}

// Task returns the service's latest task, with its node's host name; ok
// is false when the service has none yet.
func (e *Engine) Task(ctx context.Context, id string) (Task, bool, error) {
	ts, err := e.tasks(ctx, id)
	if err != nil {
		return Task{}, false, err
	}
	t := latest(ts)
	if t == nil {
		return Task{}, false, nil
	}
	out := Task{ID: t.ID, NodeID: t.NodeID, State: string(t.Status.State), Err: t.Status.Err}
	if t.Status.ContainerStatus != nil {
		out.ContainerID = t.Status.ContainerStatus.ContainerID
	}
	if t.NodeID != "" {
		n, _, err := e.cli.NodeInspectWithRaw(ctx, t.NodeID)
		if err != nil {
			return out, true, wrap("inspect node "+t.NodeID, err)
		}
		out.Hostname = n.Description.Hostname
	}
	return out, true, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
