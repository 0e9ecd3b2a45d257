package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// Nothing but GET and HEAD is served, anywhere.
func TestOnlyGetAndHead(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{Token: "t0ken-for-the-test"})
	for _, target := range append(routesOf(s), "/events") {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("x=1")))
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", method, target, rec.Code)
			}
			if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("%s %s: Allow %q", method, target, got)
			}
		}
	}
}

func TestHeadHasNoBody(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{}))
	defer srv.Close()
	for _, target := range []string{"/", "/api/v1/status", "/events", "/metrics"} {
		resp, err := http.Head(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes of body", target, resp.StatusCode, len(body))
		}
	}
}

func TestToken(t *testing.T) {
	const token = "correct horse battery staple"
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{Token: token})
	serve := func(target string, prep func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if prep != nil {
			prep(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	bearer := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+v) }
	}

	for _, target := range []string{"/", "/bots/pmm-btc", "/accounts", "/files", "/api/v1/status", "/api/v1/bots/pmm-btc", "/metrics", "/readyz", "/events", "/nowhere"} {
		if rec := serve(target, nil); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a token: %d, WWW-Authenticate %q", target, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		if rec := serve(target, bearer("correct horse battery")); rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", target, rec.Code)
		}
	}
	if rec := serve("/api/v1/status", bearer(token)); rec.Code != http.StatusOK {
		t.Errorf("bearer token: %d", rec.Code)
	}
	if rec := serve("/?token=wrong", nil); rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Errorf("wrong ?token=: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}

	// A browser opens the page once with ?token= and carries on with the cookie.
	rec := serve("/?token="+strings.ReplaceAll(token, " ", "+"), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("?token=: %d", rec.Code)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("?token= set cookies %v, want one HttpOnly SameSite=Strict cookie", cookies)
	}
	if strings.Contains(cookies[0].Value, "horse") {
		t.Error("the cookie holds the token itself")
	}
	withCookie := func(c *http.Cookie) func(*http.Request) { return func(r *http.Request) { r.AddCookie(c) } }
	if rec := serve("/bots/pmm-btc", withCookie(cookies[0])); rec.Code != http.StatusOK {
		t.Errorf("with the cookie: %d", rec.Code)
	}
	forged := *cookies[0]
	forged.Value = strings.Repeat("0", len(forged.Value))
	if rec := serve("/", withCookie(&forged)); rec.Code != http.StatusUnauthorized {
		t.Errorf("with a forged cookie: %d", rec.Code)
	}

	// Liveness and the static assets need no token.
	for _, target := range []string{"/healthz", "/static/style.css", "/static/status.js"} {
		if rec := serve(target, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a token: %d", target, rec.Code)
		}
	}
}

// /files serves the in-memory copy of the shared folders and nothing else:
// every way of climbing out of it finds nothing.
func TestFilesConfined(t *testing.T) {
	fsys := statustest.ExampleFS(t)
	fsys["scripts/escape.py"] = &fstest.MapFile{Data: []byte("../accounts/master_account/password.age"), Mode: fs.ModeSymlink | 0o777}
	fsys["scripts/.hidden.py"] = &fstest.MapFile{Data: []byte("print('hidden')")}
	fsys["conf/connectors/binance.yml"] = &fstest.MapFile{Data: []byte("binance_api_key: plaintext-by-mistake")}
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	steps := statustest.Story(t)
	st := steps[0]
	s.RecordPass(st.Res, reconcile.Source{Revision: st.Res.Revision, FS: fsys}, nil)
	h := NewHandler(s, HandlerOptions{})

	if rec := get(t, h, "/files/scripts/quote_logger.py"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "class QuoteLogger") {
		t.Fatalf("the shared script is not served: %d", rec.Code)
	}
	for _, target := range []string{
		"/files/../accounts/master_account/password.age",
		"/files/%2e%2e/accounts/master_account/password.age",
		"/files/%2E%2E%2Faccounts%2Fmaster_account%2Fpassword.age",
		"/files/scripts/../../accounts/master_account/password.age",
		"/files/scripts/..%2f..%2faccounts/master_account/password.age",
		"/files/accounts/master_account/password.age",
		"/files/accounts/master_account/binance.yml.age",
		"/files//etc/passwd",
		"/files/%2fetc%2fpasswd",
		"/files/./scripts/quote_logger.py",
		"/files/scripts/quote_logger.py/",
		"/files/scripts%5c..%5c..%5caccounts%5cmaster_account%5cpassword.age",
		"/files/scripts/quote_logger.py%00",
		"/files/scripts/escape.py",
		"/files/scripts/.hidden.py",
		"/files/conf/connectors/binance.yml",
		"/files/nectar.yaml",
		"/files/bots/pmm-btc.yml",
		"/files/scripts",
		"/static/../files/scripts/quote_logger.py",
		"/static/layout.html",
	} {
		rec := get(t, h, target)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "plaintext-by-mistake") || strings.Contains(rec.Body.String(), "AGE ENCRYPTED") {
			t.Errorf("GET %s leaked a file's content", target)
		}
	}
	list := get(t, h, "/files").Body.String()
	for _, hidden := range []string{"scripts/.hidden.py", "conf/connectors/binance.yml", "accounts/master_account", "/files/scripts/escape.py"} {
		if strings.Contains(list, hidden) {
			t.Errorf("/files lists %s", hidden)
		}
	}
	// The link into accounts/ is named, so the list is what the bots get,
	// but neither its target nor a link to it is shown.
	if want := "<code>scripts/escape.py</code></td><td class=\"num\">0 B</td><td>link into accounts/; never shown</td>"; !strings.Contains(list, want) {
		t.Errorf("/files does not list the link into accounts/ as never shown")
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{Token: "a-token-for-the-test"})
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	}
	type request struct{ method, target, auth string }
	var reqs []request
	for _, target := range routesOf(s) {
		reqs = append(reqs, request{"GET", target, "a-token-for-the-test"}, request{"GET", target, ""}, request{"POST", target, ""})
	}
	reqs = append(reqs, request{"GET", "/files/../x", ""})
	for _, r := range reqs {
		req := httptest.NewRequest(r.method, r.target, nil)
		if r.auth != "" {
			req.Header.Set("Authorization", "Bearer "+r.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s (%d): %s is %q", r.method, r.target, rec.Code, k, got)
			}
		}
		if rec.Header().Get("Content-Type") == "" {
			t.Errorf("%s %s (%d): no Content-Type", r.method, r.target, rec.Code)
		}
	}
}

