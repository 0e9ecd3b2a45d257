package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// How long one ls-remote and one fetch may take.
const (
	listTimeout  = 30 * time.Second
	fetchTimeout = 5 * time.Minute
)

// gitSource is a fleet in a git repository.
//
// Each fetch goes into a fresh in-memory object store holding one shallow
// commit (depth 1, no worktree), read through treeFS. A snapshot owns its
// store, so it stays readable and unchanged however the remote moves
// later; the store is freed when the last snapshot using it is dropped.
// Nothing is written to disk, so a crash can leave no half-fetched state
// behind; the price is one fetch after each start.
type gitSource struct {
	remote *remote
	branch string        // as given; "" follows the remote's HEAD
	pin    plumbing.Hash // set when branch names a commit
	sub    string        // --path
	poll   time.Duration
	log    *slog.Logger

	mu      sync.Mutex // one sync at a time; guards current and failing
	current *gitSnapshot
	failing bool

	lists, fetches atomic.Int64 // remote calls made, for tests
	refsWatched    func()       // test hook: the refs watch is set up
}

// gitSnapshot is one fetched commit.
type gitSnapshot struct {
	ref    string // short branch or tag name; "" for a pinned commit
	commit plumbing.Hash
	rev    string
	fs     *treeFS
	info   *Commit
}

func newGit(spec Spec, getenv func(string) string) (*gitSource, error) {
	r, err := newRemote(spec.Source, spec, getenv)
	if err != nil {
		return nil, err
	}
	g := &gitSource{remote: r, branch: spec.Branch, sub: spec.Path, poll: orDefault(spec.Poll, DefaultPoll), log: spec.Log,
		refsWatched: func() {}}
	switch {
	case plumbing.IsHash(spec.Branch):
		g.pin = plumbing.NewHash(strings.ToLower(spec.Branch))
	case spec.Branch != "" && plumbing.NewBranchReferenceName(spec.Branch).Validate() != nil:
		// git's own rules (check-ref-format), so a typo fails at start
		// rather than at each poll.
		return nil, fmt.Errorf("--branch %q is not a valid branch or tag name", spec.Branch)
	}
	return g, nil
}

func (g *gitSource) String() string { return g.remote.display }

// Snapshot asks the remote for its commit and fetches only when it moved.
func (g *gitSource) Snapshot(ctx context.Context) (Snapshot, error) {
	snap, err := g.sync(ctx)
	if snap == nil {
		return Snapshot{}, err
	}
	return Snapshot{Revision: snap.rev, Commit: snap.info, FS: snap.fs, Close: noClose}, err
}

// sync brings current up to date with the remote. On failure it returns
// the last good snapshot (nil when there never was one) with the error.
func (g *gitSource) sync(ctx context.Context) (*gitSnapshot, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	snap, err := g.update(ctx)
	if err != nil {
		g.failing = true
		return g.current, g.remote.scrub(fmt.Errorf("git source %s: %w", g.remote.display, err))
	}
	g.current, g.failing = snap, false
	return snap, nil
}

func (g *gitSource) update(ctx context.Context) (*gitSnapshot, error) {
	if !g.pin.IsZero() {
		if g.current != nil {
			return g.current, nil // a commit never changes
		}
		return g.fetchPin(ctx)
	}
	want, err := g.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if c := g.current; c != nil && c.commit == want.commit && c.ref == want.name.Short() {
		return c, nil
	}
	return g.fetch(ctx, want)
}

// wanted is the ref the source follows, as the remote lists it now.
type wanted struct {
	name   plumbing.ReferenceName
	commit plumbing.Hash // peeled: the commit an annotated tag points at
}

// resolve lists the remote's refs (git ls-remote) and picks the one to
// follow. This is the cheap call every poll makes.
func (g *gitSource) resolve(ctx context.Context) (wanted, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	g.lists.Add(1)
	rem := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{g.remote.url}})
	refs, err := rem.ListContext(ctx, &gogit.ListOptions{Auth: g.remote.auth, PeelingOption: gogit.AppendPeeled})
	if err != nil {
		return wanted{}, fmt.Errorf("cannot list the remote's branches: %w", g.explain(err))
	}
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	name, err := g.pick(byName)
	if err != nil {
		return wanted{}, err
	}
	commit := byName[name].Hash()
	if peeled, ok := byName[name+"^{}"]; ok {
		commit = peeled.Hash()
	}
	return wanted{name: name, commit: commit}, nil
}

