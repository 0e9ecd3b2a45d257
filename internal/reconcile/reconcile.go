// Package reconcile runs nectar's reconcile pass: load the source, list
// this fleet's containers (one engine call), plan, apply, record. Bots are
// independent: one bot's failure is reported and never blocks another.
package reconcile

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/owner"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/suspend"
)

// Options configure a Reconciler.
type Options struct {
	Runtime  runtime.Runtime
	Renderer *render.Renderer
	// StateDir holds nectar's records of what it applied.
	StateDir   string
	Identities *secrets.Identities
	// AllowEmpty permits pruning when the source holds no bot at all.
	AllowEmpty bool
	Log        *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Workers bounds how many bots are created or started at once. Stops
	// are bounded per account instead (nectar.yaml's
	// max_parallel_restarts), each with its bot's own stop timeout.
	Workers int
	// Engine is the kind of engine Runtime is: fleet.EngineDocker (the
	// default) or fleet.EngineSwarm, whose Runtime must be a
	// runtime.Updater. A fleet whose nectar.yaml names another engine is
	// not acted on.
	Engine string
}

// Reconciler runs passes. Passes never overlap.
type Reconciler struct {
	opts    Options
	records *records

	pass      sync.Mutex // held for a whole pass
	mu        sync.Mutex // guards starts and lastFleet
	starts    map[string]plan.Starts
	lastFleet string // the fleet name the last load found
	images    imageCache
	owner     string // the state dir's identity, once read
}

// listed is the answer to one List call.
type listed struct {
	containers []runtime.Container
	err        error
}

// New returns a Reconciler.
func New(opts Options) *Reconciler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	opts.Engine = cmp.Or(opts.Engine, fleet.EngineDocker)
	return &Reconciler{opts: opts, records: &records{dir: opts.StateDir}, starts: map[string]plan.Starts{}}
}

// Source is one revision of the fleet source.
type Source struct {
	Revision string
	// Commit describes a git revision for people (nil for a folder).
	Commit *source.Commit
	FS     fs.FS
}

// Outcome is what happened to one bot in a pass.
type Outcome struct {
	plan.Action
	// Err is set when the action failed; the bot is retried next pass.
	Err error
	// Rendered lists instance files written or removed for the bot.
	Rendered []string
	Duration time.Duration
	// Killed, when set, says that a stop in this action had to kill the
	// bot, and where open orders may remain.
	Killed string
	// Restarts counts the starts nectar made of the bot's container within
	// the crash-loop window (plan.CrashLoopWindow), this pass's included.
	Restarts int
}

// Result is the record of one pass.
type Result struct {
	Revision string
	// Commit is the source's commit at Revision, for people; nil for a
	// folder.
	Commit *source.Commit
	Fleet  string
	// Loaded is the fleet as loaded at Revision (nil when the source did
	// not load at all). Its Secret fields print as [redacted].
	Loaded   *fleet.Fleet
	Started  time.Time
	Duration time.Duration
	// SourceProblems are the source's load problems (all of them, not
	// only those that stall a bot).
	SourceProblems []fleet.Problem
	// SourceOK is false when nectar.yaml or the source as a whole did not
	// load; then nothing was changed.
	SourceOK bool
	// EngineErr is set when the engine could not be asked; then nothing
	// was changed.
	EngineErr error
	Outcomes  []Outcome
	// Mutations counts the mutating engine calls the pass made.
	Mutations int
}

// Pending reports whether the plan holds any change to make.
func (r *Result) Pending() bool {
	return slices.ContainsFunc(r.Outcomes, func(o Outcome) bool { return o.Kind.Mutates() })
}

// Failed lists the outcomes whose action failed.
func (r *Result) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			out = append(out, o)
		}
	}
	return out
}

// Plan loads the source and says what a pass would do, changing nothing.
func (r *Reconciler) Plan(ctx context.Context, src Source) *Result {
	res, _ := r.prepare(ctx, src)
	r.countRestarts(res)
	return res
}

// Pass runs one reconcile pass.
func (r *Reconciler) Pass(ctx context.Context, src Source) *Result {
	r.pass.Lock()
	defer r.pass.Unlock()
	res, st := r.prepare(ctx, src)
	if st == nil {
		res.Duration = r.opts.Now().Sub(res.Started)
		return res
	}
	if err := r.records.sweep(); err != nil {
		r.opts.Log.Warn("cannot sweep temporary files", "error", err)
	}
	r.apply(ctx, res, st)
	r.countRestarts(res)
	res.Duration = r.opts.Now().Sub(res.Started)
	return res
}

