package source

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

func gitHTTPServer(t *testing.T, root, token string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	return testenv.GitHTTPServer(t, root, token)
}

func TestGitOverSmartHTTP(t *testing.T) {
	r := newRepo(t)
	first := r.commitPush(map[string]string{"nectar.yaml": "fleet: http\n", "bots/a.yml": "account: main\n"})
	srv, _ := gitHTTPServer(t, filepath.Dir(r.bare), "")
	url := srv.URL + "/" + filepath.Base(r.bare)

	src := openGit(t, Spec{Source: url, Poll: 50 * time.Millisecond})
	snap := snapshot(t, src)
	if snap.Revision != "main@sha1:"+first {
		t.Errorf("revision %s, want main@sha1:%s", snap.Revision, first)
	}
	if got := readFile(t, snap.FS, "bots/a.yml"); got != "account: main\n" {
		t.Errorf("reads %q", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)
	second := r.commitPush(map[string]string{"nectar.yaml": "fleet: http2\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after a push to the HTTP remote")
	}
	if snap := snapshot(t, src); snap.Revision != "main@sha1:"+second {
		t.Errorf("revision %s after the push, want main@sha1:%s", snap.Revision, second)
	}
	if f := src.fetches.Load(); f != 2 {
		t.Errorf("%d fetches for two commits", f)
	}
}

func TestGitHTTPToken(t *testing.T) {
	const token = "ghp_s3cr3tT0kenValue"
	r := newRepo(t)
	head := r.commitPush(map[string]string{"nectar.yaml": "fleet: private\n"})
	srv, denied := gitHTTPServer(t, filepath.Dir(r.bare), token)
	url := srv.URL + "/" + filepath.Base(r.bare)

	noLeak := func(t *testing.T, what, text string, secrets ...string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a token: %s", what, text)
			}
		}
	}

	t.Run("missing", func(t *testing.T) {
		src := openGit(t, Spec{Source: url})
		_, err := src.Snapshot(context.Background())
		if !errors.Is(err, transport.ErrAuthenticationRequired) || !strings.Contains(err.Error(), EnvGitToken) {
			t.Errorf("without a token: %v", err)
		}
	})
	t.Run("from the environment", func(t *testing.T) {
		env := map[string]string{EnvGitToken: token, EnvGitUsername: "nectar-bot"}
		src, err := open(Spec{Source: url}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		snap := snapshot(t, src)
		if snap.Revision != "main@sha1:"+head {
			t.Errorf("revision %s", snap.Revision)
		}
		noLeak(t, "String()", src.String(), token)
	})
	t.Run("flag wins over the environment", func(t *testing.T) {
		env := map[string]string{EnvGitToken: "wrong-env-token"}
		src, err := open(Spec{Source: url, Token: token}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		snapshot(t, src)
	})
	t.Run("wrong", func(t *testing.T) {
		const wrong = "glpat-wrongTokenValue42"
		before := denied.Load()
		src := openGit(t, Spec{Source: url, Token: wrong})
		_, err := src.Snapshot(context.Background())
		if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
			t.Fatalf("a wrong token: %v", err)
		}
		if denied.Load() == before {
			t.Error("the server saw no denied request")
		}
		noLeak(t, "the error", err.Error(), wrong, token)
		noLeak(t, "String()", src.String(), wrong)
	})
	t.Run("in the URL", func(t *testing.T) {
		withToken := strings.Replace(url, "://", "://oauth2:"+token+"@", 1)
		src := openGit(t, Spec{Source: withToken})
		snap := snapshot(t, src)
		if snap.Revision != "main@sha1:"+head {
			t.Errorf("revision %s", snap.Revision)
		}
		noLeak(t, "String()", src.String(), token)
		if !strings.Contains(src.String(), "oauth2@") {
			t.Errorf("String() = %s, want the user kept", src.String())
		}
		// An error naming the URL must not carry the token either.
		gone := openGit(t, Spec{Source: withToken + "-missing"})
		_, err := gone.Snapshot(context.Background())
		if !errors.Is(err, transport.ErrRepositoryNotFound) {
			t.Fatalf("a missing repository: %v", err)
		}
		noLeak(t, "the error", err.Error(), token)
	})
}
