package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchFolder opens dir as a folder source, lets adjust change it before
// it starts, and returns its signals once the folder is being watched.
func watchFolder(t *testing.T, dir string, spec Spec, adjust func(*folderSource)) (*folderSource, <-chan struct{}) {
	t.Helper()
	spec.Source = dir
	src, err := open(spec, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	f := src.(*folderSource)
	ready := make(chan struct{})
	var once sync.Once
	f.ready = func() { once.Do(func() { close(ready) }) }
	if adjust != nil {
		adjust(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := f.Changes(ctx)
	t.Cleanup(func() {
		cancel()
		for range changes {
		}
	})
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("the folder was not watched within 5s")
	}
	return f, changes
}

// quiet is how long to wait to be sure no further signal comes: several
// debounce periods.
const quiet = 400 * time.Millisecond

func TestFolderSignals(t *testing.T) {
	tests := []struct {
		name   string
		before map[string]string
		change func(t *testing.T, dir string)
	}{
		{"write", nil, func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"bots/a.yml": "account: main\n"})
		}},
		{"edit", map[string]string{"bots/a.yml": "account: main\n"}, func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"bots/a.yml": "account: other\n"})
		}},
		{"rename-save", map[string]string{"bots/a.yml": "account: main\n"}, func(t *testing.T, dir string) {
			// What editors do: write a temporary file, rename it over.
			tmp := filepath.Join(dir, "bots", ".a.yml.swp")
			if err := os.WriteFile(tmp, []byte("account: saved\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "bots", "a.yml")); err != nil {
				t.Fatal(err)
			}
		}},
		{"delete", map[string]string{"bots/a.yml": "account: main\n"}, func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "bots", "a.yml")); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink", map[string]string{"scripts/a.py": "x\n"}, func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"scripts/b.py": "->a.py"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeTree(t, dir, tc.before)
			_, changes := watchFolder(t, dir, Spec{}, nil)
			tc.change(t, dir)
			if !waitSignal(changes, 5*time.Second) {
				t.Fatal("no signal")
			}
			if n := countSignals(changes, quiet); n != 0 {
				t.Errorf("%d more signals for one change, want none", n)
			}
		})
	}
}

func TestFolderBurstIsOneSignal(t *testing.T) {
	dir := t.TempDir()
	_, changes := watchFolder(t, dir, Spec{}, nil)
	for i := range 200 {
		writeTree(t, dir, map[string]string{fmt.Sprintf("bots/b%03d.yml", i%20): fmt.Sprintf("account: a%d\n", i)})
	}
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after 200 writes")
	}
	n := 1 + countSignals(changes, quiet)
	t.Logf("200 writes → %d signals", n)
	if n > 2 {
		t.Errorf("200 writes gave %d signals, want one or two", n)
	}
}

func TestFolderNewDirectoryIsWatched(t *testing.T) {
	dir := t.TempDir()
	f, changes := watchFolder(t, dir, Spec{}, nil)
	before := snapshot(t, f).Revision
	// A whole tree lands at once, files before any watch on its folders.
	deep := filepath.Join(dir, "controllers", "market_making", "v2")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{
		"controllers/market_making/v2/pmm.py": "x = 1\n",
		"controllers/market_making/top.py":    "y = 1\n",
	})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal for a new folder tree")
	}
	countSignals(changes, quiet)
	snap := snapshot(t, f)
	if snap.Revision == before {
		t.Error("the revision did not change with a new folder of files")
	}
	if got := readFile(t, snap.FS, "controllers/market_making/v2/pmm.py"); got != "x = 1\n" {
		t.Errorf("reads %q", got)
	}
	// The deepest new folder is watched now: a later write in it signals
	// (the resync, a minute away, cannot be what catches it).
	writeTree(t, dir, map[string]string{"controllers/market_making/v2/later.py": "z = 1\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal for a write in the new folder")
	}
}