// EnforceSuspensions runs a pass that carries out only what operators'
// suspensions ask for (the graceful stops of bots suspended with --stop),
// leaving every other change for the next full pass. `nectar suspend
// --stop` runs it when no daemon holds the state dir.
func (r *Reconciler) EnforceSuspensions(ctx context.Context, src Source) *Result {
	r.pass.Lock()
	defer r.pass.Unlock()
	res, st := r.prepare(ctx, src)
	if st != nil {
		kept := res.Outcomes[:0]
		for _, o := range res.Outcomes {
			if o.Suspended != nil {
				kept = append(kept, o)
			}
		}
		res.Outcomes = kept
		r.apply(ctx, res, st)
	}
	res.Duration = r.opts.Now().Sub(res.Started)
	return res
}

// countRestarts fills each outcome's Restarts from the starts on record.
func (r *Reconciler) countRestarts(res *Result) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		for _, s := range r.starts[o.Bot] {
			if now.Sub(s.At) < plan.CrashLoopWindow {
				o.Restarts++
			}
		}
	}
}

// passState is what apply needs beyond the plan.
type passState struct {
	fl   *fleet.Fleet
	want map[string]wanted
	// owner and stateDir label every container the pass creates.
	owner, stateDir string
}

// controls are what the state dir says beside the source: whose the
// containers are, and what an operator suspended.
type controls struct {
	owner     string
	adopted   map[string]bool
	suspended suspend.State
}

// stateControls reads the state dir's identity (made on first use) and,
// every pass, its adopted containers and suspensions: commands run beside
// a daemon change them.
func (r *Reconciler) stateControls() (controls, error) {
	var ctl controls
	if r.opts.StateDir == "" {
		return ctl, nil
	}
	r.mu.Lock()
	id := r.owner
	r.mu.Unlock()
	if id == "" {
		var err error
		if id, err = owner.ID(r.opts.StateDir); err != nil {
			return ctl, err
		}
		r.mu.Lock()
		r.owner = id
		r.mu.Unlock()
	}
	ctl.owner = id
	adopted, err := owner.Adopted(r.opts.StateDir)
	if err != nil {
		return ctl, err
	}
	ctl.adopted = map[string]bool{}
	for cid := range adopted {
		ctl.adopted[cid] = true
	}
	ctl.suspended, err = suspend.Load(r.opts.StateDir)
	return ctl, err
}

// Owner returns the state dir's identity, making it on first use.
func (r *Reconciler) Owner() (string, error) {
	ctl, err := r.stateControls()
	return ctl.owner, err
}

// secrets returns the plaintext secrets a bot's container and files are
// made from: its account's password and the secrets of its connectors.
// An engine error may quote them (a refused start names the environment
// entry it choked on), so every action's error is cleaned of them.
func (st *passState) secrets(bot string) []string {
	b, ok := st.fl.Bots[bot]
	if !ok {
		return nil
	}
	acct, ok := st.fl.Accounts[b.Account]
	if !ok {
		return nil
	}
	out := []string{acct.Password.Reveal()}
	for _, c := range b.Connectors {
		if cred := acct.Credentials[c]; cred != nil {
			for _, s := range cred.Secrets {
				out = append(out, s.Value.Reveal())
			}
		}
	}
	return out
}

type wanted struct {
	desired plan.Desired
	spec    runtime.Spec
}

