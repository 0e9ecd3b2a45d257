package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// apply carries out the mutating actions. Creates and starts run on the
// shared workers. Stops, recreates, restarts and removals wait on a bot's
// graceful stop, which may take a minute or more, so they are bounded per
// account instead (max_parallel_restarts): a fleet-wide change takes about
// one stop per batch, and one exchange key is never hit by every bot of
// its account reconnecting at once. Each bound is a pool of its own, so a
// full one never holds up the actions of another.
func (r *Reconciler) apply(ctx context.Context, res *Result, st *passState) {
	// Many bots to render (a cold start, a fleet-wide change): their
	// accounts' keys are derived side by side first, rather than one
	// account after another inside the bounded actions.
	var rendering []string
	for _, o := range res.Outcomes {
		switch o.Kind {
		case plan.Create, plan.Recreate, plan.Restart:
			rendering = append(rendering, o.Bot)
		}
	}
	if len(rendering) > 1 {
		r.opts.Renderer.DeriveKeys(st.fl, rendering)
	}
	type pool struct {
		stops   bool
		account string
	}
	pools := map[pool][]*Outcome{}
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		if !o.Kind.Mutates() {
			continue
		}
		p := pool{}
		if o.Kind.Stops() {
			p = pool{stops: true, account: st.account(o)}
		}
		pools[p] = append(pools[p], o)
	}
	var mu sync.Mutex
	var all sync.WaitGroup
	for p, outcomes := range pools {
		limit := r.opts.Workers
		if p.stops {
			limit = max(st.fl.MaxParallelRestarts, 1)
		}
		all.Go(func() {
			var g errgroup.Group
			g.SetLimit(limit)
			for _, o := range outcomes {
				g.Go(func() error {
					calls := r.act(ctx, st, o)
					mu.Lock()
					res.Mutations += calls
					mu.Unlock()
					return nil // a bot's failure is its outcome's, never another's
				})
			}
			g.Wait()
		})
	}
	all.Wait()
}

// act carries out one outcome's action, fills in how it went, and returns
// the mutating engine calls it made.
func (r *Reconciler) act(ctx context.Context, st *passState, o *Outcome) int {
	start := r.opts.Now()
	x := &executor{r: r, ctx: ctx, st: st, o: o}
	// Classified before the error is cleaned of secrets, which keeps only
	// what errors.Is answers for.
	err := classify(x.run())
	err = scrub.Error(err, st.secrets(o.Bot)...)
	o.Duration = r.opts.Now().Sub(start)
	o.Err = err
	o.Stalled = errors.Is(err, errNeedsPerson)
	if o.Killed != "" {
		r.opts.Log.Warn("bot killed", "bot", o.Bot, "action", string(o.Kind), "warning", o.Killed)
	}
	switch {
	case o.Stalled:
		r.opts.Log.Warn("action failed; a person must fix it", "bot", o.Bot, "action", string(o.Kind), "reason", o.Reason, "error", err, "hint", strings.Join(hint.Of(err), "; "))
	case err != nil:
		r.opts.Log.Warn("action failed", "bot", o.Bot, "action", string(o.Kind), "reason", o.Reason, "error", err)
	default:
		r.opts.Log.Info("action done", "bot", o.Bot, "action", string(o.Kind), "reason", o.Reason, "took", o.Duration.Round(time.Millisecond))
	}
	return x.calls
}

// account is the account an action's bot belongs to: the source's, or for
// a bot no longer there, the one its container was made for.
func (st *passState) account(o *Outcome) string {
	if b, ok := st.fl.Bots[o.Bot]; ok {
		return b.Account
	}
	if o.Container != nil {
		return o.Container.Labels[runtime.LabelAccount]
	}
	return ""
}

// executor carries out one action and counts its mutating engine calls.
type executor struct {
	r     *Reconciler
	ctx   context.Context
	st    *passState
	o     *Outcome
	calls int
	// spec is what a new container is made from, once prepareNew has
	// made it ready (on a cluster, with its files).
	spec runtime.Spec
}

