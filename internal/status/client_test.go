package status

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/hint"
)

func TestFetch(t *testing.T) {
	s, _ := fixtureStore(t, -1)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{Token: "fetch-token"}))
	defer srv.Close()
	ctx := context.Background()

	got, err := Fetch(ctx, srv.URL, "fetch-token")
	if err != nil {
		t.Fatal(err)
	}
	want := s.View()
	got.GeneratedAt = want.GeneratedAt // read at different moments
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fetch differs from the Store's view:\n got  %+v\n want %+v", got, want)
	}
	if _, err := Fetch(ctx, srv.URL+"/", "fetch-token"); err != nil {
		t.Errorf("a trailing slash: %v", err)
	}

	_, err = Fetch(ctx, srv.URL, "")
	if err == nil || !strings.Contains(err.Error(), "wants a token, and none was given") || len(hint.Of(err)) == 0 {
		t.Errorf("without the token: %v (hints %q)", err, hint.Of(err))
	}
	if _, err := Fetch(ctx, srv.URL, "wrong"); err == nil || !strings.Contains(err.Error(), "the one given is not it") {
		t.Errorf("with a wrong token: %v", err)
	}
	if _, err := Fetch(ctx, "127.0.0.1:8090", ""); err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
		t.Errorf("an address without a scheme: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	if _, err := Fetch(ctx, "http://user:secretpw@"+strings.TrimPrefix(down.URL, "http://"), ""); err == nil ||
		strings.Contains(err.Error(), "secretpw") || len(hint.Of(err)) == 0 {
		t.Errorf("a daemon that is not there: %v", err)
	}
}

func TestWriteTextEmpty(t *testing.T) {
	var b strings.Builder
	if err := WriteText(&b, NewStore(StoreOptions{}).View()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"applied    nothing yet", "docker     not asked yet", "(no bots)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the empty status lacks %q:\n%s", want, b.String())
		}
	}
}
