package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/owner"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/statelock"
	"github.com/nectarhq/nectar/internal/suspend"
)

var botNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// botArgs checks BOT... against --all: one or the other.
func botArgs(args []string, all bool) error {
	if all == (len(args) > 0) {
		return hint.New("name the bots, or pass --all", "e.g. `nectar suspend pmm-btc`, or `nectar suspend --all --stop` to stop the whole fleet")
	}
	for _, b := range args {
		if !botNameRe.MatchString(b) {
			return hint.New(fmt.Sprintf("%q is not a bot name", b), "a bot's name is its file name in bots/, without .yml")
		}
	}
	return nil
}

func (a *app) suspendCommand() *cobra.Command {
	var all, stop, list bool
	cmd := &cobra.Command{
		Use:   "suspend [BOT...|--all] [--stop]",
		Short: "Emergency stop: nectar leaves the bots' containers as they are (--stop: stops them) until resume",
		Long: "suspend keeps nectar off the bots named (or every bot with --all), whatever the source\n" +
			"says, until `nectar resume`: their containers are left exactly as they are, or with --stop\n" +
			"stopped gracefully (each bot gets its stop timeout to cancel its orders). The suspension\n" +
			"is kept in the state dir, so it survives restarts; a running daemon acts on it at once.\n" +
			"Without a daemon, suspend --stop stops the bots itself.",
		RunE: func(cmd *cobra.Command, args []string) error {
			stateDir, err := a.resolveStateDir()
			if err != nil {
				return err
			}
			if list {
				return a.printSuspensions(stateDir)
			}
			if err := botArgs(args, all); err != nil {
				return err
			}
			s := plan.Suspension{By: suspend.Who(), At: time.Now().UTC().Truncate(time.Second), Stop: stop}
			if _, err := suspend.Suspend(stateDir, args, all, s); err != nil {
				return err
			}
			what := strings.Join(args, ", ")
			if all {
				what = "every bot"
			}
			fmt.Fprintf(a.stdout, "suspended %s (by %s); `nectar resume` lifts it\n", what, s.By)
			if !stop {
				fmt.Fprintln(a.stdout, "their containers are left as they are; a running daemon stops acting on them at once")
				return nil
			}
			return a.enforceSuspensions(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "suspend every bot of the fleet")
	cmd.Flags().BoolVar(&stop, "stop", false, "stop the bots' containers too, gracefully")
	cmd.Flags().BoolVar(&list, "list", false, "list what is suspended")
	return cmd
}

// enforceSuspensions stops the bots suspended with --stop: the daemon
// does when one runs on the state dir; otherwise this process does.
func (a *app) enforceSuspensions(ctx context.Context) error {
	r, src, done, err := a.pass(ctx, false, "nectar suspend")
	var held *statelock.HeldError
	if errors.As(err, &held) {
		who := "the daemon"
		if held.PID > 0 {
			who = fmt.Sprintf("the daemon (pid %d)", held.PID)
		}
		fmt.Fprintf(a.stdout, "%s using this state dir stops them now; `nectar status` shows them as suspended\n", who)
		return nil
	}
	if err != nil {
		return hint.Wrap(fmt.Errorf("cannot stop the bots yet (they are suspended): %w", err), "the next `nectar apply` or `nectar run` stops them; or stop them by hand with `docker stop hummingbot-<bot>`")
	}
	defer done()
	res := r.EnforceSuspensions(ctx, src)
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
}

func (a *app) printSuspensions(stateDir string) error {
	st, err := suspend.Load(stateDir)
	if err != nil {
		return err
	}
	line := func(what string, s plan.Suspension) {
		stop := ""
		if s.Stop {
			stop = ", with --stop"
		}
		fmt.Fprintf(a.stdout, "%-24s suspended by %s at %s%s\n", what, s.By, s.At.Format(time.RFC3339), stop)
	}
	if st.All != nil {
		line("(every bot)", *st.All)
	}
	for _, b := range st.Names() {
		line(b, st.Bots[b])
	}
	if st.All == nil && len(st.Bots) == 0 {
		fmt.Fprintln(a.stdout, "nothing is suspended")
	}
	return nil
}

func (a *app) resumeCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "resume [BOT...|--all]",
		Short: "Lift a suspension: nectar manages the bots from the source again",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := botArgs(args, all); err != nil {
				return err
			}
			stateDir, err := a.resolveStateDir()
			if err != nil {
				return err
			}
			if _, err := suspend.Resume(stateDir, args, all); err != nil {
				return err
			}
			what := strings.Join(args, ", ")
			if all {
				what = "every bot"
			}
			fmt.Fprintf(a.stdout, "resumed %s: a running daemon follows the source for them at once, otherwise the next apply does\n", what)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "lift every suspension")
	return cmd
}

func (a *app) adoptCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "adopt [BOT...|--all]",
		Short: "Take over containers of this fleet that another state dir (or an older nectar) made",
		Long: "adopt makes this state dir the owner of the named bots' containers that nectar reports as\n" +
			"another's (a conflict): after the state dir was lost or recreated, or to take over from a\n" +
			"nectar that is retired. Stop the other nectar first: two nectars must never manage one bot.\n" +
			"Nothing is restarted; a later change recreates the container with this state dir's label.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := botArgs(args, all); err != nil {
				return err
			}
			// No lock: a daemon on this state dir may run, and reads the
			// adopted containers every pass.
			r, src, done, err := a.pass(cmd.Context(), false, "")
			if err != nil {
				return err
			}
			defer done()
			me, err := r.Owner()
			if err != nil {
				return err
			}
			res := r.Plan(cmd.Context(), src)
			if !res.SourceOK || res.EngineErr != nil {
				return printPlan(a.stderr, res)
			}
			stateDir, err := a.resolveStateDir()
			if err != nil {
				return err
			}
			add := map[string]owner.Adoption{}
			by, now := suspend.Who(), time.Now().UTC().Truncate(time.Second)
			for _, o := range res.Outcomes {
				c := o.Container
				if o.Kind != plan.Stalled || c == nil || c.Labels[runtime.LabelOwner] == me || (!all && !slices.Contains(args, o.Bot)) {
					continue
				}
				add[c.ID] = owner.Adoption{Bot: o.Bot, By: by, At: now}
				fmt.Fprintf(a.stdout, "adopted %s (bot %s)\n", c.Name, o.Bot)
			}
			if len(add) == 0 {
				return hint.New("no container to adopt: none of these bots' containers belongs to another nectar", "`nectar plan` lists conflicts as stalled, with the container's owner")
			}
			existing := map[string]bool{}
			for _, o := range res.Outcomes {
				if o.Container != nil {
					existing[o.Container.ID] = true
				}
			}
			return owner.Adopt(stateDir, add, func(id string) bool { return existing[id] })
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "adopt every container of the fleet that another nectar owns")
	return cmd
}
