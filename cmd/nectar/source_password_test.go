package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// TestRunSourcePasswordNeverShown follows a private repository over
// smart HTTP whose token is written into the --source URL: nectar warns
// that the password sits in its command line, fetches with it, and shows
// the URL without it in its logs and on every status page.
func TestRunSourcePasswordNeverShown(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.RequireGit(t)
	const token = "PW-token-marker-5150"
	const fleetName = "e2e-source-password"
	work := t.TempDir()
	env := isolatedEnv(filepath.Join(work, "home"))
	nectarIn(t, work, env, "", "init", fleetName)
	fleetDir := filepath.Join(work, fleetName)
	nectarIn(t, work, env, "", "--source", fleetDir, "account", "create", "main")
	testenv.Git(t, fleetDir, "init", "-q", "-b", "main")
	testenv.Git(t, fleetDir, "add", "-A")
	testenv.Git(t, fleetDir, "commit", "-q", "-m", "fleet")
	head := testenv.Git(t, fleetDir, "rev-parse", "HEAD")
	root := filepath.Join(work, "remote")
	testenv.Git(t, "", "clone", "-q", "--bare", fleetDir, filepath.Join(root, "fleet.git"))
	srv, _ := testenv.GitHTTPServer(t, root, token)
	url := strings.Replace(srv.URL, "http://", "http://x-access-token:"+token+"@", 1) + "/fleet.git"
	shown := strings.Replace(srv.URL, "http://", "http://x-access-token@", 1) + "/fleet.git"

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "--source", url, "--state-dir", filepath.Join(work, "state"), "--log-format", "json",
		"run", "--listen", "127.0.0.1:0", "--poll", "200ms")
	cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1", "NECTAR_GIT_TOKEN=", "NECTAR_GIT_USERNAME="), env...)
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	statusURL := regexp.MustCompile(`"msg":"status page","url":"(http://127\.0\.0\.1:\d+)"`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := statusURL.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no status page; output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	var st struct {
		Source  string `json:"source"`
		Applied struct {
			Revision string `json:"revision"`
		} `json:"applied"`
	}
	// Applied: the token in the URL did fetch the private repository.
	for st.Applied.Revision != "main@sha1:"+head {
		if time.Now().After(deadline) {
			t.Fatalf("revision main@sha1:%s never applied; status:\n%s\noutput:\n%s", head, get("/api/v1/status"), out.String())
		}
		time.Sleep(50 * time.Millisecond)
		if err := json.Unmarshal([]byte(get("/api/v1/status")), &st); err != nil {
			t.Fatal(err)
		}
	}
	// The status page may hide the user name as well; the host and path
	// must still say which repository it is.
	if !strings.HasSuffix(st.Source, strings.TrimPrefix(srv.URL, "http://")+"/fleet.git") {
		t.Errorf("the status API names the source %s, want %s", st.Source, shown)
	}
	for _, page := range []string{"/", "/api/v1/status", "/accounts", "/files", "/metrics"} {
		if body := get(page); strings.Contains(body, token) {
			t.Errorf("%s shows the token:\n%s", page, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	logs := out.String()
	if strings.Contains(logs, token) {
		t.Errorf("the output shows the token:\n%s", logs)
	}
	if !strings.Contains(logs, "nectar: warning: --source "+strings.Replace(url, token, "xxxxx", 1)+" holds a password") ||
		!strings.Contains(logs, "NECTAR_GIT_TOKEN") || !strings.Contains(logs, shown) {
		t.Errorf("no warning, or the source never named; output:\n%s", logs)
	}
}
