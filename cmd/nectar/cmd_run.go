package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/daemon"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/web"
)

// EnvStatusToken holds the status page's token; a token is a secret, so
// it never comes as an argument (--status-token-file names a file).
const EnvStatusToken = "NECTAR_STATUS_TOKEN"

// runFlags are the daemon's own settings.
type runFlags struct {
	allowEmpty   bool
	poll         time.Duration
	resync       time.Duration
	sshKey       string
	knownHosts   string
	forcePolling bool
	listen       string
	tokenFile    string
	healthEvery  time.Duration
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
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8090", "address of the read-only status page (empty: none)")
	fl.DurationVar(&f.healthEvery, "health-every", 30*time.Second, "how often each running bot launched with hbot is asked for its own status (0: never)")
	fl.StringVar(&f.tokenFile, "status-token-file", "", "file holding the token every status request must carry (default: $"+EnvStatusToken+")")
	return cmd
}

func (a *app) run(ctx context.Context, f runFlags) error {
	daemon.TuneGC()
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
	token, err := statusToken(f.tokenFile)
	if err != nil {
		return err
	}
	kind := engineKind(ctx, src, log)
	e, err := a.engine(ctx, kind, f.allowEmpty, "nectar run", f.resync)
	if err != nil {
		return err
	}
	defer e.Close()
	ownerID, err := e.r.Owner()
	if err != nil {
		return err
	}
	inspections := daemon.NewInspections()
	store := status.NewStore(status.StoreOptions{Source: src.String(), Files: e.rd.Files, Derivations: e.rd.Derivations,
		Inspected: inspections.Get, Resync: f.resync})
	// The bot page's log, masked with the secrets of the fleet last loaded.
	logs := &web.LogReader{InstanceDir: e.rd.InstanceDir}
	if f.listen != "" {
		stop, err := a.serveStatus(ctx, f.listen, token, web.NewHandler(store, web.HandlerOptions{Token: token, Version: version, Log: log, Logs: logs}))
		if err != nil {
			return err
		}
		defer stop()
	}
	return daemon.Run(ctx, daemon.Config{
		Source:     src,
		Runtime:    e.rt,
		Reconciler: e.r,
		Resync:     f.resync,
		Log:        log,
		OnPass: func(res *reconcile.Result, src reconcile.Source, err error) {
			if res != nil && res.SourceOK {
				logs.Update(res.Loaded)
			}
			store.RecordPass(res, src, err)
		},
		// Start times and the engine's restart counts, for the page.
		Inspections: inspections,
		StateDir:    e.stateDir,
		Health: daemon.Health{
			Owner:       ownerID,
			Every:       healthEvery(kind, f.healthEvery),
			InstanceDir: e.rd.InstanceDir,
			OnHealth:    store.RecordHealth,
		},
	})
}

// engineKind is the engine the source's nectar.yaml names, read once at
// start. A source that cannot be read yet counts as the default engine;
// should its nectar.yaml name another, the passes say so and change
// nothing until nectar is restarted.
func engineKind(ctx context.Context, src source.Source, log *slog.Logger) string {
	snap, err := src.Snapshot(ctx)
	if snap.Close != nil {
		defer snap.Close()
	}
	if err != nil {
		log.Warn("cannot read the source to learn its engine; connecting to a single Docker engine", "error", err)
		return fleet.EngineDocker
	}
	return fleet.EngineOf(snap.FS)
}

// healthEvery is how often bots are asked for their status: never on
// Swarm, whose manager cannot signal a task's process, and whose bots
// write their status.json on their own node, out of nectar's reach.
func healthEvery(kind string, every time.Duration) time.Duration {
	if kind == fleet.EngineSwarm {
		return 0
	}
	return every
}

// statusToken reads the status page's token from the file, or else from
// the environment. Empty means no token.
func statusToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(EnvStatusToken)), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", hint.Wrap(fmt.Errorf("cannot read the status token: %w", err), "--status-token-file names a file holding the token on one line")
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", hint.New(fmt.Sprintf("the status token file %s is empty", file), "put a long random token in it, e.g. `openssl rand -hex 32 > "+file+"`")
	}
	return token, nil
}

// serveStatus listens on addr (so a taken port fails at start, not later)
// and serves h until ctx ends or the returned stop is called. The listener
// caps open connections, and the server hands addr to the handler, which
// without a token answers only requests addressed to this machine or addr.
func (a *app) serveStatus(ctx context.Context, addr, token string, h http.Handler) (stop func(), err error) {
	opts := web.DefaultServerOptions()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("cannot serve the status page on %s: %w", addr, err), "pick another address with --listen, or --listen '' for none")
	}
	ln = web.LimitListener(ln, opts.MaxConns)
	log := a.logger()
	if err := web.Exposure(addr, token); err != nil {
		// A warning, not an error: the page starts all the same.
		warnf(a.stderr, "%s", err)
		for _, h := range hint.Of(err) {
			fmt.Fprintf(a.stderr, "nectar: hint: %s\n", h)
		}
	}
	srv := opts.Server(addr, h)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the status page stopped", "error", err)
		}
	}()
	log.Info("status page", "url", "http://"+ln.Addr().String())
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}, nil
}
