package status

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
)

// forbidden returns every string that must never reach a page: the
// example fleet's passwords and credential secrets (decrypted here to
// learn them), every line of its age ciphertexts, markers of encrypted
// material, and the token inside the fixture's source URL.
func forbidden(t *testing.T) []secret {
	t.Helper()
	fsys := exampleFS(t)
	fl := loadFleet(t, fsys)
	var out []secret
	add := func(what, s string) {
		if len(s) < 8 {
			t.Fatalf("%s is %d bytes; too short to search for without false alarms", what, len(s))
		}
		out = append(out, secret{what, s})
	}
	for name, a := range fl.Accounts {
		add(name+" password", a.Password.Reveal())
		for c, cred := range a.Credentials {
			for _, f := range cred.Secrets {
				add(name+"/"+c+"/"+f.Name, f.Value.Reveal())
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d secret values in the example fleet; did the identity decrypt it?", len(out))
	}
	for p, f := range fsys {
		if !strings.HasPrefix(p, fleet.AccountsDir+"/") || !strings.HasSuffix(p, ".age") {
			continue
		}
		for i, line := range strings.Split(string(f.Data), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, secret{p + " line " + strconv.Itoa(i+1), line})
			}
		}
	}
	for _, marker := range []string{"-----BEGIN AGE", "age-encryption.org", `"crypto"`, `"ciphertext"`} {
		out = append(out, secret{"the marker " + marker, marker})
	}
	return append(out, secret{"the token in the source URL", fixtureToken})
}

// secret is a value that must not be shown, and a name for it that may.
type secret struct{ what, value string }

// Every page, API answer, event and metric, at every step of the story,
// is free of secrets.
func TestNoSecretAnywhere(t *testing.T) {
	bad := forbidden(t)
	steps := story(t)
	clk := &clock{now: t0}
	s := NewStore(StoreOptions{Source: fixtureSource, Files: renderedFiles, Derivations: func() uint64 { return 3 }, Now: clk.Now})
	h := NewHandler(s, HandlerOptions{Version: "test"})
	check := func(where string, body []byte) {
		t.Helper()
		for _, b := range bad {
			if bytes.Contains(body, []byte(b.value)) {
				t.Errorf("%s contains %s", where, b.what)
			}
		}
	}
	for i := range steps {
		play(t, s, clk, steps[i:i+1], 1)
		for _, target := range routesOf(s) {
			rec := get(t, h, target)
			check(steps[i].name+": GET "+target, rec.Body.Bytes())
			for k, vs := range rec.Header() {
				check(steps[i].name+": header "+k+" of "+target, []byte(strings.Join(vs, "\n")))
			}
		}
		check(steps[i].name+": /events", firstEvents(t, h))
		view, _ := json.Marshal(s.View())
		check(steps[i].name+": View", view)
		var text bytes.Buffer
		if err := WriteText(&text, s.View()); err != nil {
			t.Fatal(err)
		}
		check(steps[i].name+": WriteText", text.Bytes())
		checkStoreHoldsNoSecret(t, s, bad)
	}
}

// routesOf lists every GET route the handler serves for the Store's
// current state, plus a few that answer 404.
func routesOf(s *Store) []string {
	routes := []string{"/", "/accounts", "/files", "/api/v1/status", "/metrics", "/healthz", "/readyz",
		"/static/style.css", "/static/status.js", "/static/favicon.svg", "/nowhere", "/api/v1/bots/nobody", "/bots/nobody",
		"/files/accounts/master_account/password.age"}
	snap := s.current()
	for name := range snap.bots {
		routes = append(routes, "/bots/"+name, "/api/v1/bots/"+name)
	}
	if snap.files != nil {
		for _, f := range snap.files.Files {
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

// checkStoreHoldsNoSecret walks everything the Store keeps, unexported
// fields included: no fleet.Secret, no fleet, no string with a secret in it.
func checkStoreHoldsNoSecret(t *testing.T, s *Store, bad []secret) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	secretType := reflect.TypeFor[fleet.Secret]()
	fleetType := reflect.TypeFor[fleet.Fleet]()
	seen := map[uintptr]bool{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Type() {
		case secretType:
			t.Errorf("the Store keeps a fleet.Secret at %s", path)
			return
		case fleetType:
			t.Errorf("the Store keeps a fleet.Fleet at %s; it holds passwords and credentials", path)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(path, v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(path+"{key}", it.Key())
				walk(path+"{}", it.Value())
			}
		case reflect.String:
			for _, b := range bad {
				if strings.Contains(v.String(), b.value) {
					t.Errorf("the Store keeps %s at %s", b.what, path)
				}
			}
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			for _, b := range bad {
				if bytes.Contains(v.Bytes(), []byte(b.value)) {
					t.Errorf("the Store keeps %s at %s", b.what, path)
				}
			}
		}
	}
	walk("st", reflect.ValueOf(&s.st).Elem())
	walk("snapshot", reflect.ValueOf(s.current()).Elem())
}