// prepare loads, observes and plans. A nil state means nothing may be
// applied (the source or the engine failed).
func (r *Reconciler) prepare(ctx context.Context, src Source) (*Result, *passState) {
	res := &Result{Revision: src.Revision, Commit: src.Commit, Started: r.opts.Now()}
	// Listing waits on the engine and loading works the CPU, so the list
	// for the fleet of the last pass runs while the source loads; should
	// the name have changed, the list is made again.
	r.mu.Lock()
	guess := r.lastFleet
	r.mu.Unlock()
	var early chan listed
	if guess != "" {
		early = make(chan listed, 1)
		go func() {
			c, err := r.opts.Runtime.List(ctx, guess)
			early <- listed{c, err}
		}()
	}
	fl := fleet.Load(src.FS, fleet.Options{Identities: r.opts.Identities})
	r.imageProblems(ctx, fl)
	res.Fleet, res.Loaded, res.SourceProblems, res.SourceOK = fl.Name, fl, fl.Problems, fl.SettingsOK()
	var observed []runtime.Container
	var err error
	if early != nil {
		l := <-early
		observed, err = l.containers, l.err
	}
	if !res.SourceOK {
		// Without nectar.yaml nectar does not even know which fleet's
		// containers are its own, so it touches none (the early list,
		// if any, only read).
		return res, nil
	}
	r.mu.Lock()
	r.lastFleet = fl.Name
	r.mu.Unlock()
	if guess != fl.Name {
		observed, err = r.opts.Runtime.List(ctx, fl.Name)
	}
	if err != nil {
		res.EngineErr = err
		return res, nil
	}
	if err := r.engineMatches(fl); err != nil {
		res.EngineErr = err
		return res, nil
	}
	ctl, err := r.stateControls()
	if err != nil {
		// Without knowing which containers are its own, or which bots an
		// operator suspended, nectar acts on none.
		res.EngineErr = fmt.Errorf("cannot read the state dir %s, nothing is changed: %w", r.opts.StateDir, err)
		return res, nil
	}
	st := &passState{fl: fl, want: map[string]wanted{}, owner: ctl.owner, stateDir: r.opts.StateDir}
	in := plan.Input{
		Owner:      ctl.owner,
		Adopted:    ctl.adopted,
		Suspended:  ctl.suspended.Bots,
		SuspendAll: ctl.suspended.All,
		SourceOK:   true,
		Prune:      fl.Prune,
		AllowEmpty: r.opts.AllowEmpty,
		PruneHeld:  pruneHeld(fl.PruneBlockers()),
		Desired:    map[string]plan.Desired{},
		Observed:   observed,
		Applied:    map[string]plan.Applied{},
		Now:        res.Started,
	}
	byBot := map[string]runtime.Container{}
	for _, c := range observed {
		byBot[c.Bot()] = c
	}
	// Working out each bot's desired state is independent per bot and
	// mostly file reads and HMACs, so it runs on the workers too.
	names := slices.Sorted(maps.Keys(fl.Bots))
	wants := make([]wanted, len(names))
	parallel(r.opts.Workers, len(names), func(i int) {
		c, ok := byBot[names[i]]
		wants[i] = r.desire(fl, fl.Bots[names[i]], src.Revision, st, c.Hash(), ok)
	})
	for i, name := range names {
		w := wants[i]
		if c, ok := byBot[name]; ok && c.Task != nil && w.desired.Hash != "" {
			if p := nodeProblem(fl.Bots[name], c); p != "" {
				w.desired.Problems = append(w.desired.Problems, p)
			}
		}
		st.want[name] = w
		in.Desired[name] = w.desired
		if c, ok := byBot[name]; ok && c.Hash() != w.desired.Hash && w.desired.Hash != "" {
			// Only a container about to be recreated needs its record,
			// to explain what changed.
			if a, ok := r.records.read(name); ok {
				in.Applied[name] = a
			}
		}
	}
	for _, c := range observed {
		// A container made by a nectar that did not label its owner is
		// this state dir's when this state dir's record says it made it.
		if _, known := in.Applied[c.Bot()]; !known && ctl.owner != "" && c.Labels[runtime.LabelOwner] == "" && c.Hash() != "" {
			if a, ok := r.records.read(c.Bot()); ok {
				in.Applied[c.Bot()] = a
			}
		}
	}
	r.mu.Lock()
	in.Starts = maps.Clone(r.starts)
	r.mu.Unlock()
	for _, a := range plan.Make(in) {
		res.Outcomes = append(res.Outcomes, Outcome{Action: a})
	}
	return res, st
}

// pruneHeld says why pruning waits, naming the first blocker and how many
// more there are; "" when nothing holds it.
func pruneHeld(blockers []fleet.Problem) string {
	if len(blockers) == 0 {
		return ""
	}
	s := blockers[0].Error()
	if n := len(blockers) - 1; n > 0 {
		s += fmt.Sprintf(", and %d more", n)
	}
	return s
}

