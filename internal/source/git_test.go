package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/secrets"
)

func TestGitSnapshotReadsTheCommitTree(t *testing.T) {
	r := newRepo(t)
	head := r.commitPush(map[string]string{
		"nectar.yaml":             "fleet: t\n",
		"bots/a.yml":              "account: main\n",
		"controllers/x/y/deep.py": "print('deep')\n",
		"scripts/real.py":         "print('real')\n",
		"scripts/link.py":         "->real.py",
		"scripts/up.py":           "->../controllers/x/y/deep.py",
	})
	src := openGit(t, Spec{Source: r.url()})
	snap := snapshot(t, src)
	if want := "main@sha1:" + head; snap.Revision != want {
		t.Errorf("revision %q, want %q", snap.Revision, want)
	}
	if got := readFile(t, snap.FS, "controllers/x/y/deep.py"); got != "print('deep')\n" {
		t.Errorf("nested file: %q", got)
	}
	if got := readFile(t, snap.FS, "scripts/link.py"); got != "print('real')\n" {
		t.Errorf("symlink read through: %q", got)
	}
	if got := readFile(t, snap.FS, "scripts/up.py"); got != "print('deep')\n" {
		t.Errorf("symlink with ..: %q", got)
	}
	target, err := fs.ReadLink(snap.FS, "scripts/link.py")
	if err != nil || target != "real.py" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	if info, err := fs.Lstat(snap.FS, "scripts/link.py"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a symlink: %v, %v", info, err)
	}
	if info, err := fs.Stat(snap.FS, "scripts/link.py"); err != nil || !info.Mode().IsRegular() || info.Size() != int64(len("print('real')\n")) {
		t.Errorf("Stat follows the symlink: %v, %v", info, err)
	}
	entries, err := fs.ReadDir(snap.FS, "scripts")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"link.py", "real.py", "up.py"}) {
		t.Errorf("ReadDir(scripts) = %v", names)
	}
	if _, err := fs.Stat(snap.FS, "nope.yml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if err := fstest.TestFS(snap.FS, "nectar.yaml", "bots/a.yml", "controllers/x/y/deep.py", "scripts/link.py"); err != nil {
		t.Error(err)
	}
}

func TestGitFetchesOnlyWhenTheCommitMoved(t *testing.T) {
	r := newRepo(t)
	first := r.commitPush(map[string]string{"nectar.yaml": "fleet: one\n"})
	src := openGit(t, Spec{Source: r.url()})
	old := snapshot(t, src)
	for range 3 {
		if s := snapshot(t, src); s.Revision != old.Revision {
			t.Fatalf("revision moved without a commit: %s → %s", old.Revision, s.Revision)
		}
	}
	if f, l := src.fetches.Load(), src.lists.Load(); f != 1 || l != 4 {
		t.Errorf("after 4 snapshots of one commit: %d fetches, %d ls-remotes; want 1 and 4", f, l)
	}
	second := r.commitPush(map[string]string{"nectar.yaml": "fleet: two\n"})
	cur := snapshot(t, src)
	if cur.Revision != "main@sha1:"+second {
		t.Errorf("revision %s after a push, want main@sha1:%s", cur.Revision, second)
	}
	if f := src.fetches.Load(); f != 2 {
		t.Errorf("%d fetches after one new commit, want 2", f)
	}
	// A snapshot never changes under its reader.
	if got := readFile(t, old.FS, "nectar.yaml"); got != "fleet: one\n" || old.Revision != "main@sha1:"+first {
		t.Errorf("the old snapshot changed: %s %q", old.Revision, got)
	}
	if got := readFile(t, cur.FS, "nectar.yaml"); got != "fleet: two\n" {
		t.Errorf("new snapshot reads %q", got)
	}
}

