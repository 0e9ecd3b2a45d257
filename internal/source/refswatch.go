package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// gitDirs finds where a local repository keeps HEAD (gitDir) and its
// refs and packed-refs (common; the same folder except in a linked
// worktree). repo is a work tree with .git (a folder, or a file naming
// one), or a bare repository.
func gitDirs(repo string) (gitDir, common string, err error) {
	dotGit := filepath.Join(repo, ".git")
	info, err := os.Stat(dotGit)
	switch {
	case err == nil && info.IsDir():
		gitDir = dotGit
	case err == nil:
		data, err := os.ReadFile(dotGit)
		if err != nil {
			return "", "", err
		}
		target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !ok {
			return "", "", errors.New(dotGit + " is neither a folder nor a gitdir: file")
		}
		gitDir = resolveFrom(repo, strings.TrimSpace(target))
	default:
		if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
			return "", "", errors.New(repo + " is not a git repository")
		}
		gitDir = repo
	}
	common = gitDir
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = resolveFrom(gitDir, strings.TrimSpace(string(data)))
	}
	return gitDir, common, nil
}

func resolveFrom(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// watchRefs kicks the poller whenever a ref of the local repository
// changes: HEAD, packed-refs, or anything under refs/ (a commit, a branch
// switch, a fetch or a push into it). A ref moves by renaming its .lock
// file over it, which arrives as a create of the ref. If the repository
// cannot be watched, polling alone carries on.
func (g *gitSource) watchRefs(ctx context.Context, kick chan<- struct{}) {
	gitDir, common, err := gitDirs(g.remote.local)
	if err != nil {
		g.log.Warn("cannot watch the local repository's refs; polling only", "source", g.remote.display, "err", err)
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		g.log.Warn("cannot watch the local repository's refs; polling only", "source", g.remote.display, "err", err)
		return
	}
	defer w.Close()
	refs := filepath.Join(common, "refs")
	addRefs := func(dir string) {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				w.Add(p)
			}
			return nil
		})
	}
	// Adding a watch again is harmless, so arm also re-arms: after a
	// watcher error, and every poll, in case the repository was replaced.
	arm := func() {
		w.Add(gitDir)
		w.Add(common)
		addRefs(refs)
	}
	arm()
	g.refsWatched()
	t := time.NewTicker(g.poll)
	defer t.Stop()
	isRef := func(name string) bool {
		base := filepath.Base(name)
		if strings.HasSuffix(base, ".lock") {
			return false
		}
		if strings.HasPrefix(name, refs+string(filepath.Separator)) {
			return true
		}
		dir := filepath.Dir(name)
		return (dir == gitDir || dir == common) && (base == "HEAD" || base == "packed-refs")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !isRef(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					addRefs(ev.Name) // a new namespace, e.g. refs/heads/feature/
				}
			}
			notify(kick)
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			arm()
			notify(kick)
		case <-t.C:
			arm()
		}
	}
}
