package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
	"github.com/nectarhq/nectar/internal/runtime/swarm"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/statelock"
)

// defaultStateDir is ~/.local/state/nectar, or $XDG_STATE_HOME/nectar.
func defaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "nectar"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", hint.Wrap(err, "pass --state-dir")
	}
	return filepath.Join(home, ".local", "state", "nectar"), nil
}

// resolveStateDir returns --state-dir (or the default) as an absolute
// path, creating the folder if need be.
func (a *app) resolveStateDir() (string, error) {
	stateDir := a.stateDir
	if stateDir == "" {
		var err error
		if stateDir, err = defaultStateDir(); err != nil {
			return "", err
		}
	}
	// Docker binds host folders by absolute path only.
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", err
	}
	return stateDir, nil
}

// containerEngine is what runs the bots: one Docker engine or a Swarm
// cluster's manager.
type containerEngine interface {
	runtime.Runtime
	runtime.Inspector
	Close() error
}

// engine is what a pass runs on: the container engine, the renderer and
// the reconciler.
type engine struct {
	rt containerEngine
	rd *render.Renderer
	r  *reconcile.Reconciler
	// lock, when set, is this process's hold on the state dir.
	lock     *statelock.Lock
	stateDir string
}

func (e *engine) Close() {
	e.rt.Close()
	e.lock.Release()
}

// engine wires the engine, the renderer and the identity together. When
// lockFor names the command ("nectar apply"), the state dir is locked for
// this process first: commands that change bots or write the state dir
// must never run two at a time on one state dir, and a second one fails
// at once, naming the first. plan only reads, so it takes no lock.
//
// kind is the engine nectar.yaml names (fleet.EngineOf): a single Docker
// engine, or a Swarm cluster through the manager DOCKER_HOST names. resync
// is the daemon's period of full passes, after which an action that
// failed for a reason a person must fix is tried again (0: one pass only,
// so the reconciler's default).
func (a *app) engine(ctx context.Context, kind string, allowEmpty bool, lockFor string, resync time.Duration) (*engine, error) {
	ids, err := a.identities()
	if err != nil {
		return nil, err
	}
	stateDir, err := a.resolveStateDir()
	if err != nil {
		return nil, err
	}
	var lock *statelock.Lock
	if lockFor != "" {
		if lock, err = statelock.Acquire(stateDir, lockFor); err != nil {
			return nil, err
		}
	}
	rd, err := render.New(render.StateDirOptions(stateDir))
	if err != nil {
		lock.Release()
		return nil, err
	}
	rt, err := connect(ctx, kind)
	if err != nil {
		lock.Release()
		return nil, err
	}
	r := reconcile.New(reconcile.Options{
		Runtime: rt, Renderer: rd, StateDir: stateDir, Identities: ids, AllowEmpty: allowEmpty, Log: a.logger(), Engine: kind, Resync: resync,
	})
	return &engine{rt: rt, rd: rd, r: r, lock: lock, stateDir: stateDir}, nil
}

// connect reaches the engine of the given kind, through the Docker
// environment (DOCKER_HOST and the rest).
func connect(ctx context.Context, kind string) (containerEngine, error) {
	if kind == fleet.EngineSwarm {
		rt, err := swarm.New(ctx)
		if err != nil {
			return nil, hint.Wrap(fmt.Errorf("cannot reach the Swarm manager (nectar.yaml says engine: swarm): %w", err),
				"point DOCKER_HOST at a Swarm manager (docker node ls works there), or remove engine: swarm from nectar.yaml")
		}
		return rt, nil
	}
	rt, err := docker.New(ctx)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("cannot reach Docker: %w", err), "start the Docker engine, or point DOCKER_HOST at it")
	}
	return rt, nil
}

// openSource opens --source (a folder or a git URL) with --branch and
// --path.
func (a *app) openSource(spec source.Spec) (source.Source, error) {
	spec.Source, spec.Branch, spec.Path = a.source, a.branch, a.subPath
	if spec.Log == nil {
		spec.Log = a.logger()
	}
	src, err := source.Open(spec)
	if err != nil {
		return nil, hint.Wrap(err, "pass the fleet folder or a git URL with --source")
	}
	return src, nil
}

// snapshot takes the source's current revision once, for plan and apply;
// its Close releases it.
func (a *app) snapshot(ctx context.Context) (reconcile.Source, error) {
	src, err := a.openSource(source.Spec{})
	if err != nil {
		return reconcile.Source{}, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		if snap.Close != nil {
			snap.Close()
		}
		return reconcile.Source{}, fmt.Errorf("cannot read the source %s: %w", src, err)
	}
	return snap, nil
}

