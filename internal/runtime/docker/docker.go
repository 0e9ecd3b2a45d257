// Package docker implements nectar's runtime.Runtime with the Docker Engine
// API. The client negotiates the API version with the engine, so an engine
// older than the SDK (Debian's 20.10, API 1.41) is fine.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// DefaultStopTimeout is the stop timeout of a container whose spec sets
// none: how long the engine waits after SIGTERM before it kills the
// container when nobody says otherwise (`docker stop` by hand, the engine
// shutting down, Stop with a zero timeout). Docker's own 10 s is far too
// short for Hummingbot: a bot run by hbot stops its executors (up to 30 s)
// and then cancels its open orders (up to 20 s) before it exits. nectar
// sets each bot's own (fleet.DefaultStopTimeout unless the bot says).
// A bot run by the official image's own command never gets that far: its
// main process is a shell that ignores SIGTERM, so it is always killed.
const DefaultStopTimeout = 90 * time.Second

// Log rotation used when the spec leaves it unset: 10 MB × 5 files.
const (
	DefaultLogMaxSize  = "10m"
	DefaultLogMaxFiles = 5
)

// Engine is a Docker engine reached through the Engine API. It is safe
// for concurrent use.
type Engine struct {
	cli   *client.Client
	http  *http.Client
	calls countingTransport

	images imageReads
}

var _ runtime.Runtime = (*Engine)(nil)

// New connects to the engine the environment names (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION; the local socket
// by default) and negotiates the API version with one ping, so it fails
// when the engine does not answer.
func New(ctx context.Context) (*Engine, error) {
	return newEngine(ctx, client.FromEnv)
}

// newEngine is New with the client's options; tests point it elsewhere.
func newEngine(ctx context.Context, opts ...client.Opt) (*Engine, error) {
	e := &Engine{}
	opts = append(opts, client.WithAPIVersionNegotiation(), e.countCalls)
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot make a Docker client: %w", err)
	}
	e.cli = cli
	ping, err := cli.Ping(ctx)
	if err != nil {
		e.Close()
		return nil, wrap("ping docker engine at "+cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersionPing(ping)
	return e, nil
}

// countCalls is a client option that routes every request through the
// engine's counter. It must come after the options that configure the
// transport (host, TLS), which need the SDK's own *http.Transport.
func (e *Engine) countCalls(c *client.Client) error {
	hc := c.HTTPClient()
	e.calls.next = hc.Transport
	hc.Transport = &e.calls
	e.http = hc
	return client.WithHTTPClient(hc)(c)
}

// Close releases the engine's idle connections.
func (e *Engine) Close() error {
	if e.http != nil {
		e.http.CloseIdleConnections()
	}
	return e.cli.Close()
}

// APIVersion is the Engine API version in use, as negotiated.
func (e *Engine) APIVersion() string { return e.cli.ClientVersion() }

// Calls returns how many requests were made to the engine so far.
func (e *Engine) Calls() Calls { return e.calls.load() }

// Ping checks that the engine answers.
func (e *Engine) Ping(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx); err != nil {
		return wrap("ping docker engine at "+e.cli.DaemonHost(), err)
	}
	return nil
}

// List returns the fleet's containers, in any state, with one request.
func (e *Engine) List(ctx context.Context, fleet string) ([]runtime.Container, error) {
	if fleet == "" {
		return nil, errors.New("cannot list containers: empty fleet name")
	}
	summaries, err := e.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+fleet)),
	})
	if err != nil {
		return nil, wrap("list containers of fleet "+fleet, err)
	}
	out := make([]runtime.Container, 0, len(summaries))
	for _, s := range summaries {
		out = append(out, fromSummary(s))
	}
	return out, nil
}

func fromSummary(s container.Summary) runtime.Container {
	var name string
	if len(s.Names) > 0 {
		name = strings.TrimPrefix(s.Names[0], "/")
	}
	return runtime.Container{
		ID:       s.ID,
		Name:     name,
		Image:    s.Image,
		Labels:   s.Labels,
		State:    string(s.State),
		ExitCode: exitCode(s.Status),
		Status:   s.Status,
		Created:  time.Unix(s.Created, 0),
	}
}

// exitCode reads the last exit code out of the engine's status text,
// "Exited (137) 2 minutes ago" or "Restarting (1) 5 seconds ago"; the
// list endpoint has no field for it. -1 when the text has none.
func exitCode(status string) int {
	for _, prefix := range []string{"Exited (", "Restarting ("} {
		rest, ok := strings.CutPrefix(status, prefix)
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, ")")
		if !ok {
			return -1
		}
		code, err := strconv.Atoi(num)
		if err != nil {
			return -1
		}
		return code
	}
	return -1
}