// The pages themselves hold no inline script or style, so the policy
// above can stay strict.
func TestPagesNeedNoInlineCode(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{})
	for _, target := range routesOf(s) {
		rec := get(t, h, target)
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			continue
		}
		body := rec.Body.String()
		for _, bad := range []string{"<script>", "style=", "<style", " on" + "click=", " on" + "load=", "javascript:", "<meta http-equiv=\"refresh\"", "http://", "https://cdn"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", target, bad)
			}
		}
	}
}

func TestReadyz(t *testing.T) {
	steps := statustest.Story(t)
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	h := NewHandler(s, HandlerOptions{})
	code := func() int { return get(t, h, "/readyz").Code }
	if c := code(); c != http.StatusServiceUnavailable {
		t.Fatalf("before any pass: %d", c)
	}
	s.RecordPass(nil, reconcile.Source{}, errors.New("cannot clone the repository: repository not found"))
	engineDown := steps[3].Res
	s.RecordPass(engineDown, reconcile.Source{Revision: engineDown.Revision, FS: statustest.ExampleFS(t)}, nil)
	if c := code(); c != http.StatusServiceUnavailable {
		t.Fatalf("after a source error and an engine error: %d", c)
	}
	statustest.Play(t, s, clk, steps, 1)
	if c := code(); c != http.StatusOK {
		t.Fatalf("after an applied pass: %d", c)
	}
	statustest.Play(t, s, clk, steps, -1) // ends with the source failing
	if c := code(); c != http.StatusOK {
		t.Fatalf("readiness is lost after a failing pass: %d", c)
	}
	if c := get(t, h, "/healthz").Code; c != http.StatusOK {
		t.Fatalf("/healthz: %d", c)
	}
}

// readEvent reads one server-sent event and returns its data line.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			return data
		}
	}
}

func TestEventsAfterRecordPass(t *testing.T) {
	s, clk := statustest.NewStore(t, 2)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if got := readEvent(t, r); got != `{"version":2}` {
		t.Fatalf("first event %s, want the current version 2", got)
	}
	statustest.Play(t, s, clk, statustest.Story(t)[2:3], 1)
	if got := readEvent(t, r); got != `{"version":3}` {
		t.Fatalf("event after RecordPass %s, want version 3", got)
	}
}