func TestGitForcePush(t *testing.T) {
	r := newRepo(t)
	a := r.commitPush(map[string]string{"nectar.yaml": "fleet: a\n"})
	r.commitPush(map[string]string{"nectar.yaml": "fleet: b\n"})
	src := openGit(t, Spec{Source: r.url()})
	snapshot(t, src)
	git(t, r.work, "reset", "-q", "--hard", a)
	r.write(map[string]string{"nectar.yaml": "fleet: c\n"})
	c := r.commit("rewrite")
	r.push("--force", "main")
	snap := snapshot(t, src)
	if snap.Revision != "main@sha1:"+c {
		t.Errorf("after a force-push: %s, want main@sha1:%s", snap.Revision, c)
	}
	if got := readFile(t, snap.FS, "nectar.yaml"); got != "fleet: c\n" {
		t.Errorf("reads %q", got)
	}
}

func TestGitDeletedBranchKeepsTheLastGoodSnapshot(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{"nectar.yaml": "fleet: main\n"})
	git(t, r.work, "checkout", "-q", "-b", "feature")
	feature := r.commit("feature")
	r.push("feature")
	src := openGit(t, Spec{Source: r.url(), Branch: "feature"})
	good := snapshot(t, src)
	if good.Revision != "feature@sha1:"+feature {
		t.Fatalf("revision %s", good.Revision)
	}

	r.push("--delete", "feature")
	snap, err := src.Snapshot(context.Background())
	if !errors.Is(err, ErrRefNotFound) || !strings.Contains(err.Error(), `"feature"`) {
		t.Errorf("error %v, want one wrapping ErrRefNotFound that names the branch", err)
	}
	if snap.Revision != good.Revision || snap.FS == nil {
		t.Errorf("got revision %q (FS %v), want the last good %s", snap.Revision, snap.FS != nil, good.Revision)
	}

	r.push("feature")
	if snap, err := src.Snapshot(context.Background()); err != nil || snap.Revision != good.Revision {
		t.Errorf("after the branch came back: %s, %v", snap.Revision, err)
	}
}

func TestGitRemoteGoneThenBack(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{"nectar.yaml": "fleet: t\n"})
	src := openGit(t, Spec{Source: r.url(), Poll: 50 * time.Millisecond})
	good := snapshot(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)

	moved := r.bare + ".away"
	if err := os.Rename(r.bare, moved); err != nil {
		t.Fatal(err)
	}
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal when the remote went away")
	}
	snap, err := src.Snapshot(ctx)
	if err == nil || snap.Revision != good.Revision || snap.FS == nil {
		t.Fatalf("remote gone: revision %q, err %v; want the last good %s and an error", snap.Revision, err, good.Revision)
	}
	if got := readFile(t, snap.FS, "nectar.yaml"); got != "fleet: t\n" {
		t.Errorf("the last good snapshot reads %q", got)
	}

	if err := os.Rename(moved, r.bare); err != nil {
		t.Fatal(err)
	}
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal when the remote came back")
	}
	if snap, err := src.Snapshot(ctx); err != nil || snap.Revision != good.Revision {
		t.Errorf("remote back: %s, %v", snap.Revision, err)
	}
	cancel()
	for range changes {
	}
}

func TestGitNeverFetchedReturnsNoFS(t *testing.T) {
	requireGit(t)
	src := openGit(t, Spec{Source: "file://" + filepath.Join(t.TempDir(), "missing.git")})
	snap, err := src.Snapshot(context.Background())
	if err == nil || snap.FS != nil {
		t.Errorf("a remote never reached: FS %v, err %v; want no FS and an error", snap.FS, err)
	}
}

