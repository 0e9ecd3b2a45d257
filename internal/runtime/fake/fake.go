// Package fake is an in-memory runtime.Runtime for tests. It mirrors the
// Docker engine's semantics where the reconciler depends on them (a taken
// name is a conflict, a running container cannot be removed, starting a
// running container or stopping a stopped one does nothing, a missing
// container or image is runtime.ErrNotFound), logs every call in order,
// and injects faults: the next calls of a method fail, or the whole engine
// is down. It never acts on its own: a container exits or disappears only
// when the test says so (Exit, Delete), and no restart policy is applied.
//
// A Runtime is safe for concurrent use. List costs one copy of the fleet's
// containers and no sorting, so it stays cheap at thousands of them.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/runtime"
)

// Method names a method of runtime.Runtime, for the call log and for
// fault injection.
type Method string

// The methods of runtime.Runtime.
const (
	Ping         Method = "Ping"
	List         Method = "List"
	Create       Method = "Create"
	Start        Method = "Start"
	Stop         Method = "Stop"
	Remove       Method = "Remove"
	ImagePresent Method = "ImagePresent"
	Pull         Method = "Pull"
	Events       Method = "Events"
	Signal       Method = "Signal"
	Rename       Method = "Rename"
	ImageFiles   Method = "ImageFiles"
	Update       Method = "Update"
)

// Mutates reports whether the method changes the engine's state, so a
// pass that should change nothing must not call it.
func (m Method) Mutates() bool {
	switch m {
	case Create, Start, Stop, Remove, Pull, Rename, Update:
		return true
	}
	return false
}

// Call is one call made to the Runtime.
type Call struct {
	Method Method
	// Arg is what the call was about: the container's name for Create,
	// the id given for Start, Stop and Remove, the image for ImagePresent
	// and Pull, the fleet for List and Events.
	Arg string
	// Timeout is Stop's timeout.
	Timeout time.Duration
	// Err is what the call returned.
	Err error
}

func (c Call) String() string {
	s := string(c.Method) + " " + c.Arg
	if c.Method == Stop {
		s += " " + c.Timeout.String()
	}
	if c.Err != nil {
		s += ": " + c.Err.Error()
	}
	return s
}

// ErrDown is what every call returns while the engine is down, unless Down
// was given another error.
var ErrDown = errors.New("cannot connect to the Docker daemon at unix:///var/run/docker.sock: is the docker daemon running?")

// Runtime is an in-memory engine. The zero value is not usable; call New.
type Runtime struct {
	mu       sync.Mutex
	seq      uint64
	byID     map[string]*entry
	byName   map[string]*entry
	fleets   map[string][]*entry // by nectar.fleet label, in creation order
	images   map[string]bool
	pullable map[string]bool
	log      []Call
	faults   map[Method][]fault
	down     error
	subs     map[*subscriber]struct{}
	// ignoreTerm marks images whose own command ignores SIGTERM.
	ignoreTerm map[string]bool
	// imageFiles holds what SetImageFiles gave, by normalized image name.
	imageFiles map[string]map[string][]byte
}

type entry struct {
	c    runtime.Container
	spec runtime.Spec
}

type fault struct {
	n   int // calls left to fail; negative: every call
	err error
}

var (
	_ runtime.Runtime = (*Runtime)(nil)
	// Every fake can also play a cluster engine, which updates containers
	// in place; a reconciler for a single engine never asks it to.
	_ runtime.Updater = (*Runtime)(nil)
)

// New returns an empty engine: no containers, no images.
func New() *Runtime {
	return &Runtime{
		byID:     map[string]*entry{},
		byName:   map[string]*entry{},
		fleets:   map[string][]*entry{},
		images:   map[string]bool{},
		pullable: map[string]bool{},
		faults:   map[Method][]fault{},
		subs:     map[*subscriber]struct{}{},
	}
}

// --- set-up and inspection, for tests ---

// AddImage makes images present, as if pulled or built earlier.
func (r *Runtime) AddImage(refs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range refs {
		r.images[normalize(ref)] = true
	}
}

// RemoveImage makes an image absent again.
func (r *Runtime) RemoveImage(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.images, normalize(ref))
}

