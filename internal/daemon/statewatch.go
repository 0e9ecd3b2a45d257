package daemon

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"github.com/nectarhq/nectar/internal/owner"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/suspend"
)

// controlFiles are the files in the state dir through which commands run
// beside the daemon (suspend, resume, adopt) change what it does. Every
// pass reads them; a change to one asks for a pass at once.
var controlFiles = map[string]bool{suspend.FileName: true, owner.AdoptedFile: true}

// followStateDir asks for a pass whenever a control file in dir changes.
// The files are replaced by a rename, so the folder is watched, not the
// files. Should the watch fail, the periodic resync still reads them.
func followStateDir(ctx context.Context, dir string, log *slog.Logger, out chan<- runtime.Event) {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(dir)
	}
	if err != nil {
		log.Warn("cannot watch the state dir; suspend, resume and adopt are acted on at the next resync", "dir", dir, "error", err)
		if w != nil {
			w.Close()
		}
		return
	}
	defer w.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if controlFiles[filepath.Base(ev.Name)] {
				forward(out, runtime.Event{Action: "state dir: " + filepath.Base(ev.Name)})
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Warn("watching the state dir", "error", err)
		}
	}
}