// pick chooses the ref: the remote's HEAD, or --branch as a branch, then
// as a tag.
func (g *gitSource) pick(refs map[plumbing.ReferenceName]*plumbing.Reference) (plumbing.ReferenceName, error) {
	has := func(n plumbing.ReferenceName) bool {
		r, ok := refs[n]
		return ok && r.Type() == plumbing.HashReference
	}
	if g.branch == "" {
		head, ok := refs[plumbing.HEAD]
		if ok && head.Type() == plumbing.SymbolicReference && has(head.Target()) {
			return head.Target(), nil
		}
		return "", fmt.Errorf("the remote's HEAD names no branch (an empty repository, or its default branch was deleted): %w; pass --branch", ErrRefNotFound)
	}
	candidates := []plumbing.ReferenceName{plumbing.NewBranchReferenceName(g.branch), plumbing.NewTagReferenceName(g.branch)}
	if strings.HasPrefix(g.branch, "refs/") {
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(g.branch)}
	}
	for _, n := range candidates {
		if has(n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("branch or tag %q %w (deleted or never pushed?)", g.branch, ErrRefNotFound)
}

// fetch makes a shallow fetch of want's ref into a fresh store.
func (g *gitSource) fetch(ctx context.Context, want wanted) (*gitSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	st := memory.NewStorage()
	spec := config.RefSpec("+" + want.name + ":" + want.name)
	if err := g.fetchInto(ctx, st, 1, spec); err != nil {
		if errors.Is(err, gogit.NoMatchingRefSpecError{}) {
			return nil, fmt.Errorf("%s %w (deleted while fetching)", want.name.Short(), ErrRefNotFound)
		}
		return nil, fmt.Errorf("cannot fetch %s: %w", want.name.Short(), err)
	}
	ref, err := st.Reference(want.name)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch %s: the remote sent no such ref: %w", want.name.Short(), err)
	}
	return g.snapshotAt(st, want.name.Short(), ref.Hash())
}

