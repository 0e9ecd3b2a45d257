package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hummingbot"
	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/status"
)

// nectarSplit runs the test binary as nectar in dir with env added and
// returns its exit status, stdout and stderr apart.
func nectarSplit(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return exitCode(err), stdout.String(), stderr.String()
}

// nectar completion prints a completion script for each shell it names,
// and the script's callback completes nectar's own commands.
func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_nectar",
		"zsh":  "#compdef nectar",
		"fish": "complete -c nectar",
	} {
		code, out := nectarCode(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("nectar completion %s exited %d without %q:\n%.300s", shell, code, marker, out)
		}
	}
	code, out := nectarCode(t, "__complete", "cred", "")
	if code != 0 || !strings.Contains(out, "add") || !strings.Contains(out, "edit") {
		t.Errorf("completing `nectar cred ` exited %d:\n%s", code, out)
	}
	if _, help := nectarCode(t, "--help"); !strings.Contains(help, "completion") {
		t.Errorf("nectar --help does not list completion:\n%s", help)
	}
}

// run and status name the status page's address the same way (--listen);
// status still takes the old --addr, with a warning on stderr only, so a
// --json reader's input stays JSON.
func TestStatusAddressFlag(t *testing.T) {
	now := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(status.Status{Fleet: "f", Ready: true, SourceOK: true, GeneratedAt: now,
			Engine: status.Engine{Reachable: true, CheckedAt: now}})
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, flag := range []string{"--listen", "--addr"} {
		code, stdout, stderr := nectarSplit(t, dir, nil, "status", "--json", flag, srv.URL)
		if code != 0 {
			t.Fatalf("status %s exited %d:\n%s%s", flag, code, stdout, stderr)
		}
		var st status.Status
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || st.Fleet != "f" {
			t.Errorf("status --json %s: stdout is not the daemon's JSON (%v):\n%s", flag, err, stdout)
		}
		deprecated := strings.Contains(stderr, "--addr is deprecated: use --listen")
		if deprecated != (flag == "--addr") {
			t.Errorf("status %s: stderr %q", flag, stderr)
		}
	}
	for _, cmd := range []string{"run", "status"} {
		_, help := nectarCode(t, cmd, "--help")
		if !strings.Contains(help, "--listen") || strings.Contains(help, "--addr") {
			t.Errorf("nectar %s --help should offer --listen and only it:\n%s", cmd, help)
		}
	}
}

// Without an identity, the hint for a fleet that has recipients names
// them and asks for one of their keys; a new key (keygen) could not
// decrypt the fleet, so it is not offered. A folder with no fleet yet
// still gets the keygen hint.
func TestMissingIdentityHint(t *testing.T) {
	work := t.TempDir()
	newFleetWithAccount(t, work)
	settings, err := os.ReadFile(filepath.Join(work, "fleet", "nectar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(string(settings))
	stranger := isolatedEnv(filepath.Join(work, "stranger"))
	for _, args := range [][]string{
		{"--source", "fleet", "validate"},
		{"--source", "fleet", "rekey"},
		{"--source", "fleet", "plan"},
	} {
		code, _, stderr := nectarSplit(t, work, stranger, args...)
		if code != 1 || !strings.Contains(stderr, "no age identity found") {
			t.Fatalf("nectar %v exited %d:\n%s", args, code, stderr)
		}
		if strings.Contains(stderr, "keygen") {
			t.Errorf("nectar %v suggests a new key, which cannot decrypt the fleet:\n%s", args, stderr)
		}
		if !strings.Contains(stderr, recipient) || !strings.Contains(stderr, "--identity") || !strings.Contains(stderr, "nectar rekey") {
			t.Errorf("nectar %v does not say whose key is needed (%s) and how to give it:\n%s", args, recipient, stderr)
		}
	}
	if err := os.Mkdir(filepath.Join(work, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := nectarSplit(t, work, stranger, "--source", "empty", "validate")
	if !strings.Contains(stderr, "nectar keygen") {
		t.Errorf("a folder with no fleet should be offered a new key:\n%s", stderr)
	}
}

// init pins the Hummingbot release nectar knows, in the official tag form,
// never latest.
func TestInitImageIsTheKnownRelease(t *testing.T) {
	want := "hummingbot/hummingbot:version-" + hummingbot.Version
	if manage.DefaultImage != want {
		t.Errorf("init scaffolds %s, want %s", manage.DefaultImage, want)
	}
	work := t.TempDir()
	newFleetWithAccount(t, work)
	settings, err := os.ReadFile(filepath.Join(work, "fleet", "nectar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(settings), "\n  image: "+want+"\n") {
		t.Errorf("nectar.yaml from init does not run %s:\n%s", want, settings)
	}
}

// make demo-clean with nothing to remove prints nothing and succeeds;
// with containers, it removes exactly those. A stand-in docker on PATH
// answers as the real one does.
func TestDemoCleanQuiet(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	fake := `#!/bin/sh
echo "$*" >> ` + calls + `
case "$1" in
ps) cat "` + bin + `/ids" 2>/dev/null; exit 0 ;;
rm) shift; [ "$1" = -f ] && shift; [ $# -gt 0 ] || { echo '"docker rm" requires at least 1 argument.' >&2; exit 1; }
    for id in "$@"; do echo "$id"; done ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		cmd := exec.Command("make", "demo-clean")
		cmd.Dir = repo
		env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "MAKE") {
				env = append(env, kv)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err != nil || out != "" {
		t.Errorf("make demo-clean with nothing to remove: %v, output %q; want success and no output", err, out)
	}
	if err := os.WriteFile(filepath.Join(bin, "ids"), []byte("c1\nc2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run()
	if err != nil || !strings.Contains(out, "c1\nc2\n") {
		t.Errorf("make demo-clean with two containers: %v, output %q", err, out)
	}
	log, _ := os.ReadFile(calls)
	if !strings.Contains(string(log), "rm -f c1 c2") {
		t.Errorf("docker calls:\n%s", log)
	}
}