// Create makes the container spec describes, with everything product.md
// §3 asks for: bind mounts, env, a TTY and open stdin (so `docker attach`
// reaches Hummingbot's console), rotated json-file logs, the restart
// policy, resource limits, the network and nectar's labels.
func (e *Engine) Create(ctx context.Context, spec runtime.Spec) (string, error) {
	op := "create container " + spec.Name
	if spec.Name == "" || spec.Image == "" {
		return "", fmt.Errorf("%s: the spec needs a name and an image", op)
	}
	if len(spec.Files) > 0 {
		// A single engine's containers read the instance folder nectar
		// renders on this host; files by content are for clusters.
		return "", fmt.Errorf("%s: the single engine takes files as mounts of the instance folder, not by content", op)
	}
	restart, err := restartPolicy(spec.Restart)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	cfg, host := containerConfig(spec, restart)
	resp, err := e.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.Name)
	if err != nil {
		return "", withoutEnv(wrap(op, err), spec.Env)
	}
	return resp.ID, nil
}

// containerConfig is the engine's form of spec.
func containerConfig(spec runtime.Spec, restart container.RestartPolicy) (*container.Config, *container.HostConfig) {
	timeout := spec.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	stop := int(math.Ceil(timeout.Seconds()))
	cfg := &container.Config{
		Image:       spec.Image,
		Cmd:         spec.Cmd,
		Env:         spec.Env,
		Labels:      spec.Labels,
		Tty:         true,
		OpenStdin:   true,
		StopTimeout: &stop,
	}
	logSize, logFiles := spec.LogMaxSize, spec.LogMaxFiles
	if logSize == "" {
		logSize = DefaultLogMaxSize
	}
	if logFiles <= 0 {
		logFiles = DefaultLogMaxFiles
	}
	// No init process, whatever the engine's default: the bot must be
	// PID 1, so that SIGTERM reaches it and a signal it has no handler for
	// yet (nectar's SIGUSR1 during its start) is dropped, not fatal.
	noInit := false
	host := &container.HostConfig{
		Init:          &noInit,
		NetworkMode:   container.NetworkMode(spec.Network),
		RestartPolicy: restart,
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": logSize, "max-file": strconv.Itoa(logFiles)},
		},
		Resources: container.Resources{NanoCPUs: spec.NanoCPUs, Memory: spec.MemoryBytes},
	}
	for _, m := range spec.Mounts {
		// A bind mount (not a -v style bind) fails when its source is
		// missing instead of creating an empty root-owned folder there.
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return cfg, host
}

// restartPolicy parses Docker's CLI syntax: no, always, unless-stopped,
// on-failure[:max-retries]. Empty means no.
func restartPolicy(s string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	var p container.RestartPolicy
	switch name {
	case "", "no":
		p.Name = container.RestartPolicyDisabled
	case "always":
		p.Name = container.RestartPolicyAlways
	case "unless-stopped":
		p.Name = container.RestartPolicyUnlessStopped
	case "on-failure":
		p.Name = container.RestartPolicyOnFailure
	default:
		return p, fmt.Errorf("restart policy %q: want no, always, unless-stopped or on-failure[:N]", s)
	}
	if hasCount {
		n, err := strconv.Atoi(count)
		if p.Name != container.RestartPolicyOnFailure || err != nil || n < 0 {
			return p, fmt.Errorf("restart policy %q: only on-failure takes a count, a whole number like on-failure:5", s)
		}
		p.MaximumRetryCount = n
	}
	return p, nil
}

// Start starts a container; the engine does nothing for a running one.
// A refused start may quote the container's environment (runc names the
// entry it could not pass on), so the error is cleaned of the container's
// own env, read back from the engine: the container may have been made
// from an earlier password than the one nectar holds now.
func (e *Engine) Start(ctx context.Context, id string) error {
	err := e.cli.ContainerStart(ctx, id, container.StartOptions{})
	if err == nil {
		return nil
	}
	werr := wrap("start container "+id, err)
	info, ierr := e.cli.ContainerInspect(ctx, id)
	if ierr != nil || info.Config == nil {
		// Without the env nothing can be matched: keep only the
		// classification, never the engine's words.
		return &runtime.EngineError{Op: werr.Op, Kind: werr.Kind, Err: errors.New("the engine refused the start (its message is withheld: the container's environment could not be read to clean it)")}
	}
	// Only the entries that may be secret: the image's own variables
	// (PATH, ...) are public, and masking them would garble the message.
	var secret []string
	for _, kv := range info.Config.Env {
		if k, _, _ := strings.Cut(kv, "="); scrub.SecretKey(k) {
			secret = append(secret, kv)
		}
	}
	return withoutEnv(werr, secret)
}