// pass opens the engine and the source for one plan or apply.
func (a *app) pass(ctx context.Context, allowEmpty bool, lockFor string) (*reconcile.Reconciler, reconcile.Source, func(), error) {
	src, err := a.snapshot(ctx)
	if err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	e, err := a.engine(ctx, fleet.EngineOf(src.FS), allowEmpty, lockFor, 0)
	if err != nil {
		src.Close()
		return nil, reconcile.Source{}, nil, err
	}
	return e.r, src, func() { src.Close(); e.Close() }, nil
}

// Exit statuses of `plan --exit-code` (and, for exitProblems, of `nectar
// status`). 1 stays what it is for every command: nectar could not do
// what it was asked (Docker away, the source unreadable).
const (
	// exitPending: the plan holds changes, and nothing is wrong.
	exitPending = 2
	// exitProblems: a bot is stalled, or the source has a problem (it
	// does not load at all, or one of its files does not). This wins
	// over exitPending: a CI gate must not let such a commit through.
	exitProblems = 3
)

// planExitCodes is the --exit-code part of plan's help.
const planExitCodes = `With --exit-code, the exit status says what the plan found:
  0  nothing to change, and no problem
  1  nectar could not make a plan (Docker did not answer, the source could not be read)
  2  changes are pending
  3  a bot is stalled or the source has a problem (a file that does not load,
     nectar.yaml broken); this wins over 2, so a CI gate stops such a commit`

func (a *app) planCommand() *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "plan [--exit-code]",
		Short: "Show what apply would do, with reasons; --exit-code: 2 changes pending, 3 a bot stalled or a source problem",
		Long:  "plan says what apply would do about each bot, and why, changing nothing.\n\n" + planExitCodes,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, src, done, err := a.pass(cmd.Context(), false, "")
			if err != nil {
				return err
			}
			defer done()
			res := r.Plan(cmd.Context(), src)
			if err := printPlan(a.stdout, res); err != nil {
				if exitCode && !res.SourceOK {
					printError(a.stderr, err)
					return exitError(exitProblems)
				}
				return err
			}
			if exitCode {
				return planExit(res)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 2 when changes are pending, 3 when a bot is stalled or the source has a problem")
	return cmd
}

// planExit turns a plan that loaded into --exit-code's status.
func planExit(res *reconcile.Result) error {
	problems := len(res.SourceProblems) > 0
	for _, o := range res.Outcomes {
		if o.Kind == plan.Stalled {
			problems = true
		}
	}
	switch {
	case problems:
		return exitError(exitProblems)
	case res.Pending():
		return exitError(exitPending)
	}
	return nil
}

func (a *app) applyCommand() *cobra.Command {
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Run one reconcile pass, with progress per bot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, src, done, err := a.pass(cmd.Context(), allowEmpty, "nectar apply")
			if err != nil {
				return err
			}
			defer done()
			res := r.Pass(cmd.Context(), src)
			if err := printPlan(a.stdout, res); err != nil {
				return err
			}
			if failed := res.Failed(); len(failed) > 0 {
				for _, o := range failed {
					printError(a.stderr, fmt.Errorf("bot %s: cannot %s: %w", o.Bot, o.Kind, o.Err))
				}
				return exitError(1)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "prune even when the source holds no bot at all")
	return cmd
}

// printPlan writes one line per bot and a summary; it returns an error
// when the pass could not look at the source or the engine.
func printPlan(w io.Writer, res *reconcile.Result) error {
	if !res.SourceOK {
		for _, p := range res.SourceProblems {
			fmt.Fprintln(w, p.String())
		}
		return hint.New("the source did not load: nothing was changed", "fix the problems above; `nectar validate` lists them")
	}
	if res.EngineErr != nil {
		return hint.Wrap(fmt.Errorf("cannot list containers: %w", res.EngineErr), "nothing was changed; check that Docker is running (docker info)")
	}
	counts := map[plan.Kind]int{}
	for _, o := range res.Outcomes {
		counts[o.Kind]++
		status := ""
		switch {
		case o.Err != nil:
			status = " — FAILED: " + strings.ReplaceAll(o.Err.Error(), "\n", "; ")
		case o.Kind.Mutates() && o.Duration > 0:
			status = fmt.Sprintf(" — done in %s", o.Duration.Round(1e6))
		}
		fmt.Fprintf(w, "%-9s %-24s %s%s\n", o.Kind, o.Bot, o.Reason, status)
	}
	var parts []string
	for _, k := range plan.Kinds() {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no bots")
	}
	fmt.Fprintf(w, "fleet %s at %s: %s\n", res.Fleet, res.Revision, strings.Join(parts, ", "))
	return nil
}