func TestFolderIgnoresGitFolder(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{".git/HEAD": "ref: refs/heads/main\n", "nectar.yaml": "fleet: t\n"})
	f, changes := watchFolder(t, dir, Spec{}, nil)
	before := snapshot(t, f).Revision
	writeTree(t, dir, map[string]string{".git/refs/heads/main": "0123\n", ".git/HEAD": "ref: refs/heads/x\n"})
	if n := countSignals(changes, quiet); n != 0 {
		t.Errorf("%d signals for changes inside .git", n)
	}
	if after := snapshot(t, f).Revision; after != before {
		t.Errorf("the revision moved with .git: %s → %s", before, after)
	}
}

func TestFolderRevision(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"nectar.yaml": "fleet: t\n", "bots/a.yml": "account: main\n", "scripts/l.py": "->../bots/a.yml"})
	src, err := Open(Spec{Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	rev := func() string { return snapshot(t, src).Revision }
	first := rev()
	if !strings.HasPrefix(first, "sha256:") || len(first) != len("sha256:")+12 {
		t.Errorf("revision %q, want sha256:<12 hex>", first)
	}
	if again := rev(); again != first {
		t.Errorf("no change, yet the revision moved: %s → %s", first, again)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "bots", "a.yml"), future, future); err != nil {
		t.Fatal(err)
	}
	if touched := rev(); touched != first {
		t.Errorf("a touch (same content) moved the revision: %s", touched)
	}
	writeTree(t, dir, map[string]string{"bots/a.yml": "account: other\n"})
	edited := rev()
	if edited == first {
		t.Error("an edit kept the revision")
	}
	writeTree(t, dir, map[string]string{"scripts/l.py": "->../nectar.yaml"})
	if relinked := rev(); relinked == edited {
		t.Error("a new symlink target kept the revision")
	}
	writeTree(t, dir, map[string]string{"bots/a.yml": "account: main\n", "scripts/l.py": "->../bots/a.yml"})
	if back := rev(); back != first {
		t.Errorf("the original content has revision %s, want %s again", back, first)
	}

	snap := snapshot(t, src)
	snap.Close()
	snap.Close() // twice is fine
	if _, err := snap.FS.Open("nectar.yaml"); err == nil {
		t.Error("a closed snapshot still reads")
	}
}

func TestFolderOpenChecks(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(Spec{Source: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing folder: %v", err)
	}
	if _, err := Open(Spec{Source: dir, Branch: "main"}); err == nil || !strings.Contains(err.Error(), "--branch") {
		t.Errorf("--branch with a folder: %v", err)
	}
	writeTree(t, dir, map[string]string{"fleets/prod/nectar.yaml": "fleet: prod\n"})
	src, err := Open(Spec{Source: dir, Path: "fleets/prod"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, snapshot(t, src).FS, "nectar.yaml"); got != "fleet: prod\n" {
		t.Errorf("--path: reads %q", got)
	}
	if src.String() != filepath.Join(dir, "fleets", "prod") {
		t.Errorf("String() = %s", src.String())
	}
}

// A watcher error (here the overflow the kernel reports when its queue is
// full) means events were lost: it becomes a signal for a full pass.
func TestFolderWatcherOverflowSignals(t *testing.T) {
	dir := t.TempDir()
	var w *fsnotify.Watcher
	_, changes := watchFolder(t, dir, Spec{}, func(f *folderSource) {
		f.newWatcher = func() (*fsnotify.Watcher, error) {
			var err error
			w, err = fsnotify.NewWatcher()
			return w, err
		}
	})
	w.Errors <- fsnotify.ErrEventOverflow
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal after an overflow")
	}
}

// Running out of inotify watches falls back to polling, which still
// notices changes.
func TestFolderOutOfWatchesPolls(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"bots/a.yml": "account: main\n"})
	_, changes := watchFolder(t, dir, Spec{PollFallback: 50 * time.Millisecond}, func(f *folderSource) {
		f.addWatch = func(w *fsnotify.Watcher, d string) error {
			if filepath.Base(d) == "bots" {
				return fmt.Errorf("inotify_add_watch: %w", syscall.ENOSPC)
			}
			return w.Add(d)
		}
	})
	// The fallback signals once by itself: changes may have been missed.
	countSignals(changes, quiet)
	writeTree(t, dir, map[string]string{"bots/a.yml": "account: changed\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("no signal from the polling fallback")
	}
}

