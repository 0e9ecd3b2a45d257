package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nectarhq/nectar/internal/status"
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
	store   *status.Store
	opts    HandlerOptions
	auth    *auth
	metrics http.Handler
	events  *eventStreams
	cache   *answerCache
	rows    *rowCache
	hosts   hostPolicy
	log     *slog.Logger
	// routes dispatches a canonical path of a GET or HEAD request; it is
	// made for this handler (see routes), so a copy gets its own.
	routes *http.ServeMux
}

// NewHandler returns the read-only status page: HTML pages, the JSON API,
// server-sent events, metrics and health checks. Only GET and HEAD are
// served; every response carries a strict Content-Security-Policy.
func NewHandler(store *status.Store, opts HandlerOptions) http.Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(store.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Gatherer = reg
	}
	h := &handler{
		store:   store,
		opts:    opts,
		auth:    newAuth(opts.Token),
		metrics: promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{opts.Log}}),
		events:  &eventStreams{store: store},
		cache:   &answerCache{},
		rows:    &rowCache{},
		hosts:   newHostPolicy(opts.Listen, opts.Token),
		log:     opts.Log,
	}
	h.routes = h.newRoutes()
	store.BeforePublish(h.warm)
	return h
}

// warm renders the answers asked for most, the overview and
// /api/v1/status, for a snapshot about to be published. Every open tab and
// every poller asks for them right after each pass; rendered on demand,
// they would all wait for the first of them to render, and that wait was
// the page's slowest answers under load.
func (h *handler) warm(snap *status.Snapshot) {
	if _, err := h.pageBody(snap, http.StatusOK, overviewKey, "overview", overviewData); err != nil {
		h.log.Error("cannot render the status page", "page", "overview", "error", err)
	}
	if _, err := h.jsonBody(snap, apiStatusKey, apiStatusValue); err != nil {
		h.log.Error("cannot encode the status as JSON", "error", err)
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
	c.routes = c.newRoutes() // the routes check c's hosts, not h's
	return &c
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: the status page is read-only")
		return
	}
	// Only canonical paths are served: "..", "//", "/./" and trailing
	// slashes are not redirected to somewhere else, they are simply not
	// there. That keeps every route's namespace exactly what it says.
	// (ServeMux would redirect them; it never sees one.)
	p := r.URL.Path
	if p == "" || p[0] != '/' || path.Clean(p) != p {
		h.guarded(h.notFound).ServeHTTP(w, r)
		return
	}
	// Routes are chosen by the decoded path, so "/api%2Fv1/status" is
	// /api/v1/status, where ServeMux would keep "%2F" inside a name. The
	// one exception is /files/, whose handler reads the escaped names one
	// by one itself: there an escaped slash belongs to a file's name.
	if r.URL.RawPath != "" && !strings.HasPrefix(p, "/files/") {
		decoded := *r.URL
		decoded.RawPath = ""
		r = r.WithContext(r.Context()) // a shallow copy, whose URL may change
		r.URL = &decoded
	}
	h.routes.ServeHTTP(w, r)
}

// newRoutes maps each canonical path to its answer. Only GET and HEAD get
// this far (a GET pattern matches HEAD too).
func (h *handler) newRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	// /healthz and the static assets tell nothing about the fleet: they
	// need neither the token nor a Host naming this machine, so probes
	// may use a service name ("http://nectar:8090/healthz").
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plainText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /static/{asset...}", func(w http.ResponseWriter, r *http.Request) {
		// A browser fetches these without the token a curl user would send.
		serveAsset(w, r.PathValue("asset"))
	})

	// Everything else shows the fleet, even a 404 page (its header names
	// the fleet), so the Host and the token are checked first.
	route := func(pattern string, serve http.HandlerFunc) { mux.Handle(pattern, h.guarded(serve)) }
	route("GET /{$}", h.overview)
	route("GET /accounts", h.accounts)
	route("GET /files", h.fileList)
	route("GET /files/{path...}", h.file) // file reads the path itself, segment by segment
	route("GET /bots/{name...}", func(w http.ResponseWriter, r *http.Request) { h.bot(w, r, r.PathValue("name")) })
	route("GET /events", h.events.serve)
	route("GET /api/v1/status", h.apiStatus)
	route("GET /api/v1/bots/{name...}", func(w http.ResponseWriter, r *http.Request) { h.apiBot(w, r, r.PathValue("name")) })
	route("GET /metrics", h.metrics.ServeHTTP)
	route("GET /readyz", func(w http.ResponseWriter, r *http.Request) { h.readyz(w) })
	route("/", h.notFound)
	// ServeMux answers the name of a folder of routes without its slash
	// ("/bots") with a redirect to the folder ("/bots/"). Here such a name
	// is simply not there, like every other path that is not a route.
	for _, folder := range []string{"/static", "/bots", "/api/v1/bots"} {
		route("GET "+folder, h.notFound)
	}
	return mux
}

// guarded checks that the request may see the fleet (its Host names this
// machine unless a token is set, and it carries the token if one is)
// before serve answers it.
func (h *handler) guarded(serve http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.hosts.allows(r.Host) {
			plainError(w, http.StatusMisdirectedRequest, "misdirected request: without a token this status page answers only requests addressed to this machine (127.0.0.1, localhost) or to its --listen address\nhint: open it by that address, or set a token")
			return
		}
		if !h.auth.check(w, r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nectar status"`)
			plainError(w, http.StatusUnauthorized, "this status page needs a token\nhint: send \"Authorization: Bearer <token>\", or open the page once with ?token=<token>")
			return
		}
		serve(w, r)
	})
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
	h.page(w, r, h.store.Snapshot(), http.StatusNotFound, "notfound", pageData{Title: "Not found", Missing: r.URL.Path})
}

// slogPrinter lets promhttp report its errors to the handler's log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("serving metrics failed", "error", fmt.Sprint(v...))
}
