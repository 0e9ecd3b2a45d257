// Package runtime is nectar's view of a container engine, in nectar's own
// words: list this fleet's containers, create, start, stop and remove one,
// make sure an image is present, and watch for changes. The Docker engine
// implements it (runtime/docker); an in-memory fake with fault injection
// (runtime/fake) serves the reconciler's tests.
package runtime

import (
	"context"
	"errors"
	"time"
)

// Labels nectar puts on every container it creates. A container without
// LabelFleet set to this fleet's name is never touched.
const (
	LabelFleet    = "nectar.fleet"
	LabelBot      = "nectar.bot"
	LabelRevision = "nectar.revision"
	LabelHash     = "nectar.hash"
	// LabelLaunch says how the container runs Hummingbot (hbot or
	// classic), so a stop of a bot no longer in the source still knows
	// whether it can be graceful.
	LabelLaunch = "nectar.launch"
	// LabelAccount and LabelConnectors name the bot's account and its
	// connectors (names only), so stops are bounded per account and a
	// kill can say where open orders may remain, even for a pruned bot.
	LabelAccount    = "nectar.account"
	LabelConnectors = "nectar.connectors"
	// LabelOwner is the identity of the state dir that made the container
	// (internal/owner): two fleets of one name on one host never act on
	// each other's containers. LabelStateDir names that state dir, so a
	// conflict can say who owns the container.
	LabelOwner    = "nectar.owner"
	LabelStateDir = "nectar.state-dir"
)

// Container states, as the engine reports them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StateRestarting = "restarting"
	StatePaused     = "paused"
	StateExited     = "exited"
	StateDead       = "dead"
	StateRemoving   = "removing"
)

// Container is one container of the fleet as observed.
type Container struct {
	ID     string
	Name   string // without Docker's leading "/"
	Image  string
	Labels map[string]string
	State  string
	// ExitCode is the last exit code of a container that is not running,
	// when the engine says it (-1 when unknown).
	ExitCode int
	// Status is the engine's own short description, e.g. "Exited (1) 2 minutes ago".
	Status  string
	Created time.Time
	// Task is set by a cluster engine (Swarm): where the bot's current
	// task is placed and how it does. Nil on a single engine.
	Task *Task
}

// Task is a cluster's view of the one task that runs a bot.
type Task struct {
	// Node is the host name of the node the task is placed on (or pinned
	// to, when it has no task yet); NodeState is that node's state as the
	// cluster sees it: ready, down, disconnected or unknown.
	Node      string
	NodeState string
	// State is the task's state (new … running, complete, failed,
	// rejected, shutdown, orphaned) and Err its last error, as the
	// cluster says them.
	State string
	Err   string
}

// NodeReady reports whether the task's node is up, as far as the cluster
// knows; a task not yet placed counts as ready.
func (t *Task) NodeReady() bool {
	return t == nil || t.Node == "" || t.NodeState == "" || t.NodeState == "ready"
}

// Bot returns the bot the container belongs to (its nectar.bot label).
func (c Container) Bot() string { return c.Labels[LabelBot] }

// Hash returns the digest of what the container was created from.
func (c Container) Hash() string { return c.Labels[LabelHash] }

// Running reports whether the container's process is up.
func (c Container) Running() bool { return c.State == StateRunning || c.State == StateRestarting }

// Mount binds a host folder into the container.
type Mount struct {
	Source string // host path
	Target string // path in the container
	// ReadOnly keeps the container from writing through the mount.
	ReadOnly bool
}

// Spec is everything a container is created from.
type Spec struct {
	Name   string
	Image  string
	Env    []string // KEY=VALUE, sorted by the caller
	Mounts []Mount
	Labels map[string]string
	// Network is a Docker network mode: host, bridge, none or a network name.
	Network string
	// Restart is a Docker restart policy: no, always, unless-stopped, on-failure[:N].
	Restart string
	// NanoCPUs and MemoryBytes limit the container; 0 means unlimited.
	NanoCPUs    int64
	MemoryBytes int64
	// The container gets a TTY and an open stdin, so `docker attach`
	// reaches Hummingbot's console, and json-file logs rotated at
	// LogMaxSize × LogMaxFiles.
	LogMaxSize  string
	LogMaxFiles int
	// Cmd replaces the image's command (exec form, no shell); nil keeps
	// the image's own.
	Cmd []string
	// StopTimeout is how long the engine waits after SIGTERM before it
	// kills the container, for every stop, nectar's or anyone's.
	StopTimeout time.Duration
	// Node pins the bot to one node of a cluster, by the node's host name
	// (Swarm's node.hostname), so that its data stays where it ran. Empty
	// leaves the choice to the cluster; a single engine ignores it.
	Node string
	// Files are handed to the container by content, for an engine whose
	// containers cannot see this host's folders (Swarm): each is mounted
	// read-only at its Target. A single engine refuses them.
	Files []File
}