// AddPullable makes Pull of these images succeed (and the image present);
// any other Pull fails, as every pull does with no registry.
func (r *Runtime) AddPullable(refs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range refs {
		r.pullable[normalize(ref)] = true
	}
}

// Seed adds a container as it is, as if made earlier, by nectar or by
// hand: of another fleet, without labels, in any state. It is not logged
// and sends no event. An empty ID is generated, an empty State is
// created. It returns the ID and panics if the name or ID is taken.
func (r *Runtime) Seed(c runtime.Container) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.ID == "" {
		c.ID = r.newID()
	}
	if c.State == "" {
		c.State = runtime.StateCreated
	}
	if c.Status == "" {
		c.Status = status(c.State, c.ExitCode)
	}
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	if r.byID[c.ID] != nil || r.byName[c.Name] != nil {
		panic(fmt.Sprintf("fake: Seed: container %q (%s) exists", c.Name, c.ID))
	}
	r.insert(&entry{c: c, spec: runtime.Spec{Name: c.Name, Image: c.Image, Labels: c.Labels}})
	return c.ID
}

// Exit makes a running container's process exit with code, as a crash
// or a `docker stop` by hand would; it sends a die event. The container
// stays exited: the fake applies no restart policy.
func (r *Runtime) Exit(id string, code int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.lookup(id)
	if e == nil {
		return noSuchContainer(id)
	}
	if !e.c.Running() && e.c.State != runtime.StatePaused {
		return fmt.Errorf("fake: Exit: container %s is %s, not running", id, e.c.State)
	}
	r.setState(e, runtime.StateExited, code)
	r.emit(e, "die")
	return nil
}

// Delete removes a container whatever its state, as `docker rm -f` by
// hand would; it sends kill and die (when it was running) and destroy.
func (r *Runtime) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.lookup(id)
	if e == nil {
		return noSuchContainer(id)
	}
	if e.c.Running() || e.c.State == runtime.StatePaused {
		r.emit(e, "kill")
		r.emit(e, "die")
	}
	r.delete(e)
	r.emit(e, "destroy")
	return nil
}

// Container returns a container by ID or name, as List would.
func (r *Runtime) Container(id string) (runtime.Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.lookup(id); e != nil {
		return e.c, true
	}
	return runtime.Container{}, false
}

// Spec returns what a container was created from (for a seeded one: its
// name, image and labels).
func (r *Runtime) Spec(id string) (runtime.Spec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.lookup(id); e != nil {
		return e.spec, true
	}
	return runtime.Spec{}, false
}

// SetTask sets what a cluster engine would say about the container's task
// (nil for none), as List then reports it.
func (r *Runtime) SetTask(id string, t *runtime.Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.lookup(id)
	if e == nil {
		return noSuchContainer(id)
	}
	if t != nil {
		cp := *t
		t = &cp
	}
	e.c.Task = t
	return nil
}

// Update changes a container in place as a cluster engine updates a
// service: the running process is stopped first (killed when its image
// ignores SIGTERM and it runs the image's own command), the spec replaced
// under the same name and ID, and the container started again when run is
// set. Labels and image follow the new spec; the task, if any, is kept.
func (r *Runtime) Update(ctx context.Context, id string, spec runtime.Spec, run bool) (runtime.Stopped, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Update, Arg: id}
	out := runtime.Stopped{ExitCode: -1}
	if err := r.begin(ctx, Update); err != nil {
		return out, r.record(call, err)
	}
	e := r.lookup(id)
	if e == nil {
		return out, r.record(call, fmt.Errorf("update service %s: %w", id, noSuchContainer(id)))
	}
	if !r.images[normalize(spec.Image)] {
		return out, r.record(call, fmt.Errorf("update service %s: No such image: %s: %w", id, spec.Image, runtime.ErrNotFound))
	}
	if e.c.Running() {
		out.ExitCode = 0
		if r.ignoreTerm[e.spec.Image] && e.spec.Cmd == nil {
			out = runtime.Stopped{Killed: true, ExitCode: runtime.KilledExitCode}
		}
		r.setState(e, runtime.StateExited, out.ExitCode)
	}
	spec.Name = e.c.Name
	spec.Env = slices.Clone(spec.Env)
	spec.Mounts = slices.Clone(spec.Mounts)
	spec.Files = slices.Clone(spec.Files)
	labels := make(map[string]string, len(spec.Labels))
	for k, v := range spec.Labels {
		labels[k] = v
	}
	spec.Labels = labels
	e.spec, e.c.Labels, e.c.Image = spec, labels, spec.Image
	r.emit(e, "update")
	if run {
		r.setState(e, runtime.StateRunning, -1)
		r.emit(e, "start")
	}
	return out, r.record(call, nil)
}

