package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime/docker"
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

// reconciler wires the engine, the renderer and the identity together.
func (a *app) reconciler(ctx context.Context, allowEmpty bool) (*reconcile.Reconciler, reconcile.Source, func(), error) {
	f, err := a.folder()
	if err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	ids, err := a.identities()
	if err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	stateDir := a.stateDir
	if stateDir == "" {
		if stateDir, err = defaultStateDir(); err != nil {
			return nil, reconcile.Source{}, nil, err
		}
	}
	// Docker binds host folders by absolute path only.
	if stateDir, err = filepath.Abs(stateDir); err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	rd, err := render.New(render.StateDirOptions(stateDir))
	if err != nil {
		return nil, reconcile.Source{}, nil, err
	}
	rt, err := docker.New(ctx)
	if err != nil {
		return nil, reconcile.Source{}, nil, hint.Wrap(fmt.Errorf("cannot reach Docker: %w", err), "start the Docker engine, or point DOCKER_HOST at it")
	}
	root, err := os.OpenRoot(f.Dir)
	if err != nil {
		rt.Close()
		return nil, reconcile.Source{}, nil, err
	}
	src := reconcile.Source{Revision: "folder:" + f.Dir, FS: root.FS()}
	r := reconcile.New(reconcile.Options{
		Runtime: rt, Renderer: rd, StateDir: stateDir, Identities: ids, AllowEmpty: allowEmpty, Log: a.logger(),
	})
	return r, src, func() { root.Close(); rt.Close() }, nil
}

func (a *app) planCommand() *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "plan [--exit-code]",
		Short: "Show what apply would do, with reasons; --exit-code exits 2 when changes are pending",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, src, done, err := a.reconciler(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer done()
			res := r.Plan(cmd.Context(), src)
			if err := printPlan(a.stdout, res); err != nil {
				return err
			}
			if exitCode && res.Pending() {
				return exitError(2)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 2 when changes are pending")
	return cmd
}

func (a *app) applyCommand() *cobra.Command {
	var allowEmpty bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Run one reconcile pass, with progress per bot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, src, done, err := a.reconciler(cmd.Context(), allowEmpty)
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
					printError(a.stderr, fmt.Errorf("bot %s: %s failed: %w", o.Bot, o.Kind, o.Err))
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
	for _, k := range []plan.Kind{plan.Create, plan.Recreate, plan.Restart, plan.Start, plan.Stop, plan.Remove, plan.None, plan.Wait, plan.CrashLoop, plan.Held, plan.Stalled, plan.Orphan} {
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