func (x *executor) run() error {
	o := x.o
	switch o.Kind {
	case plan.Create:
		if err := x.prepareNew(); err != nil {
			return err
		}
		return x.createStart()
	case plan.Recreate:
		if x.r.cluster() {
			return x.update()
		}
		return x.recreate()
	case plan.Restart:
		if err := x.render(); err != nil {
			return err
		}
		err := x.stop(o.Container)
		if err == nil {
			err = x.start(o.Container)
		}
		if x.gone(o.Container, err) {
			return x.remake()
		}
		return err
	case plan.Start:
		err := x.start(o.Container)
		if x.gone(o.Container, err) {
			return x.remake()
		}
		return err
	case plan.Stop:
		err := x.stop(o.Container)
		if x.gone(o.Container, err) {
			// Nothing is left to run, which is what a stop wants.
			return nil
		}
		return err
	case plan.Remove:
		return x.stopRemove(o.Container)
	}
	return nil
}

// gone reports whether err says the container no longer exists (removed
// by hand since the pass listed it), and the engine, asked again, agrees:
// a cluster also answers "not found" when a node lacks the image, which
// is no reason to make the bot's service anew.
func (x *executor) gone(c *runtime.Container, err error) bool {
	if !errors.Is(err, runtime.ErrNotFound) {
		return false
	}
	cs, lerr := x.r.opts.Runtime.List(x.ctx, x.st.fl.Name)
	return lerr == nil && !slices.ContainsFunc(cs, func(o runtime.Container) bool { return o.ID == c.ID })
}

// remake makes the bot's container anew, as a create does, for a restart
// or a start whose container is gone: the bot should run, and waiting for
// the next pass to notice would leave it down until then.
func (x *executor) remake() error {
	x.o.Reason += "; its container was gone by then, so nectar made it anew"
	if err := x.prepareNew(); err != nil {
		return err
	}
	return x.createStart()
}

// prepareNew makes sure a new container can be made: its image is there
// and its files are rendered (on a cluster, built to be handed over).
func (x *executor) prepareNew() error {
	x.spec = x.st.want[x.o.Bot].spec
	if err := x.r.ensureImage(x.ctx, x.spec.Image, &x.calls); err != nil {
		return err
	}
	if x.r.cluster() {
		return x.files()
	}
	return x.render()
}

// imageNeeds reads the image's scripts and controllers and checks that the
// bot's config finds what it loads among them and the fleet's.
func (x *executor) imageNeeds() (render.ImageFiles, error) {
	image, err := x.r.imageFiles(x.ctx, x.st.want[x.o.Bot].spec.Image)
	if err != nil {
		return nil, err
	}
	return image, checkNeeds(x.st.fl, x.st.fl.Bots[x.o.Bot], image)
}

// files builds a cluster bot's files into x.spec. The image's own files
// are not among them: the bot sees its image's folders.
func (x *executor) files() error {
	if _, err := x.imageNeeds(); err != nil {
		return err
	}
	contents, _, err := x.r.opts.Renderer.Contents(x.st.fl, x.o.Bot)
	if err != nil {
		return fmt.Errorf("cannot build the bot's files: %w", err)
	}
	x.spec.Files = clusterFiles(contents)
	for _, c := range contents {
		x.o.Rendered = append(x.o.Rendered, c.Path)
	}
	return nil
}

func (x *executor) render() error {
	image, err := x.imageNeeds()
	if err != nil {
		return err
	}
	rr, err := x.r.opts.Renderer.Render(x.st.fl, x.o.Bot, image)
	if rr != nil {
		// Appended: a restart whose container turned out gone renders
		// twice, and the first render is the one that wrote.
		x.o.Rendered = append(append(x.o.Rendered, rr.Written...), rr.Removed...)
	}
	if err != nil {
		return fmt.Errorf("cannot render the instance folder: %w", err)
	}
	return nil
}

// stop stops a container with the bot's own stop timeout, and records a
// kill: a bot that did not exit by itself may have left orders open.
func (x *executor) stop(c *runtime.Container) error {
	timeout := x.stopTimeout(c)
	x.calls++
	stopped, err := x.r.opts.Runtime.Stop(x.ctx, c.ID, timeout)
	if err != nil {
		return fmt.Errorf("cannot stop %s: %w", c.Name, err)
	}
	if stopped.Killed {
		x.o.Killed = killNote(c, timeout)
	}
	return nil
}