// Len returns how many containers exist, of every fleet.
func (r *Runtime) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// Log returns every call made since New or ResetLog, in order.
func (r *Runtime) Log() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// Mutations returns the successful calls, in order, of the methods that
// change the engine (Method.Mutates). A pass that found nothing to do
// makes none.
func (r *Runtime) Mutations() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.log {
		if c.Method.Mutates() && c.Err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many calls of m were made, failed ones included.
func (r *Runtime) Count(m Method) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.log {
		if c.Method == m {
			n++
		}
	}
	return n
}

// ResetLog forgets the calls made so far.
func (r *Runtime) ResetLog() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = nil
}

// --- fault injection ---

// Fail makes the next n calls of m fail with err, before they have any
// effect; n < 0 makes every call fail until Heal. Faults queued for the
// same method apply one after the other.
func (r *Runtime) Fail(m Method, n int, err error) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults[m] = append(r.faults[m], fault{n: n, err: err})
}

// Down makes the engine unreachable: every call fails with err (ErrDown
// when nil) and every event stream breaks with it, as when dockerd stops.
func (r *Runtime) Down(err error) {
	if err == nil {
		err = ErrDown
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = err
	for s := range r.subs {
		s.fail(err)
		delete(r.subs, s)
	}
}

// Up makes the engine reachable again after Down. Streams broken by Down
// stay broken: callers subscribe again.
func (r *Runtime) Up() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = nil
}

// BreakEvents breaks every open event stream with err, the engine staying
// up.
func (r *Runtime) BreakEvents(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		s.fail(err)
		delete(r.subs, s)
	}
}

// Heal clears every queued fault and brings the engine up.
func (r *Runtime) Heal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = nil
	clear(r.faults)
}

// --- runtime.Runtime ---

// Ping fails only when the engine is down or a fault says so.
func (r *Runtime) Ping(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.record(Call{Method: Ping}, r.begin(ctx, Ping))
}

// List returns the fleet's containers, newest first as Docker does.
// Their Labels maps are shared with the fake: read them, never write.
func (r *Runtime) List(ctx context.Context, fleet string) ([]runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: List, Arg: fleet}
	if err := r.begin(ctx, List); err != nil {
		return nil, r.record(call, err)
	}
	if fleet == "" {
		return nil, r.record(call, errors.New("cannot list containers: empty fleet name"))
	}
	es := r.fleets[fleet]
	out := make([]runtime.Container, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e.c
	}
	r.record(call, nil)
	return out, nil
}

// Create makes a container in the created state.
func (r *Runtime) Create(ctx context.Context, spec runtime.Spec) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Create, Arg: spec.Name}
	if err := r.begin(ctx, Create); err != nil {
		return "", r.record(call, err)
	}
	if spec.Image == "" {
		return "", r.record(call, fmt.Errorf("create container %s: no image", spec.Name))
	}
	if err := checkRestart(spec.Restart); err != nil {
		return "", r.record(call, fmt.Errorf("create container %s: %w", spec.Name, err))
	}
	if !r.images[normalize(spec.Image)] {
		return "", r.record(call, fmt.Errorf("create container %s: No such image: %s: %w", spec.Name, spec.Image, runtime.ErrNotFound))
	}
	id := r.newID()
	if spec.Name == "" {
		spec.Name = "fake_" + id[:12]
	}
	if other := r.byName[spec.Name]; other != nil {
		return "", r.record(call, fmt.Errorf("create container %s: Conflict. The container name \"/%s\" is already in use by container %q: %w",
			spec.Name, spec.Name, other.c.ID, runtime.ErrConflict))
	}
	spec.Env = slices.Clone(spec.Env)
	spec.Mounts = slices.Clone(spec.Mounts)
	labels := make(map[string]string, len(spec.Labels))
	for k, v := range spec.Labels {
		labels[k] = v
	}
	spec.Labels = labels
	e := &entry{spec: spec, c: runtime.Container{
		ID: id, Name: spec.Name, Image: spec.Image, Labels: labels,
		State: runtime.StateCreated, ExitCode: -1, Status: "Created", Created: time.Now(),
	}}
	r.insert(e)
	r.emit(e, "create")
	r.record(call, nil)
	return id, nil
}

