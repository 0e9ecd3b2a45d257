package status_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/status"
)

// How `nectar run` puts the page together: the loop feeds the Store, the
// server reads it.
func Example() {
	renderer, err := render.New(render.StateDirOptions("/var/lib/nectar"))
	if err != nil {
		panic(err)
	}
	loop := &reconcile.Loop{ /* Reconciler, Snapshot, Changes, Events, Resync */ }
	store := status.NewStore(status.StoreOptions{
		Source:      "/srv/fleet",
		Files:       renderer.Files,
		Derivations: renderer.Derivations,
	})
	loop.OnPass = store.RecordPass

	const addr, token = "127.0.0.1:8090", ""
	if warning := status.ExposureWarning(addr, token); warning != "" {
		slog.Warn(warning)
	}
	srv := status.NewServer(addr, status.NewHandler(store, status.HandlerOptions{Token: token, Version: "v1.0.0"}))
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			slog.Error("status page stopped", "error", err)
		}
	}()
	// ... and on the way out:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

func ExampleWriteText() {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s := status.Status{
		Fleet:       "prod",
		Source:      "/srv/fleet",
		GeneratedAt: at.Add(90 * time.Second),
		Applied:     status.Revision{Revision: "sha256:0123456789ab", At: at},
		Attempted:   status.Revision{Revision: "sha256:0123456789ab", At: at},
		SourceOK:    true,
		Engine:      status.Engine{Reachable: true, CheckedAt: at},
		LastPass:    &status.Pass{Started: at, DurationMS: 31.5, Result: status.ResultOK},
		Bots: []status.BotStatus{{
			Name: "pmm-btc", Condition: status.ConditionReady, Desired: "running", Actual: "running",
			Health: status.HealthHealthy, Uptime: "3h 0m", Restarts: 0, NectarStarts: 1,
			LastAction: &status.Action{Kind: "create", Reason: "no container yet", At: at.Add(-3 * time.Hour)},
		}},
	}
	if err := status.WriteText(os.Stdout, s); err != nil {
		panic(err)
	}
	// Output:
	// fleet prod   source /srv/fleet
	// applied    sha256:0123456789ab (1m ago)
	// last pass  ok 1m ago, took 32 ms, 0 action(s), 0 failed
	// docker     reachable
	//
	// BOT      CONDITION  DESIRED  ACTUAL   HEALTH   TRADING  UPTIME  RESTARTS  STARTS  LAST ACTION
	// pmm-btc  ready      running  running  healthy  -        3h 0m   0         1       create: no container yet (3h ago)
}
