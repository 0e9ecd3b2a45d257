package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/web"
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
	if warning := web.ExposureWarning(addr, token); warning != "" {
		slog.Warn(warning)
	}
	srv := web.NewServer(addr, web.NewHandler(store, web.HandlerOptions{Token: token, Version: "v1.0.0"}))
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