func TestGitSubPath(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{
		"README.md":               "not the fleet\n",
		"secret.txt":              "outside\n",
		"deploy/prod/nectar.yaml": "fleet: prod\n",
		"deploy/prod/escape.txt":  "->../../secret.txt",
	})
	src := openGit(t, Spec{Source: r.url(), Path: "deploy/prod/"})
	snap := snapshot(t, src)
	if got := readFile(t, snap.FS, "nectar.yaml"); got != "fleet: prod\n" {
		t.Errorf("nectar.yaml: %q", got)
	}
	if _, err := fs.Stat(snap.FS, "README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file above --path is visible: %v", err)
	}
	if _, err := snap.FS.Open("escape.txt"); !errors.Is(err, errOutside) {
		t.Errorf("a symlink out of --path opened: %v", err)
	}
	if target, err := fs.ReadLink(snap.FS, "escape.txt"); err != nil || target != "../../secret.txt" {
		t.Errorf("ReadLink: %q, %v", target, err)
	}

	missing := openGit(t, Spec{Source: r.url(), Path: "deploy/staging"})
	if _, err := missing.Snapshot(context.Background()); err == nil || !strings.Contains(err.Error(), "--path deploy/staging") {
		t.Errorf("a missing --path: %v", err)
	}
}

func TestGitCommitPin(t *testing.T) {
	r := newRepo(t)
	a := r.commitPush(map[string]string{"nectar.yaml": "fleet: a\n"})
	r.commitPush(map[string]string{"nectar.yaml": "fleet: b\n"})
	src := openGit(t, Spec{Source: r.url(), Branch: strings.ToUpper(a)})
	snap := snapshot(t, src)
	if snap.Revision != "sha1:"+a {
		t.Errorf("revision %s, want sha1:%s", snap.Revision, a)
	}
	if got := readFile(t, snap.FS, "nectar.yaml"); got != "fleet: a\n" {
		t.Errorf("pinned commit reads %q", got)
	}
	if st := src.current.fs.objects.(*memory.Storage); len(st.Commits) != 1 {
		t.Errorf("the pinned snapshot keeps %d commits, want just the pinned one", len(st.Commits))
	}
	fetches := src.fetches.Load()
	r.commitPush(map[string]string{"nectar.yaml": "fleet: c\n"})
	if s := snapshot(t, src); s.Revision != snap.Revision {
		t.Errorf("a pin moved: %s", s.Revision)
	}
	if src.fetches.Load() != fetches || src.lists.Load() != 0 {
		t.Errorf("a pin contacted the remote again: %d fetches (was %d), %d ls-remotes", src.fetches.Load(), fetches, src.lists.Load())
	}

	unknown := openGit(t, Spec{Source: r.url(), Branch: strings.Repeat("ab", 20)})
	if _, err := unknown.Snapshot(context.Background()); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("a commit not on the remote: %v", err)
	}
}

func TestGitTags(t *testing.T) {
	r := newRepo(t)
	a := r.commitPush(map[string]string{"nectar.yaml": "fleet: a\n"})
	git(t, r.work, "tag", "-a", "-m", "release 1", "v1")
	b := r.commitPush(map[string]string{"nectar.yaml": "fleet: b\n"})
	git(t, r.work, "tag", "light")
	r.commitPush(map[string]string{"nectar.yaml": "fleet: c\n"})
	r.push("--tags")

	for _, tc := range []struct{ branch, rev, content string }{
		{"v1", "v1@sha1:" + a, "fleet: a\n"},
		{"refs/tags/v1", "v1@sha1:" + a, "fleet: a\n"},
		{"light", "light@sha1:" + b, "fleet: b\n"},
	} {
		t.Run(tc.branch, func(t *testing.T) {
			src := openGit(t, Spec{Source: r.url(), Branch: tc.branch})
			snap := snapshot(t, src)
			if snap.Revision != tc.rev {
				t.Errorf("revision %s, want %s", snap.Revision, tc.rev)
			}
			if got := readFile(t, snap.FS, "nectar.yaml"); got != tc.content {
				t.Errorf("reads %q", got)
			}
			snapshot(t, src)
			if f := src.fetches.Load(); f != 1 {
				t.Errorf("%d fetches of an unchanged annotated tag, want 1", f)
			}
		})
	}
}

