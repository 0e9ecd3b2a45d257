package web

import (
	"bufio"
	"context"
	"errors"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// A web page the operator visits can have its own name resolve to
// 127.0.0.1 (DNS rebinding) and read the page as same-origin. Its requests
// still carry that name as the Host, and without a token they are refused.
func TestHostCheckWithoutToken(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	fleetRoutes := []string{"/", "/api/v1/status", "/accounts", "/files", "/files/scripts/quote_logger.py",
		"/bots/pmm-btc", "/api/v1/bots/pmm-btc", "/metrics", "/readyz", "/events", "/nowhere", "/files/../x", "/static/../api/v1/status"}
	tests := []struct {
		listen string
		allow  []string
		refuse []string
	}{
		{
			listen: "127.0.0.1:8090",
			allow: []string{"127.0.0.1:8090", "127.0.0.1", "127.1.2.3:8090", "[::1]:8090", "[::1]", "::1", "[::ffff:127.0.0.1]:8090",
				"localhost:8090", "LOCALHOST", "localhost.:8090", "status.localhost:8090"},
			refuse: []string{"attacker.example", "attacker.example:8090", "127.0.0.1.attacker.example:8090", "localhost.attacker.example",
				"192.168.1.10:8090", "[2001:db8::1]:8090", "[::1]x", "[::1", "0x7f.0.0.1:8090", "2130706433:8090"},
		},
		{
			listen: "localhost:8090",
			allow:  []string{"localhost:8090", "127.0.0.1:8090", "[::1]:8090"},
			refuse: []string{"attacker.example:8090", "10.0.0.1:8090"},
		},
		{
			listen: "192.168.1.10:8090",
			allow:  []string{"192.168.1.10:8090", "192.168.1.10", "127.0.0.1:8090", "localhost:8090"},
			refuse: []string{"192.168.1.11:8090", "attacker.example:8090"},
		},
		{
			listen: "status.lan:8090",
			allow:  []string{"status.lan:8090", "STATUS.LAN", "status.lan.:8090", "127.0.0.1:8090"},
			refuse: []string{"status.lan.attacker.example", "lan:8090", "192.168.1.10:8090"},
		},
		{
			// A wildcard (or unknown) address: any IP literal, localhost,
			// but no other name.
			listen: "0.0.0.0:8090",
			allow:  []string{"192.168.1.10:8090", "[2001:db8::1]:8090", "[fe80::1%25eth0]:8090", "localhost", "127.0.0.1"},
			refuse: []string{"attacker.example", "nectar.lan:8090"},
		},
		{listen: ":8090", allow: []string{"10.1.2.3:8090"}, refuse: []string{"attacker.example"}},
		{listen: "[::]:8090", allow: []string{"10.1.2.3:8090"}, refuse: []string{"attacker.example"}},
		{listen: "", allow: []string{"10.1.2.3:8090", "localhost:8090"}, refuse: []string{"attacker.example"}},
	}
	serve := func(h http.Handler, host, target string, prep func(*http.Request)) *httptest.ResponseRecorder {
		// The deadline ends /events should it be served after all.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		req.Host = host
		if prep != nil {
			prep(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, tt := range tests {
		h := NewHandler(s, HandlerOptions{Listen: tt.listen})
		for _, host := range tt.allow {
			if rec := serve(h, host, "/api/v1/status", nil); rec.Code != http.StatusOK {
				t.Errorf("listen %q, Host %q: %d, want 200", tt.listen, host, rec.Code)
			}
		}
		for _, host := range tt.refuse {
			for _, target := range fleetRoutes {
				rec := serve(h, host, target, nil)
				if rec.Code != http.StatusMisdirectedRequest {
					t.Errorf("listen %q, Host %q, GET %s: %d, want 421", tt.listen, host, target, rec.Code)
					continue
				}
				if body := rec.Body.String(); strings.Contains(body, "quickstart") || strings.Contains(body, "pmm-btc") || strings.Contains(body, "master_account") {
					t.Errorf("listen %q, Host %q, GET %s: the refusal tells about the fleet: %q", tt.listen, host, target, body)
				}
				if rec.Header().Get("Content-Security-Policy") != contentSecurityPolicy || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("listen %q, Host %q, GET %s: refusal without the security headers", tt.listen, host, target)
				}
			}
			// Liveness and the assets tell nothing: probes may use any name.
			for _, target := range []string{"/healthz", "/static/style.css"} {
				if rec := serve(h, host, target, nil); rec.Code != http.StatusOK {
					t.Errorf("listen %q, Host %q, GET %s: %d, want 200", tt.listen, host, target, rec.Code)
				}
			}
		}
	}

	// With a token, the token protects and any Host is fine.
	h := NewHandler(s, HandlerOptions{Token: "a-token-for-the-test", Listen: "127.0.0.1:8090"})
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer a-token-for-the-test") }
	if rec := serve(h, "attacker.example", "/api/v1/status", bearer); rec.Code != http.StatusOK {
		t.Errorf("token set, Host attacker.example, with the token: %d, want 200", rec.Code)
	}
	if rec := serve(h, "attacker.example", "/api/v1/status", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("token set, Host attacker.example, no token: %d, want 401", rec.Code)
	}
}

// The handler built without a listen address (as `nectar run` builds it)
// learns it from the server it is served by.
func TestServerTellsHandlerItsAddress(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	srv := DefaultServerOptions().Server("status.lan:8090", NewHandler(s, HandlerOptions{}))
	for host, want := range map[string]int{"status.lan:8090": 200, "127.0.0.1:8090": 200, "attacker.example:8090": 421} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("served on status.lan:8090, Host %q: %d, want %d", host, rec.Code, want)
		}
	}
	// Given one, it keeps its own.
	srv = DefaultServerOptions().Server("0.0.0.0:8090", NewHandler(s, HandlerOptions{Listen: "127.0.0.1:8090"}))
	req := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
	req.Host = "192.168.1.10:8090"
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("Listen 127.0.0.1 served on 0.0.0.0, Host 192.168.1.10: %d, want 421", rec.Code)
	}
}