// stopTimeout is the bot's own; a container whose bot left the source
// gets the timeout it was created with (0 tells the engine so).
func (x *executor) stopTimeout(c *runtime.Container) time.Duration {
	if b, ok := x.st.fl.Bots[c.Bot()]; ok {
		return b.StopTimeout
	}
	return 0
}

// killNote says what a kill may have left behind, naming the connectors
// from the container's labels (names only, never a key).
func killNote(c *runtime.Container, timeout time.Duration) string {
	after := "after its stop timeout"
	if timeout > 0 {
		after = "after " + timeout.String()
	}
	where := "its exchanges"
	if conns := c.Labels[runtime.LabelConnectors]; conns != "" {
		where = strings.ReplaceAll(conns, ",", ", ")
	}
	why := ""
	if c.Labels[runtime.LabelLaunch] == fleet.LaunchClassic {
		why = " (launch: classic: the image's shell ignores SIGTERM, so its stop is always a kill)"
	}
	return fmt.Sprintf("killed %s without exiting by itself%s: open orders may remain on %s", after, why, where)
}

func (x *executor) stopRemove(c *runtime.Container) error {
	// Stop even a container listed as exited: Docker's restart policy may
	// have started it again since the list.
	if err := x.stop(c); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	x.calls++
	if err := x.r.opts.Runtime.Remove(x.ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("cannot remove %s: %w", c.Name, err)
	}
	return nil
}

func (x *executor) start(c *runtime.Container) error {
	x.calls++
	if err := x.r.opts.Runtime.Start(x.ctx, c.ID); err != nil {
		return fmt.Errorf("cannot start %s: %w", c.Name, err)
	}
	x.r.recordStart(x.o.Bot, c.Hash())
	return nil
}

func (x *executor) createStart() error {
	w := x.st.want[x.o.Bot]
	id, err := x.create(x.spec)
	if err != nil {
		return err
	}
	x.recordApplied()
	return x.startNew(id, w.desired.Hash)
}

// recreate replaces the bot's container. Everything that can fail before
// the new container exists is done while the old one still runs (and
// trades): the image is made present, the files rendered, and the new
// container created, under a passing name since the old one holds the
// bot's. Only then is the old one stopped and removed, and the new one
// renamed and started, so the bot is down for one graceful stop and a
// start, not for the engine's whole create as well.
func (x *executor) recreate() error {
	if err := x.prepareNew(); err != nil {
		return err
	}
	w := x.st.want[x.o.Bot]
	next := x.spec
	next.Name = passingName(w.spec.Name)
	id, err := x.create(next)
	if err != nil {
		return err
	}
	old := x.o.Container
	// Stop even a container listed as exited: Docker's restart policy may
	// have started it again since the list.
	err = x.stop(old)
	if err == nil || errors.Is(err, runtime.ErrNotFound) {
		// The old container steps aside instead of being removed first,
		// so the new one starts sooner; it is removed once the new one
		// runs.
		x.calls++
		err = x.r.opts.Runtime.Rename(x.ctx, old.ID, asideName(w.spec.Name))
		if errors.Is(err, runtime.ErrNotFound) {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("cannot rename %s aside: %w", old.Name, err)
		}
	}
	if err != nil {
		// The old container is still there: drop the new one, so the
		// next pass starts from the same place.
		x.calls++
		if rerr := x.r.opts.Runtime.Remove(x.ctx, id); rerr != nil {
			x.r.opts.Log.Warn("cannot remove the container made for a recreate that failed", "bot", x.o.Bot, "error", rerr)
		}
		return err
	}
	x.recordApplied()
	x.calls++
	if err := x.r.opts.Runtime.Rename(x.ctx, id, w.spec.Name); err != nil {
		// The plan recreates a container left under a passing name.
		err = fmt.Errorf("cannot rename %s to %s: %w", next.Name, w.spec.Name, err)
		if errors.Is(err, runtime.ErrConflict) {
			err = stall(hint.Wrap(err, conflictHint(w.spec.Name, x.st.fl.Name)))
		}
		return err
	}
	if err := x.startNew(id, w.desired.Hash); err != nil {
		return err
	}
	x.calls++
	if err := x.r.opts.Runtime.Remove(x.ctx, old.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		// The bot runs its new container; the old one, stopped and
		// labelled with the bot, is an extra container the next pass
		// removes.
		x.r.opts.Log.Warn("cannot remove a recreated bot's old container", "bot", x.o.Bot, "error", err)
	}
	return nil
}

