package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/testenv"
)

// nectarCode runs nectar in this process and returns its exit status and
// its stdout and stderr together.
func nectarCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, nil, &out, &out)
	return code, out.String()
}

// plan --exit-code: 2 while changes are pending, 3 as soon as a bot is
// stalled or the source has a problem (even with nothing else to do), 0
// when converged, 1 only when nectar could not look.
func TestPlanExitCodes(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-exitcode"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "ec-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	t.Setenv("NECTAR_AGE_KEY_FILE", testenv.DemoIdentity())
	global := []string{"--source", dir, "--state-dir", state}
	plan := func(want int, wantOut string) {
		t.Helper()
		code, out := nectarCode(t, append(global, "plan", "--exit-code")...)
		if code != want || !strings.Contains(out, wantOut) {
			t.Fatalf("plan --exit-code exited %d, want %d (and %q in the output):\n%s", code, want, wantOut, out)
		}
	}
	plan(2, "2 create")
	if code, out := nectarCode(t, append(global, "plan")...); code != 0 {
		t.Fatalf("plan without --exit-code exited %d:\n%s", code, out)
	}

	stalled := filepath.Join(dir, "bots", "ec-typo.yml")
	if err := os.WriteFile(stalled, []byte("account: master_acount\nconfig: conf_pmm_btc.yml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan(3, "1 stalled")

	if code, out := nectarCode(t, append(global, "apply")...); code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}
	// The case: nothing to change but one stalled bot was exit 0.
	plan(3, "3 none, 1 stalled")

	settings := filepath.Join(dir, "nectar.yaml")
	good, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, append(good, []byte("max_parallel_restarts: [\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	plan(3, "the source did not load")
	if code, out := nectarCode(t, append(global, "plan")...); code != 1 {
		t.Fatalf("plan (no --exit-code) on a source that does not load exited %d, want 1:\n%s", code, out)
	}
	if err := os.WriteFile(settings, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(stalled); err != nil {
		t.Fatal(err)
	}
	plan(0, "3 none")
}

// nectar status exits 3 when a bot needs a person, 0 otherwise, and says
// so in its help.
func TestStatusExitCode(t *testing.T) {
	var current status.Status
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(current)
	}))
	defer srv.Close()
	now := time.Now()
	base := status.Status{
		Fleet: "f", Ready: true, SourceOK: true, GeneratedAt: now,
		Engine:   status.Engine{Reachable: true, CheckedAt: now},
		LastPass: &status.Pass{Started: now, Result: status.ResultOK},
	}
	bot := func(name, cond string) status.BotStatus {
		return status.BotStatus{Name: name, Condition: cond, Desired: "running", Actual: "running", Connectors: []string{}}
	}
	cases := []struct {
		name string
		edit func(*status.Status)
		want int
	}{
		{"all ready", func(s *status.Status) { s.Bots = []status.BotStatus{bot("a", "ready"), bot("b", "held")} }, 0},
		{"a bot failed", func(s *status.Status) { s.Bots = []status.BotStatus{bot("a", "ready"), bot("b", "failed")} }, 3},
		{"a bot stalled", func(s *status.Status) { s.Bots = []status.BotStatus{bot("a", "stalled")} }, 3},
		{"a bot crash-loops", func(s *status.Status) { s.Bots = []status.BotStatus{bot("a", "crashloop")} }, 3},
		{"the source does not load", func(s *status.Status) { s.SourceOK = false }, 3},
		{"Docker away", func(s *status.Status) { s.Engine.Reachable = false }, 3},
	}
	for _, c := range cases {
		current = base
		c.edit(&current)
		for _, args := range [][]string{{"status", "--listen", srv.URL}, {"status", "--json", "--listen", srv.URL}} {
			code, out := nectarCode(t, args...)
			if code != c.want {
				t.Errorf("%s: nectar %v exited %d, want %d:\n%s", c.name, args, code, c.want, out)
			}
		}
	}
	if code, out := nectarCode(t, "status", "--listen", "127.0.0.1:1"); code != 1 {
		t.Errorf("nectar status with no daemon exited %d, want 1:\n%s", code, out)
	}
	if _, help := nectarCode(t, "status", "--help"); !strings.Contains(help, "3  a bot failed") {
		t.Errorf("status --help does not document its exit codes:\n%s", help)
	}
	if _, help := nectarCode(t, "plan", "--help"); !strings.Contains(help, "2  changes are pending") || !strings.Contains(help, "3  a bot is stalled") {
		t.Errorf("plan --help does not document its exit codes:\n%s", help)
	}
}