// RFC 9110 makes the scheme's name case-insensitive.
func TestBearerSchemeAnyCase(t *testing.T) {
	const token = "the-token-for-this-test"
	s, _ := statustest.NewStore(t, -1)
	h := NewHandler(s, HandlerOptions{Token: token})
	for header, want := range map[string]int{
		"Bearer " + token:          http.StatusOK,
		"bearer " + token:          http.StatusOK,
		"BEARER " + token:          http.StatusOK,
		"bEaReR " + token:          http.StatusOK,
		"Bearer   " + token + "  ": http.StatusOK,
		"Bearer" + token:           http.StatusUnauthorized,
		"Basic " + token:           http.StatusUnauthorized,
		"Bearers " + token:         http.StatusUnauthorized,
		"bearer wrong":             http.StatusUnauthorized,
		"bearer":                   http.StatusUnauthorized,
		token:                      http.StatusUnauthorized,
	} {
		req := localRequest(http.MethodGet, "/api/v1/status")
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Authorization %q: %d, want %d", strings.Replace(header, token, "<token>", 1), rec.Code, want)
		}
	}
}

// With MaxConns connections open, the next client is not served until one
// of them closes.
func TestConnectionCap(t *testing.T) {
	const maxConns = 3
	s, _ := statustest.NewStore(t, -1)
	opts := DefaultServerOptions()
	opts.MaxConns = maxConns
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := opts.Server(addr, NewHandler(s, HandlerOptions{}))
	go srv.Serve(LimitListener(ln, opts.MaxConns))
	defer srv.Close()

	// ask sends one keep-alive request on c and reads the status line
	// within wait; "" when nothing came.
	ask := func(c net.Conn, r *bufio.Reader, wait time.Duration) string {
		t.Helper()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return ""
			}
			t.Fatalf("reading a response: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Status
	}
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}

	var held []net.Conn
	for i := range maxConns {
		c, r := dial()
		if got := ask(c, r, 5*time.Second); got != "200 OK" {
			t.Fatalf("connection %d: %q, want 200 OK", i+1, got)
		}
		held = append(held, c)
	}
	extra, extraR := dial() // the kernel accepts it; the server does not
	if got := ask(extra, extraR, 500*time.Millisecond); got != "" {
		t.Fatalf("connection %d was served (%s) while %d were open", maxConns+1, got, maxConns)
	}
	held[0].Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(extraR, nil)
	if err != nil {
		t.Fatalf("connection %d after one closed: %v", maxConns+1, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connection %d after one closed: %s", maxConns+1, resp.Status)
	}
}