// An event stream outlives the server's read and write timeouts, and
// Shutdown still ends it at once.
func TestEventsOutliveTimeouts(t *testing.T) {
	s, clk := statustest.NewStore(t, 1)
	opts := DefaultServerOptions()
	opts.ReadTimeout, opts.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	srv := opts.Server("127.0.0.1:0", NewHandler(s, HandlerOptions{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readEvent(t, r)
	time.Sleep(700 * time.Millisecond) // well past both timeouts
	statustest.Play(t, s, clk, statustest.Story(t)[1:2], 1)
	if got := readEvent(t, r); got != `{"version":2}` {
		t.Fatalf("event after the timeouts: %s", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an open event stream: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown waited %s for the event stream", d)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{})
	rec := get(t, h, "/api/v1/bots/nobody")
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), `no bot named \"nobody\"`) {
		t.Errorf("/api/v1/bots/nobody: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = get(t, h, "/bots/<script>")
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("/bots/<script>: %d, body echoes the path unescaped: %v", rec.Code, strings.Contains(rec.Body.String(), "<script>"))
	}
}

func TestMetrics(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	body := get(t, NewHandler(s, HandlerOptions{}), "/metrics").Body.String()
	for _, want := range []string{
		`nectar_passes_total{result="changed"} 2`,
		`nectar_passes_total{result="engine_unreachable"} 1`,
		`nectar_passes_total{result="failed"} 1`,
		`nectar_passes_total{result="source_error"} 2`,
		`nectar_passes_total{result="ok"} 2`,
		`nectar_pass_duration_seconds_count 8`,
		`nectar_actions_total{kind="create"} 3`,
		`nectar_actions_total{kind="recreate"} 1`,
		`nectar_action_errors_total{kind="start"} 1`,
		`nectar_source_errors_total 2`,
		`nectar_bots{condition="ready"} 2`,
		`nectar_bots{condition="crashloop"} 1`,
		`nectar_bots{condition="failed"} 0`,
		`nectar_engine_reachable 1`,
		`nectar_ready 1`,
		`nectar_source_ok 0`,
		`nectar_key_derivations_total 7`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestExposureWarning(t *testing.T) {
	tests := []struct {
		addr, token string
		warn        bool
	}{
		{"127.0.0.1:8090", "", false},
		{"localhost:8090", "", false},
		{"[::1]:8090", "", false},
		{"127.0.0.2:8090", "", false},
		{":8090", "", true},
		{"0.0.0.0:8090", "", true},
		{"[::]:8090", "", true},
		{"192.168.1.10:8090", "", true},
		{"status.example.com:8090", "", true},
		{"0.0.0.0:8090", "a-token", false},
	}
	for _, tt := range tests {
		got := ExposureWarning(tt.addr, tt.token)
		if (got != "") != tt.warn {
			t.Errorf("ExposureWarning(%q, token set: %v) = %q", tt.addr, tt.token != "", got)
		}
		if got != "" && !strings.Contains(got, "\nhint: ") {
			t.Errorf("the warning for %s has no hint: %q", tt.addr, got)
		}
	}
}

// Answers are cached within a second, but never across a pass.
func TestAnswersFollowEveryPass(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	h := NewHandler(s, HandlerOptions{})
	steps := statustest.Story(t)
	for i, st := range steps[:3] {
		s.RecordPass(st.Res, reconcile.Source{Revision: st.Res.Revision, FS: statustest.ExampleFS(t)}, nil) // the clock stands still
		for _, target := range []string{"/api/v1/status", "/"} {
			body := get(t, h, target).Body.String()
			want := `"passes": ` + strconv.Itoa(i+1) + ","
			if target == "/" {
				want = `data-snapshot="` + strconv.Itoa(i+1) + `"`
			}
			if !strings.Contains(body, want) {
				t.Errorf("after pass %d, GET %s lacks %s", i+1, target, want)
			}
		}
	}
}

// A git revision is shown with its commit's subject and author, in the
// API and on the overview, escaped like every text of the page.
func TestRevisionShowsItsCommit(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	res := statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.Create, "no container yet", nil, nil))
	res.Commit = &source.Commit{Subject: "Raise <b>BTC</b> spread", Author: "Ada Operator", When: statustest.T0}
	s.RecordPass(res, reconcile.Source{}, nil)
	st := s.View()
	if st.Applied.Subject != "Raise <b>BTC</b> spread" || st.Applied.Author != "Ada Operator" || st.Attempted.Subject != st.Applied.Subject {
		t.Errorf("applied %+v, attempted %+v", st.Applied, st.Attempted)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "127.0.0.1:8090"
	NewHandler(s, HandlerOptions{}).ServeHTTP(rec, req)
	page := rec.Body.String()
	if !strings.Contains(page, `<span class="commit">Raise &lt;b&gt;BTC&lt;/b&gt; spread</span>`) || !strings.Contains(page, "by Ada Operator") {
		t.Errorf("the overview does not show the commit:\n%s", page)
	}
}

// The overview and /api/v1/status are made while a pass is recorded,
// before its snapshot is published, so no request waits for them.
func TestCommonAnswersReadyAtPublish(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	h := NewHandler(s, HandlerOptions{}).(*handler)
	ready := func(key string) []byte {
		h.cache.mu.Lock()
		defer h.cache.mu.Unlock()
		if e := h.cache.entries[key]; e != nil && e.version == s.Snapshot().Version() {
			return e.body
		}
		return nil
	}
	for i, st := range statustest.Story(t)[:3] {
		s.RecordPass(st.Res, reconcile.Source{Revision: st.Res.Revision, FS: statustest.ExampleFS(t)}, nil)
		for _, key := range []string{overviewKey, apiStatusKey} {
			if ready(key) == nil {
				t.Fatalf("pass %d: %s is not ready when its snapshot is published", i+1, key)
			}
		}
		// What is served is what was made ahead.
		if got := get(t, h, "/").Body.String(); got != string(ready(overviewKey)) {
			t.Fatalf("pass %d: the overview served is not the one made ahead", i+1)
		}
		if got := get(t, h, "/api/v1/status").Body.String(); got != string(ready(apiStatusKey)) {
			t.Fatalf("pass %d: /api/v1/status served is not the one made ahead", i+1)
		}
	}
}