// A commit in a local (non-bare) repository is signalled through its refs
// at once, without waiting for --poll.
func TestGitLocalCommitIsSignalledThroughRefs(t *testing.T) {
	requireGit(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeTree(t, dir, map[string]string{"nectar.yaml": "fleet: one\n"})
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "one")

	src := openGit(t, Spec{Source: "file://" + filepath.ToSlash(dir), Poll: time.Hour})
	watched := make(chan struct{})
	src.refsWatched = func() { close(watched) }
	first := snapshot(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)
	<-watched

	writeTree(t, dir, map[string]string{"nectar.yaml": "fleet: two\n"})
	git(t, dir, "commit", "-q", "-am", "two")
	head := git(t, dir, "rev-parse", "HEAD")
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after a local commit")
	}
	snap := snapshot(t, src)
	if snap.Revision == first.Revision || snap.Revision != "main@sha1:"+head {
		t.Errorf("revision %s after the commit, want main@sha1:%s", snap.Revision, head)
	}

	// A new branch checked out moves HEAD: followed too.
	git(t, dir, "checkout", "-q", "-b", "feature/x")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "three")
	head = git(t, dir, "rev-parse", "HEAD")
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after a commit on a new branch")
	}
	if snap := snapshot(t, src); snap.Revision != "feature/x@sha1:"+head {
		t.Errorf("revision %s, want feature/x@sha1:%s", snap.Revision, head)
	}
}

func TestGitPollSignalsAPush(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{"nectar.yaml": "fleet: one\n"})
	src := openGit(t, Spec{Source: r.url(), Poll: 50 * time.Millisecond})
	snapshot(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)
	if n := countSignals(changes, 300*time.Millisecond); n != 0 {
		t.Errorf("%d signals with nothing pushed", n)
	}
	head := r.commitPush(map[string]string{"nectar.yaml": "fleet: two\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after a push")
	}
	fetches := src.fetches.Load()
	if snap := snapshot(t, src); snap.Revision != "main@sha1:"+head {
		t.Errorf("revision %s", snap.Revision)
	}
	if src.fetches.Load() != fetches {
		t.Error("Snapshot fetched again what the poll had fetched")
	}
}

