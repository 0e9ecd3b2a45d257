package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// folderSource is a fleet in a folder on disk.
type folderSource struct {
	dir          string // absolute, --path included
	debounce     time.Duration
	resync       time.Duration
	pollEvery    time.Duration
	forcePolling bool
	log          *slog.Logger

	// Test hooks: how a watcher is made and a folder watched, and a call
	// once the folder is being watched or polled.
	newWatcher func() (*fsnotify.Watcher, error)
	addWatch   func(w *fsnotify.Watcher, dir string) error
	ready      func()
}

func newFolder(spec Spec) (*folderSource, error) {
	dir := spec.Source
	if spec.Path != "" {
		dir = filepath.Join(dir, filepath.FromSlash(spec.Path))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil || !info.IsDir() {
		return nil, fmt.Errorf("fleet folder %s not found", dir)
	}
	return &folderSource{
		dir:          abs,
		debounce:     orDefault(spec.Debounce, DefaultDebounce),
		resync:       orDefault(spec.Resync, DefaultResync),
		pollEvery:    orDefault(spec.PollFallback, DefaultPollFallback),
		forcePolling: spec.ForcePolling,
		log:          spec.Log,
		newWatcher:   func() (*fsnotify.Watcher, error) { return fsnotify.NewBufferedWatcher(1024) },
		addWatch:     func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) },
		ready:        func() {},
	}, nil
}

func (f *folderSource) String() string { return f.dir }

// Snapshot opens the folder as an os.Root, so that nothing outside it is
// read (symlinks that escape fail), and names its content with a digest.
func (f *folderSource) Snapshot(ctx context.Context) (Snapshot, error) {
	root, err := os.OpenRoot(f.dir)
	if err != nil {
		return Snapshot{}, fmt.Errorf("cannot open fleet folder: %w", err)
	}
	rev, err := contentDigest(ctx, root.FS())
	if err != nil {
		root.Close()
		return Snapshot{}, fmt.Errorf("cannot read fleet folder %s: %w", f.dir, err)
	}
	return Snapshot{Revision: rev, FS: root.FS(), Close: sync.OnceFunc(func() { root.Close() })}, nil
}

// Changes watches the folder with file events, or polls it when events
// cannot be had. The watch (or the polling baseline) is in place before
// Changes returns, so any change made after it returns is signalled.
func (f *folderSource) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	var w *fsnotify.Watcher
	var err error
	if !f.forcePolling {
		w, err = f.startWatch()
	}
	last := treeStat(f.dir)
	f.ready()
	go func() {
		defer close(out)
		if w != nil {
			err = f.watch(ctx, w, last, out)
			if err == nil || ctx.Err() != nil {
				return
			}
			// Whatever changed while the watcher was failing is picked
			// up by the pass this signal asks for.
			notify(out)
			last = treeStat(f.dir)
		}
		if err != nil {
			f.log.Warn("file events unavailable for the fleet folder; polling it instead",
				"folder", f.dir, "every", f.pollEvery, "err", err)
		}
		f.poll(ctx, last, out)
	}()
	return out
}

// startWatch makes a watcher that follows every folder of the tree.
func (f *folderSource) startWatch() (*fsnotify.Watcher, error) {
	w, err := f.newWatcher()
	if err != nil {
		return nil, err
	}
	if err := f.addTree(w, f.dir); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// watch follows the folder with fsnotify until ctx ends (nil) or events can
// no longer be relied on (an error: the caller falls back to polling). It
// closes w.
func (f *folderSource) watch(ctx context.Context, w *fsnotify.Watcher, last string, out chan<- struct{}) error {
	defer w.Close()
	d := debouncer{quiet: f.debounce, max: 10 * f.debounce}
	defer d.stop()
	resync := time.NewTicker(f.resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("the file watcher stopped")
			}
			if f.ignored(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				// Files may land in a new folder before its watch exists:
				// watch it and everything in it now; the signal below
				// makes the next pass read whatever is already there.
				if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
					if err := f.addTree(w, ev.Name); err != nil {
						return err
					}
				}
			}
			d.poke(time.Now())
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("the file watcher stopped")
			}
			// An overflow or a read error means events were lost: watch
			// the whole tree again and let a full pass reread it.
			f.log.Warn("file events were lost; rereading the fleet folder", "folder", f.dir, "err", err)
			if err := f.addTree(w, f.dir); err != nil {
				return err
			}
			d.poke(time.Now())
		case <-d.C():
			d.fired()
			last = treeStat(f.dir)
			notify(out)
		case <-resync.C:
			// Catch what events missed: folders whose watch could not be
			// added in time, or events the kernel dropped silently.
			if err := f.addTree(w, f.dir); err != nil {
				return err
			}
			if now := treeStat(f.dir); now != last {
				last = now
				notify(out)
			}
		}
	}
}

// poll compares a cheap digest of the tree (names, sizes, times) every
// pollEvery.
func (f *folderSource) poll(ctx context.Context, last string, out chan<- struct{}) {
	t := time.NewTicker(f.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if now := treeStat(f.dir); now != last {
				last = now
				notify(out)
			}
		}
	}
}

// addTree watches dir and every folder below it. It fails only when the
// system is out of watches: a folder that vanished or cannot be read is
// skipped, as the next pass reports whatever is wrong with it.
func (f *folderSource) addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" && p != f.dir {
			return fs.SkipDir
		}
		if err := f.addWatch(w, p); err != nil {
			if outOfWatches(err) {
				return fmt.Errorf("cannot watch %s: %w (raise fs.inotify.max_user_watches, or poll)", p, err)
			}
			f.log.Debug("cannot watch a folder of the fleet", "folder", p, "err", err)
		}
		return nil
	})
}

// ignored reports whether an event concerns a .git folder, which is not
// part of the fleet.
func (f *folderSource) ignored(name string) bool {
	rel, err := filepath.Rel(f.dir, name)
	if err != nil {
		return false
	}
	for part := range strings.SplitSeq(filepath.ToSlash(rel), "/") {
		if part == ".git" {
			return true
		}
	}
	return false
}

func outOfWatches(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// debouncer folds a burst of events into one signal: it fires once events
// have been quiet for quiet, or max after the burst began, whichever comes
// first, so a steady stream of writes still yields a signal now and then.
type debouncer struct {
	quiet, max time.Duration
	timer      *time.Timer
	first      time.Time // start of the pending burst; zero when idle
}

// poke records an event at now.
func (d *debouncer) poke(now time.Time) {
	if d.first.IsZero() {
		d.first = now
	}
	wait := d.quiet
	if deadline := d.first.Add(d.max); now.Add(wait).After(deadline) {
		wait = max(deadline.Sub(now), 0)
	}
	if d.timer == nil {
		d.timer = time.NewTimer(wait)
	} else {
		d.timer.Reset(wait)
	}
}

// C is the channel that fires when the burst is over; nil when idle.
func (d *debouncer) C() <-chan time.Time {
	if d.first.IsZero() {
		return nil
	}
	return d.timer.C
}

// fired ends the burst after C fired.
func (d *debouncer) fired() { d.first = time.Time{} }

func (d *debouncer) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
}