// update changes a cluster bot's service in place: the cluster stops the
// old task (within the bot's stop timeout) before it starts the new one,
// and the service keeps its name, its node and so its volumes.
func (x *executor) update() error {
	if err := x.prepareNew(); err != nil {
		return err
	}
	old := x.o.Container
	x.calls++
	stopped, err := x.r.opts.Runtime.(runtime.Updater).Update(x.ctx, old.ID, x.spec, true)
	if stopped.Killed {
		x.o.Killed = killNote(old, x.stopTimeout(old))
	}
	if err != nil {
		return fmt.Errorf("cannot update %s: %w", old.Name, err)
	}
	x.recordApplied()
	x.r.recordStart(x.o.Bot, x.st.want[x.o.Bot].desired.Hash)
	return nil
}

// asideName is the name a recreated bot's old container has, once stopped,
// until it is removed.
func asideName(name string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return name + "-old-" + hex.EncodeToString(b)
}

// passingName is the name a recreate's new container has until the old one
// is gone. It is new each time, so a container left under such a name by
// a recreate cut short never stands in the way of the next one.
func passingName(name string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return name + "-next-" + hex.EncodeToString(b)
}

// create makes a container from spec.
func (x *executor) create(spec runtime.Spec) (string, error) {
	x.calls++
	id, err := x.r.opts.Runtime.Create(x.ctx, spec)
	if errors.Is(err, runtime.ErrConflict) {
		return "", stall(hint.Wrap(fmt.Errorf("cannot create container %s: %w", spec.Name, err), conflictHint(spec.Name, x.st.fl.Name)))
	}
	if err != nil {
		return "", fmt.Errorf("cannot create container %s: %w", spec.Name, err)
	}
	return id, nil
}

// conflictHint explains a container name held by a container nectar does
// not own.
func conflictHint(name, fleetName string) string {
	return "a container named " + name + " exists and is not nectar's (no nectar.fleet=" + fleetName + " label); nectar never touches it: remove or rename it"
}

// recordApplied records what the bot's container is now made from, once
// that container holds the bot's name: the next change is explained
// against it.
func (x *executor) recordApplied() {
	w := x.st.want[x.o.Bot]
	if err := x.r.records.write(x.o.Bot, plan.Applied{Hash: w.desired.Hash, Image: w.desired.Image, Parts: w.desired.Parts, Settings: w.desired.Settings}); err != nil {
		x.r.opts.Log.Warn("cannot record what was applied", "bot", x.o.Bot, "error", err)
	}
}

// startNew starts a container just made for the bot.
func (x *executor) startNew(id, hash string) error {
	x.calls++
	if err := x.r.opts.Runtime.Start(x.ctx, id); err != nil {
		x.o.leftAt = &step{kind: plan.Start, container: id}
		return fmt.Errorf("cannot start container %s: %w", fleet.ContainerName(x.o.Bot), err)
	}
	x.r.recordStart(x.o.Bot, hash)
	return nil
}

// ensureImage pulls the image when it is not present. A pull the engine
// answers and refuses (no such image or tag, no access, no way to reach
// the registry) needs a person; one cut short because the engine itself
// is away, or out of time, may pass.
func (r *Reconciler) ensureImage(ctx context.Context, image string, calls *int) error {
	ok, err := r.opts.Runtime.ImagePresent(ctx, image)
	if err != nil {
		return fmt.Errorf("cannot check image %s: %w", image, err)
	}
	if ok {
		return nil
	}
	*calls++
	if err := r.opts.Runtime.Pull(ctx, image); err != nil {
		err = hint.Wrap(fmt.Errorf("cannot find or pull image %s: %w", image, err),
			"build or load the image on this Docker host, or fix image: in the bot file or nectar.yaml")
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || r.opts.Runtime.Ping(ctx) != nil {
			return err
		}
		return stall(err)
	}
	return nil
}

func (r *Reconciler) recordStart(bot, hash string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	kept := r.starts[bot][:0:0]
	for _, s := range r.starts[bot] {
		if s.Hash == hash && now.Sub(s.At) < plan.CrashLoopWindow {
			kept = append(kept, s)
		}
	}
	r.starts[bot] = append(kept, plan.StartRecord{At: now, Hash: hash})
}