// Names that mean something in a URL reach the right file through the
// links /files makes, and an encoded slash is never a folder boundary.
func TestFilesOddNames(t *testing.T) {
	// (Names starting with a dot are hidden, as the loader hides them.)
	names := []string{
		"scripts/a%2Fb.py",
		"scripts/a/b.py", // what a%2Fb.py would wrongly decode to
		"scripts/100%.py",
		"scripts/%2e%2e",
		"scripts/%2e%2e%2f%2e%2e%2faccounts.py",
		"scripts/x..%2f..%2f.py",
		"scripts/what?.py",
		"scripts/hash#tag.py",
		"scripts/with space.py",
		"scripts/plus+and&amp;.py",
		"scripts/semi;colon=1.py",
		"scripts/quote\"and'.py",
		"scripts/back\\slash.py",
		"scripts/a...",
		"controllers/dir with space/x?y#z.py",
		"conf/scripts/ünïcode.yml",
	}
	fsys := fstest.MapFS{}
	want := map[string]string{} // path → content
	for i, name := range names {
		content := "content-" + string(rune('A'+i)) + "\n"
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
		want[name] = content
	}
	s := status.NewStore(status.StoreOptions{})
	res := statustest.Story(t)[0].Res
	s.RecordPass(res, reconcile.Source{Revision: res.Revision, FS: fsys}, nil)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{}))
	defer srv.Close()

	fetch := func(target string) (int, string) {
		t.Helper()
		resp, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, list := fetch(srv.URL + "/files")
	if code != http.StatusOK {
		t.Fatalf("/files: %d", code)
	}
	base, _ := url.Parse(srv.URL + "/files")
	rows := regexp.MustCompile(`<a href="(/files/[^"]*)"><code>([^<]*)</code></a>`).FindAllStringSubmatch(list, -1)
	seen := map[string]bool{}
	for _, row := range rows {
		href, name := html.UnescapeString(row[1]), html.UnescapeString(row[2])
		seen[name] = true
		link, err := base.Parse(href)
		if err != nil {
			t.Errorf("%s: link %q does not parse: %v", name, href, err)
			continue
		}
		code, body := fetch(link.String())
		if code != http.StatusOK {
			t.Errorf("%s: following %q: %d", name, href, code)
			continue
		}
		if !strings.Contains(body, html.EscapeString(strings.TrimSpace(want[name]))) {
			t.Errorf("%s: following %q shows another file", name, href)
		}
	}
	for _, name := range names {
		if !seen[name] {
			t.Errorf("/files has no link for %q", name)
		}
	}

	// A slash a client encodes is not one: these name no file.
	for _, target := range []string{"/files/scripts%2Fa%2Fb.py", "/files/scripts/a%2Fb.py", "/files/scripts/a%2fb.py", "/files/scripts%2F..%2Fscripts/a/b.py"} {
		if code, _ := fetch(srv.URL + target); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, code)
		}
	}
}

// guardedFS is a source whose accounts/ must never be looked at: any
// Open, Stat, Lstat, ReadLink or ReadDir under it fails the test.
type guardedFS struct {
	fsys fs.FS
	t    *testing.T
}

func (g guardedFS) check(op, name string) {
	if strings.EqualFold(name, fleet.AccountsDir) || strings.HasPrefix(strings.ToLower(name), fleet.AccountsDir+"/") {
		g.t.Errorf("%s %s", op, name)
	}
}

func (g guardedFS) Open(name string) (fs.File, error) {
	g.check("open", name)
	return g.fsys.Open(name)
}

func (g guardedFS) Stat(name string) (fs.FileInfo, error) {
	g.check("stat", name)
	return fs.Stat(g.fsys, name)
}

func (g guardedFS) Lstat(name string) (fs.FileInfo, error) {
	g.check("lstat", name)
	return fs.Lstat(g.fsys, name)
}

func (g guardedFS) ReadLink(name string) (string, error) {
	g.check("readlink", name)
	return fs.ReadLink(g.fsys, name)
}

func (g guardedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	g.check("readdir", name)
	return fs.ReadDir(g.fsys, name)
}

// linkFixture is a source with shared files that are symlinks: name →
// target ("" for a regular file, whose content is then the name's).
var linkFixture = []struct{ name, target string }{
	{"scripts/real.py", ""},
	{"notes/shared_cfg.yml", ""},
	{"notes/secret.age", ""},
	{"accounts/main/password.age", ""},
	{"accounts/main/binance.yml", ""}, // plaintext by mistake
	{"scripts/link.py", "real.py"},
	{"scripts/sub/up.py", "../real.py"},
	{"conf/scripts/cfg.yml", "../../notes/shared_cfg.yml"},
	{"scripts/chain.py", "link.py"},
	{"scripts/pw", "../accounts/main/password.age"},
	{"scripts/cred.yml", "../accounts/main/binance.yml"},
	{"scripts/sneaky.yml", "../scripts/../accounts/main/binance.yml"},
	{"acc", "accounts"},
	{"scripts/via.yml", "../acc/main/binance.yml"},
	{"scripts/relay.yml", "cred.yml"},
	{"scripts/enc.txt", "../notes/secret.age"},
	{"scripts/out.py", "../../outside.py"},
	{"scripts/abs.py", "/etc/hostname"},
	{"scripts/loop1", "loop2"},
	{"scripts/loop2", "loop1"},
	{"scripts/broken.py", "nothing.py"},
	{"scripts/dir", "../notes"},
	{"controllers", "notes"},
}