// Start starts a created or exited container; a running one is left as
// it is (Docker answers 304).
func (r *Runtime) Start(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Start, Arg: id}
	if err := r.begin(ctx, Start); err != nil {
		return r.record(call, err)
	}
	e := r.lookup(id)
	switch {
	case e == nil:
		return r.record(call, fmt.Errorf("start container %s: %w", id, noSuchContainer(id)))
	case e.c.Running():
		return r.record(call, nil)
	case e.c.State == runtime.StatePaused:
		return r.record(call, fmt.Errorf("start container %s: cannot start a paused container, try unpause instead: %w", id, runtime.ErrConflict))
	}
	r.setState(e, runtime.StateRunning, -1)
	r.emit(e, "start")
	return r.record(call, nil)
}

// Stop stops a running container, which exits with code 0 (a process
// that handles SIGTERM), or is killed (exit 137) when its image was marked
// with IgnoreTerm; one not running is left as it is.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Stop, Arg: id, Timeout: timeout}
	if err := r.begin(ctx, Stop); err != nil {
		return runtime.Stopped{ExitCode: -1}, r.record(call, err)
	}
	e := r.lookup(id)
	if e == nil {
		return runtime.Stopped{ExitCode: -1}, r.record(call, fmt.Errorf("stop container %s: %w", id, noSuchContainer(id)))
	}
	if !e.c.Running() && e.c.State != runtime.StatePaused {
		return runtime.Stopped{ExitCode: e.c.ExitCode}, r.record(call, nil)
	}
	out := runtime.Stopped{}
	if r.ignoreTerm[e.spec.Image] && e.spec.Cmd == nil {
		out = runtime.Stopped{Killed: true, ExitCode: runtime.KilledExitCode}
	}
	r.setState(e, runtime.StateExited, out.ExitCode)
	r.emit(e, "kill")
	r.emit(e, "die")
	r.emit(e, "stop")
	return out, r.record(call, nil)
}

// IgnoreTerm marks an image whose own command ignores SIGTERM, as the
// official Hummingbot image's shell does: a container running that
// command (no Cmd in its spec) is killed by every stop.
func (r *Runtime) IgnoreTerm(image string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignoreTerm == nil {
		r.ignoreTerm = map[string]bool{}
	}
	r.ignoreTerm[image] = true
}

// Rename gives a container another name, refusing one in use.
func (r *Runtime) Rename(ctx context.Context, id, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Rename, Arg: id}
	if err := r.begin(ctx, Rename); err != nil {
		return r.record(call, err)
	}
	e := r.lookup(id)
	if e == nil {
		return r.record(call, fmt.Errorf("rename container %s: %w", id, noSuchContainer(id)))
	}
	if other, taken := r.byName[name]; taken && other != e {
		return r.record(call, fmt.Errorf("rename container %s: the name %s is already in use: %w", id, name, runtime.ErrConflict))
	}
	delete(r.byName, e.c.Name)
	e.c.Name, e.spec.Name = name, name
	r.byName[name] = e
	r.emit(e, "rename")
	return r.record(call, nil)
}

// Signal records a signal sent to a running container; the fake's
// containers do nothing with it.
func (r *Runtime) Signal(ctx context.Context, id, signal string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Signal, Arg: id}
	if err := r.begin(ctx, Signal); err != nil {
		return r.record(call, err)
	}
	e := r.lookup(id)
	switch {
	case e == nil:
		return r.record(call, fmt.Errorf("signal container %s: %w", id, noSuchContainer(id)))
	case !e.c.Running():
		return r.record(call, fmt.Errorf("signal container %s: container is not running: %w", id, runtime.ErrConflict))
	}
	return r.record(call, nil)
}