// File is one file given to a container by content.
type File struct {
	// Target is the file's absolute path in the container.
	Target string
	// Digest names the content: equal digests mean equal content as far
	// as nectar is concerned, so an engine that stores files by name
	// (Swarm's secrets and configs cannot change) makes a new one only
	// for a new digest. Encrypted files differ byte for byte on every
	// encryption; their digest is of what was encrypted, keyed.
	Digest string
	Data   []byte
	// Secret files are kept encrypted by the cluster and put only on the
	// node running the container, in memory (Swarm secrets); others may
	// be stored in the clear (Swarm configs).
	Secret bool
}

// KilledExitCode is a container's exit code when the engine killed it
// (128 + SIGKILL).
const KilledExitCode = 137

// Stopped says how a stop ended.
type Stopped struct {
	// Killed is set when this stop ended with the engine killing the
	// container: it did not exit within its timeout, so whatever its
	// stop path does (cancel orders) did not finish.
	Killed bool
	// ExitCode is the container's exit code after the stop, -1 when
	// unknown.
	ExitCode int
}

// Event is a change to one of the fleet's containers. Events only ask for
// a new pass; nothing is concluded from their content.
type Event struct {
	ContainerID string
	Bot         string
	Action      string // create, start, die, stop, destroy, ...
	Time        time.Time
}

// Errors a Runtime wraps so callers can branch on them with errors.Is.
var (
	// ErrNotFound means the container or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the engine refused because of the container's
	// current state: its name is taken (by any container, nectar's or
	// not), or it is still running and cannot be removed.
	ErrConflict = errors.New("conflict")
)

// Runtime is a container engine.
type Runtime interface {
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// List returns every container, in any state, labelled with this
	// fleet's name, in one call to the engine.
	List(ctx context.Context, fleet string) ([]Container, error)
	// Create makes a container from spec and returns its ID. A name
	// already in use is ErrConflict; a missing image is ErrNotFound.
	Create(ctx context.Context, spec Spec) (string, error)
	// Rename gives a container another name; a name in use is
	// ErrConflict.
	Rename(ctx context.Context, id, name string) error
	// Start starts a container; starting a running one does nothing.
	Start(ctx context.Context, id string) error
	// Stop asks the container to stop (SIGTERM), killing it after timeout
	// (0: the container's own stop timeout), and says whether it had to
	// be killed. Stopping a container that is not running does nothing.
	Stop(ctx context.Context, id string, timeout time.Duration) (Stopped, error)
	// Signal sends a signal (by name, e.g. "USR1") to the container's main
	// process. Hummingbot's engine writes a fresh status snapshot on
	// SIGUSR1; nothing else is ever sent this way.
	Signal(ctx context.Context, id, signal string) error
	// Remove deletes a stopped container (never its mounted folders); a
	// running one is ErrConflict.
	Remove(ctx context.Context, id string) error
	// ImagePresent reports whether the image is available locally.
	ImagePresent(ctx context.Context, ref string) (bool, error)
	// Pull fetches an image; its error carries the engine's reason.
	Pull(ctx context.Context, ref string) error
	// Events streams container events of this fleet until ctx ends. It
	// returns once the engine has accepted the subscription, so a change
	// made after it returns is reported. When the stream ends the event
	// channel is closed; if it ended because it broke (the engine went
	// away) rather than because ctx ended, the error channel first
	// receives that one error. The error channel is never closed.
	Events(ctx context.Context, fleet string) (<-chan Event, <-chan error)
	// ImageFiles returns the regular files a present image holds under
	// each of dirs (absolute paths in the image), read without running
	// anything. A folder the image lacks contributes nothing.
	ImageFiles(ctx context.Context, ref string, dirs []string) (*ImageFiles, error)
}

// Updater is a Runtime that changes a container in place instead of
// replacing it: Swarm updates a service, whose name cannot change, so the
// reconciler's create-aside-and-rename recreate does not apply. Update
// gives the container spec (same name) and, when run is set, waits until
// it runs; the old process is stopped (within its stop timeout) before the
// new one starts, so two copies of a bot never trade at once. The result
// says how the old one's stop ended.
type Updater interface {
	Update(ctx context.Context, id string, spec Spec, run bool) (Stopped, error)
}

// ImageFiles are files read out of an image, keyed by their absolute path
// in the image ("/home/hummingbot/scripts/x.py"). They are never changed
// after they are returned, so one value may be shared.
type ImageFiles struct {
	// ImageID names the image content the files came from.
	ImageID string
	Files   map[string][]byte
}

// Limits on what ImageFiles reads: Hummingbot's own scripts and
// controllers come to a few hundred kilobytes; more is not an image
// nectar should copy into every bot.
const (
	MaxImageFiles     = 5000
	MaxImageFileBytes = 64 << 20
)
