package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/daemon"
	"github.com/nectarhq/nectar/internal/source"
)

// runFlags are the daemon's own settings.
type runFlags struct {
	allowEmpty   bool
	poll         time.Duration
	resync       time.Duration
	sshKey       string
	knownHosts   string
	forcePolling bool
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The daemon: watch the source, reconcile, serve the status page",
		Long: "run follows the source (file events for a folder, polling and ref watching for git),\n" +
			"reconciles whenever the source or the fleet's containers change, and serves the\n" +
			"read-only status page. SIGINT or SIGTERM end it after the pass under way; the bots\n" +
			"keep running. HTTPS git tokens come from $NECTAR_GIT_TOKEN (and $NECTAR_GIT_USERNAME),\n" +
			"never from an argument.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.run(ctx, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "prune even when the source holds no bot at all")
	fl.DurationVar(&f.poll, "poll", source.DefaultPoll, "how often a git remote is asked for its commit")
	fl.DurationVar(&f.resync, "resync", time.Minute, "period of full passes without any trigger")
	fl.StringVar(&f.sshKey, "ssh-key", "", "SSH private key file for a git source (default: $NECTAR_GIT_SSH_KEY, then the SSH agent)")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for a git source over SSH (default: $NECTAR_GIT_KNOWN_HOSTS, ~/.ssh/known_hosts)")
	fl.BoolVar(&f.forcePolling, "poll-folder", false, "poll a folder source instead of using file events (network file systems)")
	return cmd
}

func (a *app) run(ctx context.Context, f runFlags) error {
	log := a.logger()
	src, err := a.openSource(source.Spec{
		Poll:           f.poll,
		SSHKeyFile:     f.sshKey,
		KnownHostsFile: f.knownHosts,
		ForcePolling:   f.forcePolling,
		Log:            log,
	})
	if err != nil {
		return err
	}
	e, err := a.engine(ctx, f.allowEmpty)
	if err != nil {
		return err
	}
	defer e.Close()
	return daemon.Run(ctx, daemon.Config{
		Source:     src,
		Runtime:    e.rt,
		Reconciler: e.r,
		Resync:     f.resync,
		Log:        log,
	})
}