// Remove deletes a container that is not running.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Remove, Arg: id}
	if err := r.begin(ctx, Remove); err != nil {
		return r.record(call, err)
	}
	e := r.lookup(id)
	switch {
	case e == nil:
		return r.record(call, fmt.Errorf("remove container %s: %w", id, noSuchContainer(id)))
	case e.c.Running() || e.c.State == runtime.StatePaused:
		return r.record(call, fmt.Errorf("remove container %s: You cannot remove a %s container %s. Stop the container before attempting removal or force remove: %w",
			id, e.c.State, e.c.ID, runtime.ErrConflict))
	}
	r.delete(e)
	r.emit(e, "destroy")
	return r.record(call, nil)
}

// ImagePresent reports whether the image was added or pulled.
func (r *Runtime) ImagePresent(ctx context.Context, ref string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: ImagePresent, Arg: ref}
	if err := r.begin(ctx, ImagePresent); err != nil {
		return false, r.record(call, err)
	}
	r.record(call, nil)
	return r.images[normalize(ref)], nil
}

// SetImageFiles says which files an image holds (absolute paths), for
// ImageFiles. An image given none holds none.
func (r *Runtime) SetImageFiles(ref string, files map[string][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.imageFiles == nil {
		r.imageFiles = map[string]map[string][]byte{}
	}
	r.imageFiles[normalize(ref)] = files
}

// ImageFiles returns the files SetImageFiles gave that lie under dirs; an
// image that is not present is not found, as the engine says it.
func (r *Runtime) ImageFiles(ctx context.Context, ref string, dirs []string) (*runtime.ImageFiles, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: ImageFiles, Arg: ref}
	if err := r.begin(ctx, ImageFiles); err != nil {
		return nil, r.record(call, err)
	}
	name := normalize(ref)
	if !r.images[name] {
		return nil, r.record(call, fmt.Errorf("inspect image %s: No such image: %s: %w", ref, ref, runtime.ErrNotFound))
	}
	out := &runtime.ImageFiles{ImageID: "fake:" + name, Files: map[string][]byte{}}
	for p, data := range r.imageFiles[name] {
		for _, d := range dirs {
			if strings.HasPrefix(p, d+"/") {
				out.Files[p] = data
			}
		}
	}
	return out, r.record(call, nil)
}

// Pull makes a pullable image present and fails for any other, with a
// reason worded as the engine words it.
func (r *Runtime) Pull(ctx context.Context, ref string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: Pull, Arg: ref}
	if err := r.begin(ctx, Pull); err != nil {
		return r.record(call, err)
	}
	name := normalize(ref)
	if !r.pullable[name] {
		repo := name[:strings.LastIndexByte(name, ':')]
		return r.record(call, fmt.Errorf("pull image %s: Error response from daemon: pull access denied for %s, repository does not exist or may require 'docker login'", ref, repo))
	}
	r.images[name] = true
	return r.record(call, nil)
}

// Events streams the fleet's container events: create, start, kill, die,
// stop, destroy, as Docker sends them. Events are queued without bound, so
// the fake never blocks on a slow reader.
func (r *Runtime) Events(ctx context.Context, fleet string) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event)
	errc := make(chan error, 1)
	r.mu.Lock()
	call := Call{Method: Events, Arg: fleet}
	if ctx.Err() != nil {
		// Docker's stream ends without an error when ctx has ended.
		r.record(call, ctx.Err())
		r.mu.Unlock()
		close(out)
		return out, errc
	}
	err := r.begin(ctx, Events)
	if err == nil && fleet == "" {
		err = errors.New("cannot watch events: empty fleet name")
	}
	if err != nil {
		r.record(call, err)
		r.mu.Unlock()
		errc <- err
		close(out)
		return out, errc
	}
	s := &subscriber{fleet: fleet, wake: make(chan struct{}, 1)}
	r.subs[s] = struct{}{}
	r.record(call, nil)
	r.mu.Unlock()
	go func() {
		defer close(out)
		s.run(ctx, out, errc)
		r.mu.Lock()
		delete(r.subs, s)
		r.mu.Unlock()
	}()
	return out, errc
}

// --- internals; r.mu is held ---

// begin returns the error the call fails with before it has any effect:
// ctx ended, the engine down, or an injected fault.
func (r *Runtime) begin(ctx context.Context, m Method) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.down != nil {
		return r.down
	}
	q := r.faults[m]
	if len(q) == 0 {
		return nil
	}
	err := q[0].err
	if q[0].n > 0 {
		q[0].n--
		if q[0].n == 0 {
			r.faults[m] = q[1:]
		}
	}
	return err
}

