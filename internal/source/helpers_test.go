package source

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

func requireGit(t testing.TB) { t.Helper(); testenv.RequireGit(t) }

// git runs the git CLI in dir and returns its trimmed output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return testenv.Git(t, dir, args...)
}

// repo is a work tree pushing to a bare repository, both in t.TempDir.
type repo struct {
	t    testing.TB
	bare string // the remote: a bare repository
	work string // a clone to commit in
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	requireGit(t)
	r := &repo{t: t, bare: filepath.Join(t.TempDir(), "fleet.git"), work: filepath.Join(t.TempDir(), "work")}
	git(t, "", "init", "-q", "--bare", "-b", "main", r.bare)
	git(t, "", "init", "-q", "-b", "main", r.work)
	git(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

func (r *repo) url() string { return "file://" + filepath.ToSlash(r.bare) }

// write writes files into the work tree; content "->target" makes a
// symlink and "" removes the file.
func (r *repo) write(files map[string]string) {
	r.t.Helper()
	writeTree(r.t, r.work, files)
}

// commit commits everything and returns the commit's hash.
func (r *repo) commit(msg string) string {
	r.t.Helper()
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "-q", "--allow-empty", "-m", msg)
	return git(r.t, r.work, "rev-parse", "HEAD")
}

func (r *repo) push(args ...string) {
	r.t.Helper()
	git(r.t, r.work, append([]string{"push", "-q", "origin"}, args...)...)
}

// commitPush writes, commits and pushes main.
func (r *repo) commitPush(files map[string]string) string {
	r.t.Helper()
	r.write(files)
	h := r.commit("update")
	r.push("main")
	return h
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		switch {
		case content == "":
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(strings.TrimPrefix(content, "->"), p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func noEnv(string) string { return "" }

func openGit(t testing.TB, spec Spec) *gitSource {
	t.Helper()
	src, err := open(spec, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := src.(*gitSource)
	if !ok {
		t.Fatalf("%s opened as %T, want a git source", spec.Source, src)
	}
	return g
}

func snapshot(t testing.TB, src Source) Snapshot {
	t.Helper()
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("snapshot of %s: %v", src, err)
	}
	t.Cleanup(snap.Close)
	return snap
}

func readFile(t testing.TB, fsys fs.FS, name string) string {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitSignal waits up to d for a signal on ch.
func waitSignal(ch <-chan struct{}, d time.Duration) bool {
	select {
	case _, ok := <-ch:
		return ok
	case <-time.After(d):
		return false
	}
}

// countSignals counts the signals on ch during d.
func countSignals(ch <-chan struct{}, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		case <-deadline:
			return n
		}
	}
}
