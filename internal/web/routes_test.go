package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/status/statustest"
)

// answerOf sums up a response as the routing decides it: the status, the
// media type, the headers that tell a redirect, a refused method or a
// refused token, and, for short answers that are not pages, the first line
// of the body.
func answerOf(rec *httptest.ResponseRecorder) string {
	ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
	s := fmt.Sprintf("%d %s", rec.Code, ct)
	if loc := rec.Header().Get("Location"); loc != "" {
		s += " Location=" + loc
	}
	if allow := rec.Header().Get("Allow"); allow != "" {
		s += " Allow=" + allow
	}
	if rec.Header().Get("WWW-Authenticate") != "" {
		s += " WWW-Authenticate"
	}
	body := rec.Body.String()
	if (ct == "text/plain" || ct == "application/json") && rec.Code != http.StatusOK || len(body) < 40 && ct == "text/plain" {
		first, _, _ := strings.Cut(body, "\n")
		s += " " + first
	}
	return s
}

// Every route, and the paths around each that must not be one, answers as
// it does: the canonical-path rule (no redirect, ever, not even from a
// folder's name without its slash), 405 before anything else, /healthz and
// the assets without Host or token checks, 421 and 401 before a 404, and
// 404 as a page, as JSON under /api/, or as text for a missing asset.
func TestRouting(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	local := NewHandler(s, HandlerOptions{})
	withToken := NewHandler(s, HandlerOptions{Token: "t0ken-for-the-test"})
	const (
		page       = "200 text/html"
		notFound   = "404 text/html"
		jsonNotHit = "404 application/json {\"error\":\"not found: "
	)
	tests := []struct {
		h      http.Handler
		method string
		host   string // "" is this machine
		target string
		want   string
	}{
		// The routes.
		{local, "GET", "", "/", page},
		{local, "GET", "", "/?x=1", page},
		{local, "GET", "", "/accounts", page},
		{local, "GET", "", "/files", page},
		{local, "GET", "", "/files/scripts/quote_logger.py", page},
		{local, "GET", "", "/bots/pmm-btc", page},
		{local, "GET", "", "/api/v1/status", "200 application/json"},
		{local, "GET", "", "/api/v1/bots/pmm-btc", "200 application/json"},
		{local, "GET", "", "/metrics", "200 text/plain"},
		{local, "GET", "", "/readyz", "200 text/plain ready"},
		{local, "GET", "", "/healthz", "200 text/plain ok"},
		{local, "GET", "", "/static/style.css", "200 text/css"},
		{local, "GET", "", "/static/status.js", "200 text/javascript"},
		{local, "GET", "", "/static/favicon.svg", "200 image/svg+xml"},
		{local, "GET", "", "/events", "200 text/event-stream"},
		{local, "HEAD", "", "/", page},
		{local, "HEAD", "", "/api/v1/status", "200 application/json"},
		{local, "HEAD", "", "/healthz", "200 text/plain ok"},

		// What is not there, and answers 404 in its route's form.
		{local, "GET", "", "/nowhere", notFound},
		{local, "GET", "", "/bots/nobody", notFound},
		{local, "GET", "", "/bots/pmm-btc/log", notFound},
		{local, "GET", "", "/bots/pmm-btc%2Flog", notFound},
		{local, "GET", "", "/files/scripts/nope.py", notFound},
		{local, "GET", "", "/files/scripts", notFound},
		{local, "GET", "", "/api/v1/bots/nobody", "404 application/json {\"error\":\"no bot named \\\"nobody\\\" in the fleet\"}"},
		{local, "GET", "", "/api/v1/bots/a/b", "404 application/json {\"error\":\"no bot named \\\"a/b\\\" in the fleet\"}"},
		{local, "GET", "", "/api/v1/bots/a%2Fb", "404 application/json {\"error\":\"no bot named \\\"a/b\\\" in the fleet\"}"},
		{local, "GET", "", "/api/v1", jsonNotHit + "/api/v1\"}"},
		{local, "GET", "", "/api/v1/nothing", jsonNotHit + "/api/v1/nothing\"}"},
		{local, "GET", "", "/api", notFound},
		{local, "GET", "", "/static/nope.css", "404 text/plain not found"},
		{local, "GET", "", "/static/layout.html", "404 text/plain not found"},
		{local, "GET", "", "/static/sub/style.css", "404 text/plain not found"},

		// A folder's name without its slash is not redirected to it.
		{local, "GET", "", "/bots", notFound},
		{local, "GET", "", "/static", notFound},
		{local, "GET", "", "/api/v1/bots", jsonNotHit + "/api/v1/bots\"}"},

		// Paths that are not canonical are not there; nothing redirects.
		{local, "GET", "", "/bots/", notFound},
		{local, "GET", "", "/files/", notFound},
		{local, "GET", "", "/static/", notFound},
		{local, "GET", "", "/accounts/", notFound},
		{local, "GET", "", "/healthz/", notFound},
		{local, "GET", "", "/metrics/", notFound},
		{local, "GET", "", "//accounts", notFound},
		{local, "GET", "", "/./accounts", notFound},
		{local, "GET", "", "/bots/../accounts", notFound},
		{local, "GET", "", "/static/../static/style.css", notFound},
		{local, "GET", "", "/api/v1/bots/", jsonNotHit + "/api/v1/bots/\"}"},
		{local, "GET", "", "/api/v1/status/", jsonNotHit + "/api/v1/status/\"}"},
		{local, "GET", "", "/api/", jsonNotHit + "/api/\"}"},

		// Routes are chosen by the decoded path, so a route's name may be
		// spelled with escapes, an escaped slash included; under /files/
		// an escaped slash is part of a file's name, never a separator.
		{local, "GET", "", "/bot%73/pmm-btc", page},
		{local, "GET", "", "/static/style%2Ecss", "200 text/css"},
		{local, "GET", "", "/bots%2Fpmm-btc", page},
		{local, "GET", "", "/static%2Fstyle.css", "200 text/css"},
		{local, "GET", "", "/api%2Fv1/status", "200 application/json"},
		{local, "GET", "", "/files%2Fscripts/quote_logger.py", notFound},
		{local, "GET", "", "/files/scripts%2Fquote_logger.py", notFound},
		{local, "GET", "", "/files/scripts/quote%5Flogger.py", page},

		// Only GET and HEAD, anywhere, before any other check.
		{local, "POST", "", "/", "405 text/plain Allow=GET, HEAD method POST not allowed: the status page is read-only"},
		{local, "PUT", "", "/nowhere", "405 text/plain Allow=GET, HEAD method PUT not allowed: the status page is read-only"},
		{local, "DELETE", "evil.example", "/healthz", "405 text/plain Allow=GET, HEAD method DELETE not allowed: the status page is read-only"},
		{local, "CONNECT", "", "/", "405 text/plain Allow=GET, HEAD method CONNECT not allowed: the status page is read-only"},
		{withToken, "OPTIONS", "", "/static/style.css", "405 text/plain Allow=GET, HEAD method OPTIONS not allowed: the status page is read-only"},

		// A Host that does not name this machine: 421, but for /healthz
		// and the assets; even a 404 names the fleet.
		{local, "GET", "evil.example", "/", "421 text/plain misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address"},
		{local, "GET", "evil.example", "/nowhere", "421 text/plain misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address"},
		{local, "GET", "evil.example", "/static", "421 text/plain misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address"},
		{local, "GET", "evil.example", "/healthz/", "421 text/plain misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address"},
		{local, "GET", "evil.example", "/healthz", "200 text/plain ok"},
		{local, "GET", "evil.example", "/static/style.css", "200 text/css"},
		{local, "GET", "evil.example", "/static/nope.css", "404 text/plain not found"},

		// With a token: 401 without it, but for /healthz and the assets.
		{withToken, "GET", "", "/", "401 text/plain WWW-Authenticate this status page needs a token"},
		{withToken, "GET", "", "/nowhere", "401 text/plain WWW-Authenticate this status page needs a token"},
		{withToken, "GET", "", "/bots", "401 text/plain WWW-Authenticate this status page needs a token"},
		{withToken, "GET", "", "/files/", "401 text/plain WWW-Authenticate this status page needs a token"},
		{withToken, "GET", "", "/api/v1/status", "401 text/plain WWW-Authenticate this status page needs a token"},
		{withToken, "GET", "", "/healthz", "200 text/plain ok"},
		{withToken, "GET", "", "/static/status.js", "200 text/javascript"},
		{withToken, "GET", "", "/static/nope.js", "404 text/plain not found"},
		{withToken, "GET", "", "/?token=t0ken-for-the-test", page},
	}
	for _, tt := range tests {
		req := localRequest(tt.method, tt.target)
		if tt.host != "" {
			req.Host = tt.host
		}
		if tt.target == "/events" {
			// The stream stays open until the client goes; this one has
			// gone already, so only its start is seen.
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, req)
		if got := answerOf(rec); got != tt.want {
			t.Errorf("%s %s (host %q, token %v):\n got %s\nwant %s", tt.method, tt.target, tt.host, tt.h == withToken, got, tt.want)
		}
	}
}

// A handler served on an address answers requests addressed to it by
// name, through the routes of its own copy, while the handler it was made
// from, which knows no address, still refuses that name.
func TestServedOnRoutesWithItsOwnHosts(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{}).(*handler)
	served := h.servedOn("nectar.lan:8090")
	for _, tt := range []struct {
		h      http.Handler
		target string
		want   int
	}{
		{served, "/", http.StatusOK},
		{served, "/bots/pmm-btc", http.StatusOK},
		{served, "/nowhere", http.StatusNotFound},
		{h, "/", http.StatusMisdirectedRequest},
		{h, "/nowhere", http.StatusMisdirectedRequest},
	} {
		req := localRequest(http.MethodGet, tt.target)
		req.Host = "nectar.lan:8090"
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s (served on an address %v): %d, want %d", tt.target, tt.h == served, rec.Code, tt.want)
		}
	}
}