// fleet.Load reads a git snapshot as it reads a folder: the example fleet,
// committed, loads without a problem.
func TestFleetLoadsFromAGitSnapshot(t *testing.T) {
	r := newRepo(t)
	files := map[string]string{}
	example := filepath.Join("..", "..", "examples", "quickstart")
	err := filepath.WalkDir(example, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(example, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.commitPush(files)
	snap := snapshot(t, openGit(t, Spec{Source: r.url()}))
	ids, err := secrets.LoadIdentities(filepath.Join("..", "..", "examples", "demo-identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	f := fleet.Load(snap.FS, fleet.Options{Identities: ids})
	for _, p := range f.Problems {
		t.Errorf("problem: %v", p)
	}
	if len(f.Bots) != 3 || len(f.Accounts) != 2 {
		t.Errorf("%d bots and %d accounts, want 3 and 2", len(f.Bots), len(f.Accounts))
	}
}

func TestGitOpenChecks(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"bad branch", Spec{Source: "https://example.com/f.git", Branch: "a..b"}, "not a valid branch"},
		{"branch with a space", Spec{Source: "https://example.com/f.git", Branch: "my branch"}, "not a valid branch"},
		{"branch ending .lock", Spec{Source: "https://example.com/f.git", Branch: "x.lock"}, "not a valid branch"},
		{"branch starting -", Spec{Source: "https://example.com/f.git", Branch: "-x"}, "not a valid branch"},
		{"branch with @{", Spec{Source: "https://example.com/f.git", Branch: "a@{1}"}, "not a valid branch"},
		{"branch with //", Spec{Source: "https://example.com/f.git", Branch: "a//b"}, "not a valid branch"},
		{"scheme", Spec{Source: "ftp://example.com/f.git"}, "unsupported git URL scheme"},
		{"file host", Spec{Source: "file://server/f.git"}, "names a host"},
		{"path escapes", Spec{Source: "https://example.com/f.git", Path: "../x"}, "inside the source"},
		{"no agent", Spec{Source: "git@example.com:org/f.git"}, EnvGitSSHKey},
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	// Good names and a commit (in either case) open.
	for _, b := range []string{"main", "release/v1.2", "v2.16.0", "0123456789abcdef0123456789ABCDEF01234567"} {
		if _, err := open(Spec{Source: "https://example.com/f.git", Branch: b}, noEnv); err != nil {
			t.Errorf("branch %q: %v", b, err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(tc.spec, noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A fetch that left objects out is an error, never a partial tree.
func TestGitIncompleteFetchIsAnError(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{"nectar.yaml": "fleet: t\n", "bots/a.yml": "account: a\n"})
	src := openGit(t, Spec{Source: r.url()})
	good := snapshot(t, src)
	st := src.current.fs.objects.(*memory.Storage)
	damaged := memory.NewStorage()
	for h, obj := range st.Objects {
		if obj.Type() == plumbing.BlobObject && h == src.current.fs.root.child("bots").kids[0].hash {
			continue
		}
		damaged.SetEncodedObject(obj)
	}
	if _, err := src.snapshotAt(damaged, "main", src.current.commit); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("a store missing a blob: %v", err)
	}
	if got := readFile(t, good.FS, "bots/a.yml"); got != "account: a\n" {
		t.Errorf("the good snapshot reads %q", got)
	}
}

// Passes read a snapshot from many workers at once.
func TestGitSnapshotConcurrentReads(t *testing.T) {
	r := newRepo(t)
	files := map[string]string{"nectar.yaml": "fleet: t\n"}
	for i := range 50 {
		files[fmt.Sprintf("bots/b%02d.yml", i)] = fmt.Sprintf("account: a%d\n", i)
	}
	r.commitPush(files)
	fsys := snapshot(t, openGit(t, Spec{Source: r.url()})).FS
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for name, want := range files {
				if got, err := fs.ReadFile(fsys, name); err != nil || string(got) != want {
					t.Errorf("%s: %q, %v", name, got, err)
				}
			}
		})
	}
	wg.Wait()
}

// A push into a bare repository on this machine is signalled through its
// refs as well.
func TestGitBarePushIsSignalledThroughRefs(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{"nectar.yaml": "fleet: one\n"})
	src := openGit(t, Spec{Source: r.url(), Poll: time.Hour})
	watched := make(chan struct{})
	src.refsWatched = func() { close(watched) }
	snapshot(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := src.Changes(ctx)
	<-watched
	head := r.commitPush(map[string]string{"nectar.yaml": "fleet: two\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after a push into the bare repository")
	}
	if snap := snapshot(t, src); snap.Revision != "main@sha1:"+head {
		t.Errorf("revision %s", snap.Revision)
	}
}

// A git snapshot says which commit it is in a person's words: the first
// line of the message and the author's name, cleaned for a web page and a
// log line, never the address.
func TestGitSnapshotCommit(t *testing.T) {
	r := newRepo(t)
	r.write(map[string]string{"nectar.yaml": "fleet: t\n"})
	r.commit("Raise BTC spread\x1b[31m to 0.2%\n\nLonger text that is not the subject.")
	r.push("main")
	src := openGit(t, Spec{Source: r.url()})
	snap := snapshot(t, src)
	c := snap.Commit
	if c == nil {
		t.Fatal("no commit on a git snapshot")
	}
	if c.Subject != "Raise BTC spread[31m to 0.2%" || c.Author != "nectar test" || c.When.IsZero() {
		t.Errorf("commit = %+v", c)
	}
	long := strings.Repeat("é", 150)
	if got := commitText(long); len(got) > maxCommitText+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("a long subject came back as %q", got)
	}
}