// parallel runs f(0..n-1) on at most workers goroutines.
func parallel(workers, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// desire computes one bot's desired state, hash included. A bot that
// cannot be rendered is stalled with the reason.
//
// observedHash is the hash of the bot's container (found says there is
// one): the parts that explain a change are only worked out for a bot
// whose container is about to be made or remade, not on every pass for
// every bot.
func (r *Reconciler) desire(fl *fleet.Fleet, b *fleet.Bot, revision string, st *passState, observedHash string, found bool) wanted {
	d := plan.Desired{Bot: b.Name, State: b.State, Hold: b.Hold, Image: b.Image}
	for _, p := range fl.BotProblems(b.Name) {
		d.Problems = append(d.Problems, p.Error())
	}
	if len(d.Problems) > 0 {
		return wanted{desired: d}
	}
	pv, err := r.opts.Renderer.Preview(fl, b.Name)
	if err != nil {
		d.Problems = append(d.Problems, err.Error())
		return wanted{desired: d}
	}
	acct := fl.Accounts[b.Account]
	spec, err := containerSpec(fl.Name, revision, "", r.opts.Renderer.InstanceDir(b.Name), b, acct.Password)
	if err != nil {
		d.Problems = append(d.Problems, b.File+": "+err.Error())
		return wanted{desired: d}
	}
	if r.cluster() {
		if p := clusterProblem(b); p != "" {
			d.Problems = append(d.Problems, p)
			return wanted{desired: d}
		}
		spec = clusterSpec(spec, b)
	}
	if st.owner != "" {
		// Not part of the hash: labelling the owner restarts no bot.
		spec.Labels[runtime.LabelOwner] = st.owner
		spec.Labels[runtime.LabelStateDir] = st.stateDir
	}
	specText := specForHash(spec)
	d.Hash = combine(pv.Digest, specText)
	spec.Labels[runtime.LabelHash] = d.Hash
	d.DiskDrift = pv.Drift
	if image, ok := r.images.get(b.Image); ok {
		d.Shadowed = render.Shadowed(fl, image)
	}
	if !found || observedHash != d.Hash {
		d.Parts, d.Settings = r.parts(pv, spec)
	}
	return wanted{desired: d, spec: spec}
}

// combine joins the render digest (a keyed HMAC covering every file and
// the password) with the container settings, which hold no secret.
func combine(renderDigest, specText string) string {
	h := sha256.New()
	h.Write([]byte("nectar/hash/v1\x00" + renderDigest + "\x00" + specText))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// parts names the pieces behind the hash, so a change can be explained:
// each setting, each environment variable and each mount on its own, and
// each rendered file. The values of settings are not secret and are kept
// as they are (settings), so a change can say from what to what; the
// environment and the mounts are kept as keyed digests only, since a bot's
// env: is where a careless secret would land.
func (r *Reconciler) parts(pv *render.Preview, spec runtime.Spec) (parts plan.Parts, settings map[string]string) {
	out := plan.Parts{plan.Part(plan.PartImage, ""): short(spec.Image)}
	settings = specSettings(spec)
	for k, v := range settings {
		out[plan.Part(plan.PartSetting, k)] = short(v)
	}
	// The environment and the mounts are keyed digests. The key's text is
	// part of what is digested, as it always was: a record written before
	// keys were typed then still matches what this nectar works out.
	keyed := func(k plan.PartKey, value string) {
		out[k] = r.opts.Renderer.PartDigest(k.String(), value)
	}
	for _, e := range spec.Env {
		k, v, _ := strings.Cut(e, "=")
		if slices.Contains(passwordVars, k) {
			// The password is the password part, from its own file.
			continue
		}
		keyed(plan.Part(plan.PartEnv, k), v)
	}
	for _, m := range spec.Mounts {
		keyed(plan.Part(plan.PartMount, m.Target), fmt.Sprintf("%s:%v", m.Source, m.ReadOnly))
	}
	for _, f := range pv.Files {
		switch {
		case f.Path == render.PasswordVerification:
			out[plan.Part(plan.PartPassword, "")] = f.Digest
		case strings.HasPrefix(f.Path, render.ConnectorsDir+"/"):
			conn := strings.TrimSuffix(strings.TrimPrefix(f.Path, render.ConnectorsDir+"/"), ".yml")
			out[plan.Part(plan.PartCredential, conn)] = f.Digest
		case f.Path == render.ClientConfigFile:
			out[plan.Part(plan.PartClientConfig, "")] = f.Digest
		default:
			out[plan.Part(plan.PartFile, f.Path)] = f.Digest
		}
	}
	return out, settings
}

// specSettings are the container's settings by the names plan uses to
// explain a change, with their values as a person reads them.
func specSettings(s runtime.Spec) map[string]string {
	cmd := "the image's own"
	if s.Cmd != nil {
		cmd = strings.Join(s.Cmd, " ")
	}
	return map[string]string{
		"name":         s.Name,
		"network":      s.Network,
		"restart":      s.Restart,
		"cpus":         cpusText(s.NanoCPUs),
		"memory":       memoryText(s.MemoryBytes),
		"stop timeout": s.StopTimeout.String(),
		"command":      cmd,
		"logs":         fmt.Sprintf("%s × %d", s.LogMaxSize, s.LogMaxFiles),
	}
}

func cpusText(nano int64) string {
	if nano == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
}

func memoryText(b int64) string {
	switch {
	case b == 0:
		return "unlimited"
	case b%(1<<30) == 0:
		return fmt.Sprintf("%dg", b>>30)
	case b%(1<<20) == 0:
		return fmt.Sprintf("%dm", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%dk", b>>10)
	}
	return fmt.Sprintf("%db", b)
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// apply carries out the mutating actions. Creates and starts run on the
// shared workers. Stops, recreates, restarts and removals wait on a bot's
// graceful stop, which may take a minute or more, so they run each in its
// own goroutine, bounded per account instead (max_parallel_restarts): a
// fleet-wide change takes about one stop per batch, and one exchange key is
// never hit by every bot of its account reconnecting at once.
func (r *Reconciler) apply(ctx context.Context, res *Result, st *passState) {
	workers := make(chan struct{}, r.opts.Workers)
	perAccount := map[string]chan struct{}{}
	slots := func(o *Outcome) chan struct{} {
		if !o.Kind.Stops() {
			return workers
		}
		acct := st.account(o)
		if perAccount[acct] == nil {
			perAccount[acct] = make(chan struct{}, max(st.fl.MaxParallelRestarts, 1))
		}
		return perAccount[acct]
	}
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
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		if !o.Kind.Mutates() {
			continue
		}
		sem := slots(o)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			start := r.opts.Now()
			x := &executor{r: r, ctx: ctx, st: st, o: o}
			err := x.run()
			err = scrub.Error(err, st.secrets(o.Bot)...)
			o.Duration = r.opts.Now().Sub(start)
			o.Err = err
			mu.Lock()
			res.Mutations += x.calls
			mu.Unlock()
			if o.Killed != "" {
				r.opts.Log.Warn("bot killed", "bot", o.Bot, "action", string(o.Kind), "warning", o.Killed)
			}
			if err != nil {
				r.opts.Log.Warn("action failed", "bot", o.Bot, "action", string(o.Kind), "reason", o.Reason, "error", err)
			} else {
				r.opts.Log.Info("action done", "bot", o.Bot, "action", string(o.Kind), "reason", o.Reason, "took", o.Duration.Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
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
		if err := x.stop(o.Container); err != nil {
			return err
		}
		return x.start(o.Container)
	case plan.Start:
		return x.start(o.Container)
	case plan.Stop:
		return x.stop(o.Container)
	case plan.Remove:
		return x.stopRemove(o.Container)
	}
	return nil
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
		return fmt.Errorf("building the bot's files: %w", err)
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
		x.o.Rendered = append(slices.Clone(rr.Written), rr.Removed...)
	}
	if err != nil {
		return fmt.Errorf("rendering the instance folder: %w", err)
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
		return fmt.Errorf("stopping %s: %w", c.Name, err)
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
		return fmt.Errorf("removing %s: %w", c.Name, err)
	}
	return nil
}

func (x *executor) start(c *runtime.Container) error {
	x.calls++
	if err := x.r.opts.Runtime.Start(x.ctx, c.ID); err != nil {
		return fmt.Errorf("starting %s: %w", c.Name, err)
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
			err = fmt.Errorf("renaming %s aside: %w", old.Name, err)
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
		err = fmt.Errorf("renaming %s to %s: %w", next.Name, w.spec.Name, err)
		if errors.Is(err, runtime.ErrConflict) {
			err = hint.Wrap(err, conflictHint(w.spec.Name, x.st.fl.Name))
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
		return fmt.Errorf("updating %s: %w", old.Name, err)
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
		return "", hint.Wrap(fmt.Errorf("creating container %s: %w", spec.Name, err), conflictHint(spec.Name, x.st.fl.Name))
	}
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", spec.Name, err)
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
		return fmt.Errorf("starting container %s: %w", fleet.ContainerName(x.o.Bot), err)
	}
	x.r.recordStart(x.o.Bot, hash)
	return nil
}

// ensureImage pulls the image when it is not present.
func (r *Reconciler) ensureImage(ctx context.Context, image string, calls *int) error {
	ok, err := r.opts.Runtime.ImagePresent(ctx, image)
	if err != nil {
		return fmt.Errorf("checking image %s: %w", image, err)
	}
	if ok {
		return nil
	}
	*calls++
	if err := r.opts.Runtime.Pull(ctx, image); err != nil {
		return hint.Wrap(fmt.Errorf("image %s is not present and pulling it failed: %w", image, err),
			"build or load the image on this Docker host, or fix image: in the bot file or nectar.yaml")
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