// wantLinks is how /files lists linkFixture: path, then content or note.
var wantLinks = []string{
	"conf/scripts/cfg.yml: link to ../../notes/shared_cfg.yml: content of notes/shared_cfg.yml",
	"controllers: (link to a folder, which nectar does not follow; bots get nothing)",
	"scripts/abs.py: (link out of the source; bots get nothing)",
	"scripts/broken.py: (broken link; bots get nothing)",
	"scripts/chain.py: link to link.py: content of scripts/real.py",
	"scripts/cred.yml: (link into accounts/; never shown)",
	"scripts/dir: (link to a folder, which nectar does not follow; bots get nothing)",
	"scripts/enc.txt: (link to an encrypted file; never shown)",
	"scripts/link.py: link to real.py: content of scripts/real.py",
	"scripts/loop1: (link loop; bots get nothing)",
	"scripts/loop2: (link loop; bots get nothing)",
	"scripts/out.py: (link out of the source; bots get nothing)",
	"scripts/pw: (link into accounts/; never shown)",
	"scripts/real.py: content of scripts/real.py",
	"scripts/relay.yml: (link into accounts/; never shown)",
	"scripts/sneaky.yml: (link into accounts/; never shown)",
	"scripts/sub/up.py: link to ../real.py: content of scripts/real.py",
	"scripts/via.yml: (link into accounts/; never shown)",
}

// A symlink among the shared files is listed as what the bots get: its
// target's content. Nothing reached through accounts/ or an encrypted
// file is ever shown, or even opened.
func TestSharedFileLinks(t *testing.T) {
	mapFS := fstest.MapFS{}
	dir := t.TempDir()
	for _, f := range linkFixture {
		if f.target == "" {
			mapFS[f.name] = &fstest.MapFile{Data: []byte("content of " + f.name + "\n")}
		} else {
			mapFS[f.name] = &fstest.MapFile{Data: []byte(f.target), Mode: fs.ModeSymlink | 0o777}
		}
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if f.target == "" {
			err = os.WriteFile(p, []byte("content of "+f.name+"\n"), 0o644)
		} else {
			err = os.Symlink(filepath.FromSlash(f.target), p)
		}
		if err != nil {
			t.Skipf("cannot make the fixture here: %v", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	for name, fsys := range map[string]fs.FS{"fstest.MapFS": mapFS, "os.Root": root.FS()} {
		t.Run(name, func(t *testing.T) {
			// The Store copies the shared files as it records the pass;
			// the page then lists that copy.
			s := status.NewStore(status.StoreOptions{})
			res := statustest.Story(t)[0].Res
			s.RecordPass(res, reconcile.Source{Revision: res.Revision, FS: guardedFS{fsys, t}}, nil)
			var lines []string
			for _, f := range s.Snapshot().Files().Files {
				line := f.Path + ": "
				if f.Link != "" {
					line += "link to " + f.Link + ": "
				}
				if f.Content != nil {
					line += strings.TrimSpace(string(f.Content))
				} else {
					line += "(" + f.Omitted + ")"
				}
				lines = append(lines, line)
			}
			if !slices.Equal(lines, wantLinks) {
				t.Errorf("listed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLinks, "\n"))
			}

			h := NewHandler(s, HandlerOptions{})
			list := get(t, h, "/files").Body.String()
			if !strings.Contains(list, `<a href="/files/scripts/link.py"><code>scripts/link.py</code></a></td><td class="num">27 B</td><td>link to <code>real.py</code></td>`) {
				t.Errorf("/files does not list scripts/link.py as a link to real.py")
			}
			if rec := get(t, h, "/files/scripts/link.py"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "content of scripts/real.py") {
				t.Errorf("/files/scripts/link.py: %d", rec.Code)
			}
			for _, p := range []string{"scripts/pw", "scripts/cred.yml", "scripts/via.yml", "scripts/relay.yml", "scripts/enc.txt"} {
				if rec := get(t, h, "/files/"+p); rec.Code != http.StatusNotFound {
					t.Errorf("/files/%s: %d, want 404", p, rec.Code)
				}
				if !strings.Contains(list, "<code>"+p+"</code>") || strings.Contains(list, `href="/files/`+p+`"`) {
					t.Errorf("/files should name %s without linking to it", p)
				}
			}
			for _, target := range append([]string{"/files", "/api/v1/status"}, routesOf(s)...) {
				body := get(t, h, target).Body.String()
				for _, never := range []string{"accounts/main/password.age", "accounts/main/binance.yml", "notes/secret.age", "acc/main"} {
					if strings.Contains(body, never) {
						t.Errorf("GET %s shows %s", target, never)
					}
				}
			}
		})
	}
}