// The resync walks the tree again and signals what events missed, here a
// folder whose watch was never added.
func TestFolderResyncCatchesMissedEvents(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"blind/a.yml": "x\n"})
	_, changes := watchFolder(t, dir, Spec{Resync: 200 * time.Millisecond}, func(f *folderSource) {
		f.addWatch = func(w *fsnotify.Watcher, d string) error {
			if filepath.Base(d) == "blind" {
				return nil // pretend it is watched
			}
			return w.Add(d)
		}
	})
	if n := countSignals(changes, quiet); n != 0 {
		t.Fatalf("%d signals with nothing changed", n)
	}
	writeTree(t, dir, map[string]string{"blind/a.yml": "changed\n"})
	if !waitSignal(changes, 5*time.Second) {
		t.Fatal("the resync did not notice a change in an unwatched folder")
	}
}

// The polling fallback, forced, on a fake clock: a change is signalled at
// the next poll, and nothing is signalled while nothing changes.
func TestFolderPollingOnAFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"nectar.yaml": "fleet: t\n"})
		src, err := Open(Spec{Source: dir, ForcePolling: true, PollFallback: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		changes := src.Changes(ctx)
		synctest.Wait()

		got := func() bool {
			select {
			case <-changes:
				return true
			default:
				return false
			}
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got() {
			t.Error("a signal with nothing changed")
		}
		writeTree(t, dir, map[string]string{"bots/a.yml": "account: main\n"})
		time.Sleep(time.Second)
		synctest.Wait()
		if got() {
			t.Error("a signal before the next poll")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !got() {
			t.Error("no signal at the poll after a change")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got() {
			t.Error("a second signal for one change")
		}
		cancel()
		synctest.Wait()
		if _, open := <-changes; open {
			t.Error("the channel stayed open after ctx ended")
		}
	})
}

// The debouncer on a fake clock: a burst is one signal, quiet after its
// last event; a stream that never pauses still signals every max.
func TestDebouncer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const quietFor, maxWait = 100 * time.Millisecond, time.Second
		pokes := make(chan struct{})
		var mu sync.Mutex
		var fired []time.Time
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			d := debouncer{quiet: quietFor, max: maxWait}
			defer d.stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-pokes:
					d.poke(time.Now())
				case <-d.C():
					d.fired()
					mu.Lock()
					fired = append(fired, time.Now())
					mu.Unlock()
				}
			}
		}()
		count := func() int {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return len(fired)
		}

		for range 200 {
			pokes <- struct{}{}
			time.Sleep(time.Millisecond)
		}
		last := time.Now()
		if n := count(); n != 0 {
			t.Fatalf("%d signals during a 200 ms burst", n)
		}
		time.Sleep(time.Second)
		if n := count(); n != 1 {
			t.Fatalf("%d signals for one burst, want 1", n)
		}
		if at := fired[0].Sub(last); at != quietFor-time.Millisecond {
			t.Errorf("signalled %v after the last event, want %v", at, quietFor-time.Millisecond)
		}

		// Events every 50 ms for 3.5 s never leave 100 ms of quiet.
		start := time.Now()
		for time.Since(start) < 3500*time.Millisecond {
			pokes <- struct{}{}
			time.Sleep(50 * time.Millisecond)
		}
		if n := count() - 1; n != 3 {
			t.Errorf("%d signals during a 3.5 s stream, want 3 (one a second)", n)
		}
	})
}