// Stop sends SIGTERM (or the image's stop signal) and kills the container
// after timeout, rounded up to whole seconds; 0 leaves it to the
// container's own stop timeout. The call returns once the container has
// stopped. It is read before and after: a container that was running and
// finished during this stop with 137 (SIGKILL) was killed by it. Only the
// engine's own times are compared, so a clock of nectar's that differs
// from the engine's (a remote DOCKER_HOST) cannot hide a kill.
func (e *Engine) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	var opts container.StopOptions
	if timeout > 0 {
		secs := int(math.Ceil(timeout.Seconds()))
		opts.Timeout = &secs
	}
	before, berr := e.cli.ContainerInspect(ctx, id)
	if err := e.cli.ContainerStop(ctx, id, opts); err != nil {
		return runtime.Stopped{ExitCode: -1}, wrap("stop container "+id, err)
	}
	after, err := e.cli.ContainerInspect(ctx, id)
	if err != nil || after.State == nil {
		// Stopped, but how is unknown: not reported as a kill.
		return runtime.Stopped{ExitCode: -1}, nil
	}
	out := runtime.Stopped{ExitCode: after.State.ExitCode}
	wasRunning := berr == nil && before.State != nil && before.State.Running
	finishedNow := berr == nil && before.State != nil && after.State.FinishedAt != before.State.FinishedAt
	out.Killed = wasRunning && finishedNow && after.State.ExitCode == runtime.KilledExitCode
	return out, nil
}

// Rename gives a container another name.
func (e *Engine) Rename(ctx context.Context, id, name string) error {
	if err := e.cli.ContainerRename(ctx, id, name); err != nil {
		return wrap("rename container "+id+" to "+name, err)
	}
	return nil
}

// Signal sends signal to the container's main process.
func (e *Engine) Signal(ctx context.Context, id, signal string) error {
	if err := e.cli.ContainerKill(ctx, id, signal); err != nil {
		return wrap("signal "+signal+" to container "+id, err)
	}
	return nil
}

// Remove deletes a container that is not running. It never removes
// volumes and never forces: a running container is an ErrConflict, so a
// caller that forgot to stop cannot kill a bot mid-order.
func (e *Engine) Remove(ctx context.Context, id string) error {
	err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{RemoveVolumes: false, Force: false})
	if err != nil {
		return wrap("remove container "+id, err)
	}
	return nil
}

// ImagePresent reports whether the engine has the image.
func (e *Engine) ImagePresent(ctx context.Context, ref string) (bool, error) {
	_, err := e.cli.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, wrap("inspect image "+ref, err)
}

// Pull fetches an image and waits for the pull to finish. The engine
// reports most failures in the stream after it has answered 200, so the
// stream is read to its end and its first error returned. Docker's own
// reader of that stream does the decoding; nothing is shown, so the
// progress it would print goes nowhere.
func (e *Engine) Pull(ctx context.Context, ref string) error {
	op := "pull image " + ref
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return wrap(op, err)
	}
	defer rc.Close()
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
	var inStream *jsonmessage.JSONError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inStream):
		// The engine's reason, in its words, as the stream's errorDetail.
		return wrap(op, errors.New(inStream.Message))
	default:
		return wrap(op, fmt.Errorf("cannot read the engine's progress: %w", err))
	}
}

// Events streams the fleet's container events. It returns once the engine
// has accepted the subscription.
func (e *Engine) Events(ctx context.Context, fleet string) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event, 64)
	errc := make(chan error, 1)
	if fleet == "" {
		errc <- errors.New("cannot watch events: empty fleet name")
		close(out)
		return out, errc
	}
	sub, cancel := context.WithCancel(ctx)
	msgs, errs := e.cli.Events(sub, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", runtime.LabelFleet+"="+fleet),
	)})
	go func() {
		defer cancel()
		defer close(out)
		for {
			select {
			case m := <-msgs:
				select {
				case out <- fromMessage(m):
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					errc <- wrap("docker event stream of fleet "+fleet+" broke", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}

func fromMessage(m events.Message) runtime.Event {
	t := time.Unix(m.Time, 0)
	if m.TimeNano != 0 {
		t = time.Unix(0, m.TimeNano)
	}
	// "exec_start: sh -c …" and "health_status: healthy" carry details
	// after the verb; an event only asks for a pass, so the verb will do.
	action, _, _ := strings.Cut(string(m.Action), ":")
	return runtime.Event{
		ContainerID: m.Actor.ID,
		Bot:         m.Actor.Attributes[runtime.LabelBot],
		Action:      action,
		Time:        t,
	}
}