func (r *Runtime) record(c Call, err error) error {
	c.Err = err
	r.log = append(r.log, c)
	return err
}

// newID returns a 64-hex-digit ID, like Docker's, whose 12-digit short
// form is unique too.
func (r *Runtime) newID() string {
	r.seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], r.seq)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// lookup finds a container by ID or by name, as the engine does.
func (r *Runtime) lookup(id string) *entry {
	if e := r.byID[id]; e != nil {
		return e
	}
	return r.byName[strings.TrimPrefix(id, "/")]
}

func (r *Runtime) insert(e *entry) {
	r.byID[e.c.ID] = e
	r.byName[e.c.Name] = e
	if fleet, ok := e.c.Labels[runtime.LabelFleet]; ok {
		r.fleets[fleet] = append(r.fleets[fleet], e)
	}
}

func (r *Runtime) delete(e *entry) {
	delete(r.byID, e.c.ID)
	delete(r.byName, e.c.Name)
	if fleet, ok := e.c.Labels[runtime.LabelFleet]; ok {
		es := r.fleets[fleet]
		if i := slices.Index(es, e); i >= 0 {
			r.fleets[fleet] = slices.Delete(es, i, i+1)
		}
		if len(r.fleets[fleet]) == 0 {
			delete(r.fleets, fleet)
		}
	}
}

func (r *Runtime) setState(e *entry, state string, exitCode int) {
	e.c.State = state
	e.c.ExitCode = exitCode
	e.c.Status = status(state, exitCode)
}

// emit sends an event to the streams of the container's fleet.
func (r *Runtime) emit(e *entry, action string) {
	fleet, ok := e.c.Labels[runtime.LabelFleet]
	if !ok {
		return
	}
	ev := runtime.Event{ContainerID: e.c.ID, Bot: e.c.Labels[runtime.LabelBot], Action: action, Time: time.Now()}
	for s := range r.subs {
		if s.fleet == fleet {
			s.push(ev)
		}
	}
}

// status is the engine's short description of a state.
func status(state string, exitCode int) string {
	switch state {
	case runtime.StateRunning:
		return "Up"
	case runtime.StateExited:
		return "Exited (" + strconv.Itoa(exitCode) + ")"
	case runtime.StateRestarting:
		return "Restarting (" + strconv.Itoa(exitCode) + ")"
	case runtime.StateCreated:
		return "Created"
	case runtime.StatePaused:
		return "Up (Paused)"
	case runtime.StateRemoving:
		return "Removal In Progress"
	case runtime.StateDead:
		return "Dead"
	}
	return state
}

func noSuchContainer(id string) error {
	return fmt.Errorf("no such container: %s: %w", id, runtime.ErrNotFound)
}

// normalize adds the tag Docker assumes, so "img" and "img:latest" are one
// image.
func normalize(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if !strings.Contains(last, ":") {
		return ref + ":latest"
	}
	return ref
}

// checkRestart accepts the restart policies Docker accepts.
func checkRestart(s string) error {
	name, count, hasCount := strings.Cut(s, ":")
	switch name {
	case "", "no", "always", "unless-stopped":
		if !hasCount {
			return nil
		}
	case "on-failure":
		if n, err := strconv.Atoi(count); !hasCount || (err == nil && n >= 0) {
			return nil
		}
	}
	return fmt.Errorf("invalid restart policy %q", s)
}

// subscriber is one event stream. Its queue has no bound, so emitting,
// done under the Runtime's lock, never waits for a reader.
type subscriber struct {
	fleet string
	wake  chan struct{} // capacity 1: "look at the queue"

	mu     sync.Mutex
	queue  []runtime.Event
	broken error
}

func (s *subscriber) push(ev runtime.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.broken == nil {
		s.broken = err
	}
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run delivers the queue until ctx ends or the stream breaks; events
// queued before the break are delivered first.
func (s *subscriber) run(ctx context.Context, out chan<- runtime.Event, errc chan<- error) {
	for {
		s.mu.Lock()
		q, broken := s.queue, s.broken
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range q {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		if broken != nil {
			errc <- broken
			return
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		}
	}
}
