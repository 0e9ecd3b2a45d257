package status

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOptions configure the status page's handler.
type HandlerOptions struct {
	// Logs reads the end of a bot's log for its page; nil shows none.
	Logs *LogReader
	// Token, when set, is required on every request but /healthz and the
	// page's static assets: "Authorization: Bearer <token>", or
	// "?token=<token>" once in a browser (a cookie then carries it).
	Token string
	// Version is nectar's version, shown in the page footer.
	Version string
	// Gatherer serves /metrics. Nil: a registry of the Store's metrics and
	// the Go runtime's.
	Gatherer prometheus.Gatherer
	// Log receives the handler's own failures (a template that would not
	// render, say); nil discards them.
	Log *slog.Logger
	// Listen is the address the page is served on ("127.0.0.1:8090").
	// Without a Token, only requests whose Host names this machine are
	// answered: a loopback address, localhost (or a name under it), or
	// Listen's own host; others get 421, which keeps a DNS-rebinding web
	// page from reading the fleet through the operator's browser. When
	// Listen is empty or a wildcard (":8090", "0.0.0.0:8090"), any IP
	// literal is accepted too, but no other name. ServerOptions.Server
	// fills it in from its addr when left empty.
	Listen string
}

// handler serves the status page from a Store.
type handler struct {
	store   *Store
	opts    HandlerOptions
	auth    *auth
	metrics http.Handler
	events  *eventStreams
	cache   *answerCache
	hosts   hostPolicy
	log     *slog.Logger
}

// NewHandler returns the read-only status page: HTML pages, the JSON API,
// server-sent events, metrics and health checks. Only GET and HEAD are
// served; every response carries a strict Content-Security-Policy.
func NewHandler(store *Store, opts HandlerOptions) http.Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(store.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Gatherer = reg
	}
	return &handler{
		store:   store,
		opts:    opts,
		auth:    newAuth(opts.Token),
		metrics: promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{opts.Log}}),
		events:  &eventStreams{store: store},
		cache:   &answerCache{},
		hosts:   newHostPolicy(opts.Listen, opts.Token),
		log:     opts.Log,
	}
}

// servedOn returns the handler as served on addr, when it was built
// without a listen address; it shares everything else with h.
func (h *handler) servedOn(addr string) *handler {
	if h.opts.Listen != "" {
		return h
	}
	c := *h
	c.opts.Listen = addr
	c.hosts = newHostPolicy(addr, h.opts.Token)
	return &c
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: the status page is read-only")
		return
	}
	p := r.URL.Path
	// Only canonical paths are served: "..", "//", "/./" and trailing
	// slashes are not redirected to somewhere else, they are simply not
	// there. That keeps every route's namespace exactly what it says.
	canonical := p != "" && p[0] == '/' && path.Clean(p) == p
	// /healthz and the static assets tell nothing about the fleet: they
	// need neither the token nor a Host naming this machine, so probes
	// may use a service name ("http://nectar:8090/healthz").
	if canonical && p == "/healthz" {
		plainText(w, http.StatusOK, "ok\n")
		return
	}
	if asset, ok := strings.CutPrefix(p, "/static/"); ok && canonical {
		// A browser fetches these without the token a curl user would send.
		serveAsset(w, asset)
		return
	}
	// Everything else shows the fleet, even a 404 page (its header names
	// the fleet), so the Host and the token are checked first.
	if !h.hosts.allows(r.Host) {
		plainError(w, http.StatusMisdirectedRequest, "misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address\nhint: open it by that address, or set a token")
		return
	}
	if !h.auth.check(w, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nectar status"`)
		plainError(w, http.StatusUnauthorized, "this status page needs a token\nhint: send \"Authorization: Bearer <token>\", or open the page once with ?token=<token>")
		return
	}
	if !canonical {
		h.notFound(w, r)
		return
	}
	switch {
	case p == "/":
		h.overview(w, r)
	case p == "/accounts":
		h.accounts(w, r)
	case p == "/files":
		h.fileList(w, r)
	case strings.HasPrefix(p, "/files/"):
		h.file(w, r)
	case strings.HasPrefix(p, "/bots/"):
		h.bot(w, r, strings.TrimPrefix(p, "/bots/"))
	case p == "/events":
		h.events.serve(w, r)
	case p == "/api/v1/status":
		h.apiStatus(w, r)
	case strings.HasPrefix(p, "/api/v1/bots/"):
		h.apiBot(w, r, strings.TrimPrefix(p, "/api/v1/bots/"))
	case p == "/metrics":
		h.metrics.ServeHTTP(w, r)
	case p == "/readyz":
		h.readyz(w)
	default:
		h.notFound(w, r)
	}
}

// readyz answers 200 once the daemon has completed a pass that loaded the
// source and listed the engine, and 503 before.
func (h *handler) readyz(w http.ResponseWriter) {
	if h.store.Ready() {
		plainText(w, http.StatusOK, "ready\n")
		return
	}
	plainText(w, http.StatusServiceUnavailable, "not ready: no pass has loaded the source and listed the engine yet\n")
}

// notFound answers 404 in the form the route's clients read.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		jsonError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	h.page(w, r, h.store.current(), http.StatusNotFound, "notfound", pageData{Title: "Not found", Missing: r.URL.Path})
}

// slogPrinter lets promhttp report its errors to the handler's log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("serving metrics failed", "error", fmt.Sprint(v...))
}
