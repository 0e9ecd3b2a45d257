package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// Every page, API answer, event and metric, at every step of the story,
// is free of secrets. (The status package checks what the Store itself
// keeps, and cmd/nectar what `nectar status` prints.)
func TestNoSecretAnywhere(t *testing.T) {
	bad := statustest.Secrets(t)
	steps := statustest.Story(t)
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Source: statustest.SourceURL, Files: statustest.RenderedFiles, Derivations: func() uint64 { return 3 }, Now: clk.Now})
	h := NewHandler(s, HandlerOptions{Version: "test"})
	check := func(where string, body []byte) {
		t.Helper()
		for _, b := range bad {
			if bytes.Contains(body, []byte(b.Value)) {
				t.Errorf("%s contains %s", where, b.What)
			}
		}
	}
	for i := range steps {
		statustest.Play(t, s, clk, steps[i:i+1], 1)
		for _, target := range routesOf(s) {
			rec := get(t, h, target)
			check(steps[i].Name+": GET "+target, rec.Body.Bytes())
			for k, vs := range rec.Header() {
				check(steps[i].Name+": header "+k+" of "+target, []byte(strings.Join(vs, "\n")))
			}
		}
		check(steps[i].Name+": /events", firstEvents(t, h))
	}
}

// routesOf lists every GET route the handler serves for the Store's
// current state, plus a few that answer 404.
func routesOf(s *status.Store) []string {
	routes := []string{"/", "/accounts", "/files", "/api/v1/status", "/metrics", "/healthz", "/readyz",
		"/static/style.css", "/static/status.js", "/static/favicon.svg", "/nowhere", "/api/v1/bots/nobody", "/bots/nobody",
		"/files/accounts/master_account/password.age"}
	snap := s.Snapshot()
	for _, b := range snap.Status().Bots {
		routes = append(routes, "/bots/"+b.Name, "/api/v1/bots/"+b.Name)
	}
	if files := snap.Files(); files != nil {
		for _, f := range files.Files {
			routes = append(routes, "/files/"+f.Path)
		}
	}
	return routes
}

// firstEvents reads what /events sends in its first moments.
func firstEvents(t *testing.T, h http.Handler) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, localRequest(http.MethodGet, "/events").WithContext(ctx))
	if !strings.Contains(rec.Body.String(), "event: status") {
		t.Fatalf("/events sent no status event: %q", rec.Body)
	}
	return rec.Body.Bytes()
}
