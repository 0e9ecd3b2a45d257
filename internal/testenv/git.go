package testenv

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// GitEnv keeps the real git CLI away from the machine's configuration and
// gives commits a fixed author.
var GitEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
	"GIT_AUTHOR_NAME=nectar test", "GIT_AUTHOR_EMAIL=test@nectar.invalid",
	"GIT_COMMITTER_NAME=nectar test", "GIT_COMMITTER_EMAIL=test@nectar.invalid",
}

// RequireGit skips the test when the git CLI is missing, or fails it when
// the run must not skip (see RequireDocker).
func RequireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
			t.Fatal("the git CLI is not installed, and this run may not skip tests that need it")
		}
		t.Skip("the git CLI is not installed")
	}
}

// Git runs the git CLI in dir and returns its trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), GitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// GitHTTPServer serves the bare repositories under root over git's smart
// HTTP protocol on loopback, through the real git http-backend. With a
// token, every request must carry it as the basic-auth password; the
// counter reports how many were refused.
func GitHTTPServer(t testing.TB, root, token string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	RequireGit(t)
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path:   filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:    append([]string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}, GitEnv...),
		Stderr: io.Discard,
	}
	var denied atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			if _, pw, ok := r.BasicAuth(); !ok || pw != token {
				denied.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &denied
}
