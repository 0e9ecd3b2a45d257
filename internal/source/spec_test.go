package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/nectarhq/nectar/internal/fleet"
)

func TestIsGit(t *testing.T) {
	dir := t.TempDir()
	colon := filepath.Join(dir, "me@host:fleet")
	if err := os.Mkdir(colon, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source string
		want   bool
	}{
		{"https://github.com/org/fleet.git", true},
		{"http://127.0.0.1:8080/fleet.git", true},
		{"ssh://git@github.com/org/fleet.git", true},
		{"git@github.com:org/fleet.git", true},
		{"deploy@git.example.com:fleets/prod.git", true},
		{"file:///srv/git/fleet.git", true},
		{"./fleet", false},
		{"/srv/fleet", false},
		{"fleet", false},
		{"host:fleet", false}, // scp-like without a user stays a folder
		{colon, false},        // an existing folder wins
	}
	for _, tc := range tests {
		if got := IsGit(tc.source); got != tc.want {
			t.Errorf("IsGit(%q) = %v, want %v", tc.source, got, tc.want)
		}
	}
}

func TestCleanSubPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{".", "", true},
		{"fleet", "fleet", true},
		{"deploy/prod/", "deploy/prod", true},
		{"./deploy//prod", "deploy/prod", true},
		{"a/../b", "b", true},
		{"..", "", false},
		{"../x", "", false},
		{"/abs", "", false},
	}
	for _, tc := range tests {
		got, err := cleanSubPath(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("cleanSubPath(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRemoteCredentials(t *testing.T) {
	t.Run("token in the URL", func(t *testing.T) {
		r, err := newRemote("https://x-access-token:tok_12345@github.com/org/fleet.git", Spec{}, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if r.url != "https://x-access-token@github.com/org/fleet.git" || r.display != r.url {
			t.Errorf("url %q, display %q", r.url, r.display)
		}
		auth, ok := r.auth.(*githttp.BasicAuth)
		if !ok || auth.Username != "x-access-token" || auth.Password != "tok_12345" {
			t.Errorf("auth %v", r.auth)
		}
	})
	t.Run("default user name", func(t *testing.T) {
		r, err := newRemote("https://example.com/fleet.git", Spec{Token: "tok_12345"}, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if auth := r.auth.(*githttp.BasicAuth); auth.Username != "git" {
			t.Errorf("user %q", auth.Username)
		}
	})
	t.Run("no token, no auth", func(t *testing.T) {
		r, err := newRemote("https://example.com/fleet.git", Spec{}, noEnv)
		if err != nil || r.auth != nil {
			t.Errorf("auth %v, err %v", r.auth, err)
		}
	})
	t.Run("scp-like", func(t *testing.T) {
		key, _ := newSSHKey(t)
		env := map[string]string{EnvGitSSHKey: string(key)}
		r, err := newRemote("deploy@git.example.com:fleets/prod.git", Spec{}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if r.url != "deploy@git.example.com:fleets/prod.git" || !strings.Contains(fmt.Sprint(r.auth), "user: deploy") {
			t.Errorf("url %q, auth %v", r.url, r.auth)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		_, err := newRemote("ssh://git@example.com/fleet.git", Spec{SSHKeyFile: filepath.Join(t.TempDir(), "missing")}, noEnv)
		if err == nil || !strings.Contains(err.Error(), "SSH key") {
			t.Errorf("a missing key file: %v", err)
		}
		const text = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"
		_, err = newRemote("ssh://git@example.com/fleet.git", Spec{SSHKeyFile: text}, noEnv)
		if err == nil || strings.Contains(err.Error(), "not a key") {
			t.Errorf("a broken key: %v", err)
		}
	})
}

func TestScrub(t *testing.T) {
	r := &remote{secrets: []string{"tok_12345", "ab"}}
	err := r.scrub(fmt.Errorf("GET https://u:tok_12345@host/x: %w", errors.New("boom ab")))
	if strings.Contains(err.Error(), "tok_12345") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("scrubbed: %v", err)
	}
	if errors.Unwrap(err) != nil {
		t.Error("a scrubbed error still carries the original chain")
	}
	clean := errors.New("nothing secret")
	if r.scrub(clean) != clean {
		t.Error("an error without secrets was rewritten")
	}
}

func TestGitDirs(t *testing.T) {
	requireGit(t)
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	git(t, work, "commit", "-q", "--allow-empty", "-m", "one")
	bare := filepath.Join(t.TempDir(), "b.git")
	git(t, "", "init", "-q", "--bare", bare)
	linked := filepath.Join(t.TempDir(), "linked")
	git(t, work, "worktree", "add", "-q", "-b", "side", linked)

	tests := []struct {
		repo, gitDir, common string
	}{
		{work, filepath.Join(work, ".git"), filepath.Join(work, ".git")},
		{bare, bare, bare},
		{linked, filepath.Join(work, ".git", "worktrees", "linked"), filepath.Join(work, ".git")},
	}
	for _, tc := range tests {
		g, c, err := gitDirs(tc.repo)
		if err != nil || filepath.Clean(g) != tc.gitDir || filepath.Clean(c) != tc.common {
			t.Errorf("gitDirs(%s) = %s, %s, %v; want %s, %s", tc.repo, g, c, err, tc.gitDir, tc.common)
		}
	}
	if _, _, err := gitDirs(t.TempDir()); err == nil {
		t.Error("a plain folder passed for a repository")
	}
}

// Links that loop or leave the tree, and files over the size cap, fail
// with errors that say so; the loader still sees their size and target.
func TestTreeFSEdges(t *testing.T) {
	r := newRepo(t)
	r.commitPush(map[string]string{
		"loop/a":       "->b",
		"loop/b":       "->a",
		"gone":         "->missing",
		"abs":          "->/etc/passwd",
		"up":           "->../x",
		"dirlink":      "->scripts",
		"scripts/s.py": "print()\n",
		"big.bin":      strings.Repeat("x", fleet.MaxFileSize+1),
		"limit.bin":    strings.Repeat("y", fleet.MaxFileSize),
	})
	fsys := snapshot(t, openGit(t, Spec{Source: r.url()})).FS
	tests := []struct {
		name string
		want error
	}{
		{"loop/a", errLinkLoop},
		{"abs", errOutside},
		{"up", errOutside},
		{"big.bin", errFileTooLarge},
		{"scripts/s.py/x", errNotDir},
		{"missing", fs.ErrNotExist},
		{"../x", fs.ErrInvalid},
		{"/abs", fs.ErrInvalid},
	}
	for _, tc := range tests {
		if _, err := fsys.Open(tc.name); !errors.Is(err, tc.want) {
			t.Errorf("Open(%s): %v, want %v", tc.name, err, tc.want)
		}
	}
	if info, err := fs.Stat(fsys, "big.bin"); err != nil || info.Size() != fleet.MaxFileSize+1 {
		t.Errorf("Stat(big.bin) = %v, %v", info, err)
	}
	if data, err := fs.ReadFile(fsys, "limit.bin"); err != nil || len(data) != fleet.MaxFileSize {
		t.Errorf("a file of exactly the cap: %d bytes, %v", len(data), err)
	}
	if got := readFile(t, fsys, "dirlink/s.py"); got != "print()\n" {
		t.Errorf("through a folder link: %q", got)
	}
	if _, err := fs.ReadLink(fsys, "scripts/s.py"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadLink of a file: %v", err)
	}
	if _, err := fs.ReadDir(fsys, "scripts/s.py"); !errors.Is(err, errNotDir) {
		t.Errorf("ReadDir of a file: %v", err)
	}
	// The loader reports them as it does for a folder, without failing.
	f := fleet.Load(fsys, fleet.Options{})
	var text []string
	for _, p := range f.Problems {
		text = append(text, p.Error())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"abs", "up", "big.bin", "loop/a: symlink loop", "gone: broken symlink: its target missing does not exist"} {
		if !strings.Contains(all, want) {
			t.Errorf("fleet.Load reports nothing about %s:\n%s", want, all)
		}
	}
}

// FuzzTreeFS opens arbitrary names in a tree full of awkward links: no
// panic, and whatever opens is a file of the tree.
func FuzzTreeFS(f *testing.F) {
	requireGit(f)
	files := map[string]string{
		"nectar.yaml":     "fleet: f\n",
		"bots/a.yml":      "account: a\n",
		"bots/link.yml":   "->a.yml",
		"loop/a":          "->b",
		"loop/b":          "->../loop/a",
		"out":             "->../../etc/passwd",
		"abs":             "->/etc/passwd",
		"dots":            "->./bots/../bots/./a.yml",
		"self":            "->.",
		"scripts/x/y.py":  "y\n",
		"scripts/up.py":   "->../nectar.yaml",
		"scripts/deep.py": "->x/../../bots/link.yml",
	}
	r := newRepo(f)
	r.commitPush(files)
	fsys := snapshot(f, openGit(f, Spec{Source: r.url()})).FS
	contents := map[string]bool{}
	for _, c := range files {
		contents[c] = true
	}
	for _, seed := range []string{"nectar.yaml", "bots/link.yml", "loop/a", "self/self/bots/a.yml", "scripts/deep.py", "dots", "out", "a/../b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if file, err := fsys.Open(name); err == nil {
			info, _ := file.Stat()
			file.Close()
			if !info.IsDir() {
				data, err := fs.ReadFile(fsys, name)
				if err != nil || !contents[string(data)] {
					t.Errorf("Open(%q) read %q (%v), not a file of the tree", name, data, err)
				}
			}
		}
		fs.Stat(fsys, name)
		fs.Lstat(fsys, name)
		fs.ReadLink(fsys, name)
		fs.ReadDir(fsys, name)
	})
}
