// Package source turns a fleet source — a folder on disk or a folder inside
// a git repository — into snapshots (a revision and a file system to load
// the fleet from) and into signals that a newer snapshot may be available.
//
// A folder is watched with file events (fsnotify) and falls back to
// polling; a git repository is polled with a cheap ls-remote and fetched,
// shallow and without a worktree, only when its commit moved. Both only
// signal: the caller decides when to take the next snapshot.
package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Snapshot is one revision of the fleet.
type Snapshot struct {
	// Revision names the content: "sha256:<12 hex>" (a digest of the
	// files) for a folder, "<branch or tag>@sha1:<commit>" for git, or
	// "sha1:<commit>" when the source is pinned to a commit.
	Revision string
	// Commit describes a git revision's commit for people; nil for a
	// folder.
	Commit *Commit
	// FS holds the fleet. A git snapshot never changes; a folder snapshot
	// reads the live folder, so its Revision describes the content at the
	// time Snapshot was called.
	FS fs.FS
	// Close releases the snapshot once the caller is done reading FS. It is
	// never nil when FS is set, and may be called more than once.
	Close func()
}

// Commit is what a person reads to know a git revision: the first line of
// its message and its author, bounded and cleaned of control characters
// (they are shown on the status page and in logs).
type Commit struct {
	Subject string
	Author  string // the author's name, without the address
	When    time.Time
}

// maxCommitText bounds a commit's subject and author name as nectar keeps
// them.
const maxCommitText = 200

// commitText cleans a commit's text for display: its first line, control
// characters dropped, cut at maxCommitText bytes on a character boundary.
func commitText(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > maxCommitText {
		cut := maxCommitText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Source is a fleet source: a folder or a git repository.
type Source interface {
	// Snapshot returns the current revision. For git it asks the remote
	// first and fetches only when the commit moved. When that fails, it
	// returns the last good snapshot (if there was one) together with the
	// error, so the caller can keep applying it and show why it is stale;
	// it never returns an empty file system in place of the fleet.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Changes returns a channel that receives a value whenever a new
	// snapshot may be available (a file changed, the remote moved, or the
	// source went from failing to working or back). Signals coalesce: the
	// channel holds at most one. It is closed when ctx ends. Call it once.
	Changes(ctx context.Context) <-chan struct{}
	// String names the source for status output: the folder, or the URL
	// without any credential.
	String() string
}

// Environment variables that supply git credentials when the matching Spec
// field is empty. Credentials never come from the fleet itself.
const (
	// EnvGitToken holds an HTTPS token (or password), sent with basic auth.
	EnvGitToken = "NECTAR_GIT_TOKEN"
	// EnvGitUsername is the basic-auth user name sent with the token.
	EnvGitUsername = "NECTAR_GIT_USERNAME"
	// EnvGitSSHKey names an SSH private key file, or holds the key itself
	// (a value starting with "-----BEGIN").
	EnvGitSSHKey = "NECTAR_GIT_SSH_KEY"
	// EnvGitKnownHosts names a known_hosts file for SSH host keys.
	EnvGitKnownHosts = "NECTAR_GIT_KNOWN_HOSTS"
)

// Defaults for the Spec durations left zero.
const (
	DefaultPoll         = 30 * time.Second
	DefaultResync       = 60 * time.Second
	DefaultDebounce     = 100 * time.Millisecond
	DefaultPollFallback = 2 * time.Second
)

// ErrRefNotFound is wrapped by errors saying the branch or tag the source
// follows is not on the remote (never created, or deleted).
var ErrRefNotFound = errors.New("not found on the remote")

// Spec says which source to open and how to follow it.
type Spec struct {
	// Source is a folder, or a git URL: https://, http://, ssh://,
	// git://, file://, or scp-like user@host:path.
	Source string
	// Branch (git only) is the branch or tag to follow, or a 40-hex commit
	// to pin. Empty follows the remote's HEAD.
	Branch string
	// Path is the sub-folder of the source that holds the fleet.
	Path string

	// Poll (git) is how often the remote is asked for its commit;
	// DefaultPoll when zero.
	Poll time.Duration
	// Token and Username (HTTPS git) are sent with basic auth; from
	// $NECTAR_GIT_TOKEN and $NECTAR_GIT_USERNAME when empty. A token in
	// the URL's user info is used as well, and never shown.
	Token, Username string
	// SSHKeyFile and KnownHostsFile (SSH git) are from $NECTAR_GIT_SSH_KEY
	// and $NECTAR_GIT_KNOWN_HOSTS when empty. Without a key, the SSH agent
	// is used; without known_hosts, $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts.
	SSHKeyFile, KnownHostsFile string

	// Debounce (folder) is how long file events must be quiet before they
	// become one signal; DefaultDebounce when zero.
	Debounce time.Duration
	// Resync (folder) is how often the whole tree is walked again to catch
	// events the watcher missed; DefaultResync when zero.
	Resync time.Duration
	// PollFallback (folder) is the period of the stat walk used when file
	// events are unavailable; DefaultPollFallback when zero.
	PollFallback time.Duration
	// ForcePolling (folder) skips file events and always polls, for file
	// systems where events do not arrive (network mounts, some containers).
	ForcePolling bool

	// Log receives warnings (a fallback to polling, a failed fetch). Nil
	// discards them.
	Log *slog.Logger
}

// Open opens the source spec names. It checks the spec and, for a folder,
// that the folder exists; it does not contact a git remote.
func Open(spec Spec) (Source, error) {
	return open(spec, os.Getenv)
}

func open(spec Spec, getenv func(string) string) (Source, error) {
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	if spec.Source == "" {
		return nil, errors.New("no source given: name a fleet folder or a git URL")
	}
	sub, err := cleanSubPath(spec.Path)
	if err != nil {
		return nil, err
	}
	spec.Path = sub
	if IsGit(spec.Source) {
		return newGit(spec, getenv)
	}
	if spec.Branch != "" {
		return nil, fmt.Errorf("--branch %s applies to git sources, and %s is a folder", spec.Branch, spec.Source)
	}
	return newFolder(spec)
}

// scpLike matches git's user@host:path form (the user is required here, so
// that a folder with a colon in its name stays a folder).
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+:[^/]`)

// IsGit reports whether source names a git repository (a URL, or an
// scp-like user@host:path) rather than a folder.
func IsGit(source string) bool {
	if strings.Contains(source, "://") {
		return true
	}
	if _, err := os.Stat(source); err == nil {
		return false
	}
	return scpLike.MatchString(source)
}

// cleanSubPath checks --path: a relative, slash-separated folder inside the
// source. It returns "" for the source's top.
func cleanSubPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	clean := path.Clean(filepath.ToSlash(p))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("--path %s must be a folder inside the source (relative, without ..)", p)
	}
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// notify sends a coalescing signal: if one is already pending, this one is
// folded into it.
func notify(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// noClose is the Close of a snapshot that holds nothing to release.
func noClose() {}