// fetchPin fetches the pinned commit. Most servers refuse a request for a
// commit by its hash unless a ref points at it, so when the shallow
// request fails, every branch and tag is fetched in full and the commit
// looked up among them. It happens once: a commit never changes.
func (g *gitSource) fetchPin(ctx context.Context) (*gitSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	st := memory.NewStorage()
	err := g.fetchInto(ctx, st, 1, config.RefSpec(g.pin.String()+":refs/nectar/pin"))
	if err != nil {
		st = memory.NewStorage()
		err = g.fetchInto(ctx, st, 0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
		if err != nil {
			return nil, fmt.Errorf("cannot fetch commit %s: %w", g.pin, err)
		}
	}
	if _, err := st.EncodedObject(plumbing.CommitObject, g.pin); err != nil {
		return nil, fmt.Errorf("commit %s %w on any branch or tag", g.pin, ErrRefNotFound)
	}
	// Keep only the pinned commit's objects, not the whole history the
	// fallback fetched: the snapshot holds its store for good.
	st, err = copyCommit(st, g.pin)
	if err != nil {
		return nil, fmt.Errorf("the fetched commit %s is incomplete: %w", g.pin, err)
	}
	return g.snapshotAt(st, "", g.pin)
}

// copyCommit copies one commit, its tree and everything in it into a
// fresh store.
func copyCommit(from *memory.Storage, commit plumbing.Hash) (*memory.Storage, error) {
	to := memory.NewStorage()
	cp := func(h plumbing.Hash) (plumbing.EncodedObject, error) {
		obj, err := from.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		_, err = to.SetEncodedObject(obj)
		return obj, err
	}
	obj, err := cp(commit)
	if err != nil {
		return nil, err
	}
	c, err := object.DecodeCommit(from, obj)
	if err != nil {
		return nil, err
	}
	var walk func(h plumbing.Hash) error
	walk = func(h plumbing.Hash) error {
		obj, err := cp(h)
		if err != nil {
			return err
		}
		tree, err := object.DecodeTree(from, obj)
		if err != nil {
			return err
		}
		for _, e := range tree.Entries {
			switch e.Mode {
			case filemode.Dir:
				err = walk(e.Hash)
			case filemode.Submodule:
			default:
				_, err = cp(e.Hash)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return to, walk(c.TreeHash)
}

func (g *gitSource) fetchInto(ctx context.Context, st *memory.Storage, depth int, specs ...config.RefSpec) error {
	g.fetches.Add(1)
	rem := gogit.NewRemote(st, &config.RemoteConfig{Name: "origin", URLs: []string{g.remote.url}})
	err := rem.FetchContext(ctx, &gogit.FetchOptions{RefSpecs: specs, Depth: depth, Tags: gogit.NoTags, Auth: g.remote.auth})
	if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return g.explain(err)
}

// explain puts the transport's common failures in words a person can act
// on. The sentinel stays wrapped; the server's own message, if it said
// more than the sentinel, follows it.
func (g *gitSource) explain(err error) error {
	var base error
	var why string
	switch {
	case err == nil:
		return nil
	case errors.Is(err, transport.ErrAuthenticationRequired):
		base, why = transport.ErrAuthenticationRequired, "the remote requires credentials: set $"+EnvGitToken+" for HTTPS, or an SSH key"
		if g.remote.auth != nil {
			why = "the remote refused the credentials"
		}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		base, why = transport.ErrAuthorizationFailed, "the credentials may not read this repository"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		base, why = transport.ErrRepositoryNotFound, "no repository at this URL (or the credentials may not see it)"
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		base, why = transport.ErrEmptyRemoteRepository, "the repository has no commit yet"
	default:
		return err
	}
	detail := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(err.Error(), base.Error()), ":"))
	if detail == "" || detail == base.Error() {
		return fmt.Errorf("%s (%w)", why, base)
	}
	return fmt.Errorf("%s (%w: %s)", why, base, detail)
}

// snapshotAt indexes the fleet folder of the commit at hash (or of the
// commit an annotated tag there points at).
func (g *gitSource) snapshotAt(st *memory.Storage, ref string, hash plumbing.Hash) (*gitSnapshot, error) {
	commit, err := peelCommit(st, hash)
	if err != nil {
		return nil, fmt.Errorf("the fetched %s is unusable: %w", cmpName(ref, hash), err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("the fetched commit %s is incomplete: %w", commit.Hash, err)
	}
	if g.sub != "" {
		tree, err = tree.Tree(g.sub)
		if err != nil {
			return nil, fmt.Errorf("--path %s is not a folder in commit %s of %s", g.sub, commit.Hash.String()[:12], cmpName(ref, hash))
		}
	}
	fsys, err := newTreeFS(st, tree, commit.Committer.When)
	if err != nil {
		return nil, fmt.Errorf("the fetched commit %s is incomplete: %w", commit.Hash, err)
	}
	rev := "sha1:" + commit.Hash.String()
	if ref != "" {
		rev = ref + "@" + rev
	}
	info := &Commit{Subject: commitText(commit.Message), Author: commitText(commit.Author.Name), When: commit.Author.When}
	return &gitSnapshot{ref: ref, commit: commit.Hash, rev: rev, fs: fsys, info: info}, nil
}

func cmpName(ref string, hash plumbing.Hash) string {
	if ref != "" {
		return ref
	}
	return hash.String()
}

// peelCommit returns the commit at hash, following annotated tags.
func peelCommit(st *memory.Storage, hash plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := st.EncodedObject(plumbing.AnyObject, hash)
		if err != nil {
			return nil, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return object.DecodeCommit(st, obj)
		case plumbing.TagObject:
			tag, err := object.DecodeTag(st, obj)
			if err != nil {
				return nil, err
			}
			hash = tag.Target
		default:
			return nil, fmt.Errorf("%s is a %s, not a commit", hash, obj.Type())
		}
	}
	return nil, errors.New("too many nested tags")
}

// Changes polls the remote every poll (ls-remote; a fetch only when the
// commit moved) and, for a file:// repository, also when its refs change
// on disk. It signals when the revision changed or the source started or
// stopped failing.
func (g *gitSource) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	kick := make(chan struct{}, 1)
	if g.remote.local != "" {
		go g.watchRefs(ctx, kick)
	}
	go func() {
		defer close(out)
		t := time.NewTicker(g.poll)
		defer t.Stop()
		g.mu.Lock()
		seenRev, seenFailing := g.current.revision(), g.failing
		g.mu.Unlock()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-kick:
			}
			snap, err := g.sync(ctx)
			if ctx.Err() != nil {
				return
			}
			failing := err != nil
			if failing && !seenFailing {
				g.log.Warn("the git source failed; the last good revision stays applied",
					"source", g.remote.display, "revision", snap.revision(), "err", err)
			}
			if snap.revision() != seenRev || failing != seenFailing {
				notify(out)
			}
			seenRev, seenFailing = snap.revision(), failing
		}
	}()
	return out
}

func (s *gitSnapshot) revision() string {
	if s == nil {
		return ""
	}
	return s.rev
}
