// Package reconcile runs nectar's reconcile pass: load the source, list
// this fleet's containers (one engine call), plan, apply, record. Bots are
// independent: one bot's failure is reported and never blocks another.
package reconcile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/owner"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
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
	// Resync is how long an action that failed for a reason a person must
	// fix waits, when nothing about the bot changes, before it is tried
	// again: the daemon's period of full passes (default a minute).
	Resync time.Duration
}

// Reconciler runs passes. Passes never overlap.
type Reconciler struct {
	opts    Options
	records *records

	pass      sync.Mutex // held for a whole pass
	mu        sync.Mutex // guards starts, failures and lastFleet
	starts    map[string]plan.Starts
	failures  map[string]plan.Failure // by bot: the last action that failed
	lastFleet string                  // the fleet name the last load found
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
	if opts.Resync <= 0 {
		opts.Resync = time.Minute
	}
	opts.Engine = cmp.Or(opts.Engine, fleet.EngineDocker)
	return &Reconciler{opts: opts, records: &records{dir: opts.StateDir}, starts: map[string]plan.Starts{}}
}

// Source is one revision of the fleet source, as the source hands it out:
// a pass reads its FS, and whoever took it releases it with Close.
type Source = source.Snapshot

// Outcome is what happened to one bot in a pass.
type Outcome struct {
	plan.Action
	// Err is set when the action failed. The action is held back from
	// the next passes until RetryAt, unless the bot's inputs change first
	// (see plan.Failure).
	Err error
	// Stalled is set when Err needs a person: a container name taken by
	// one nectar does not own, an image that cannot be had, a container
	// the engine refuses. Its hint says what to do.
	Stalled bool
	// RetryAt, for a failed action, is when it is tried again if the bot
	// stays as it is: after a back-off, or for a stalled one, a resync.
	RetryAt time.Time
	// leftAt, when set, is where a failed action left the bot: a
	// container made whose start failed. The next pass plans a start of
	// it, so that is the action the failure holds back.
	leftAt *step
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
	r.noteFailures(res, st)
	r.countRestarts(res)
	res.Duration = r.opts.Now().Sub(res.Started)
	return res
}

// EnforceSuspensions runs a pass that carries out only what operators'
// suspensions ask for (the graceful stops of bots suspended with --stop),
// leaving every other change, and what earlier failures hold back, for the
// next full pass. `nectar suspend --stop` runs it when no daemon holds the
// state dir.
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
	in.Failures, in.StallRetry = maps.Clone(r.failures), r.opts.Resync
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
	var g errgroup.Group
	g.SetLimit(workers)
	for i := range n {
		g.Go(func() error {
			f(i)
			return nil
		})
	}
	g.Wait()
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
