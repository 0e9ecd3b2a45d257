package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/nectarhq/nectar/internal/runtime"
)

// imageReads caches what ImageFiles read, per image ID and folder list: an
// image's content never changes under its ID, and every bot on one image
// needs the same files. Concurrent asks for one image wait for one read.
type imageReads struct {
	mu   sync.Mutex
	byID map[string]*imageRead
}

type imageRead struct {
	done  chan struct{}
	files *runtime.ImageFiles
	err   error
}

// ImageFiles reads folders out of an image through a container that is
// created and never started (the engine copies from its file system), then
// removed. Each image is read once per Engine.
func (e *Engine) ImageFiles(ctx context.Context, ref string, dirs []string) (*runtime.ImageFiles, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		return nil, wrap("inspect image "+ref, err)
	}
	key := img.ID + "\x00" + strings.Join(dirs, "\x00")

	e.images.mu.Lock()
	if e.images.byID == nil {
		e.images.byID = map[string]*imageRead{}
	}
	r, ok := e.images.byID[key]
	if !ok {
		r = &imageRead{done: make(chan struct{})}
		e.images.byID[key] = r
	}
	e.images.mu.Unlock()

	if !ok {
		r.files, r.err = e.readImage(ctx, img.ID, dirs)
		if r.err != nil {
			// A failed read is not kept: the next ask tries again.
			e.images.mu.Lock()
			delete(e.images.byID, key)
			e.images.mu.Unlock()
		}
		close(r.done)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return r.files, r.err
}

// readImage does the read itself, by image ID so a tag moved meanwhile
// cannot mix two images.
func (e *Engine) readImage(ctx context.Context, id string, dirs []string) (*runtime.ImageFiles, error) {
	op := "read files of image " + shortID(id)
	e.sweepReaders(ctx)
	// The entrypoint is never run; it only spares an image without a
	// command of its own (FROM scratch) the engine's "no command" refusal.
	created, err := e.cli.ContainerCreate(ctx,
		&container.Config{Image: id, Entrypoint: []string{"/nectar-never-runs"}, Labels: map[string]string{readerLabel: readerRole}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return nil, wrap(op, err)
	}
	defer func() {
		// Removed even when ctx has ended, so no reader container is left.
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = e.cli.ContainerRemove(rmCtx, created.ID, container.RemoveOptions{Force: true})
	}()

	out := &runtime.ImageFiles{ImageID: id, Files: map[string][]byte{}}
	var total int64
	for _, dir := range dirs {
		if !path.IsAbs(dir) || path.Clean(dir) != dir {
			return nil, fmt.Errorf("%s: %q is not a clean absolute path", op, dir)
		}
		rc, _, err := e.cli.CopyFromContainer(ctx, created.ID, dir)
		if isNotFound(err) {
			continue // the image has no such folder
		}
		if err != nil {
			return nil, wrap(op, err)
		}
		err = readTree(rc, path.Dir(dir), out.Files, &total)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", op, dir, err)
		}
	}
	return out, nil
}

// The label that marks the containers ImageFiles reads through.
const (
	readerLabel = "nectar.role"
	readerRole  = "image-read"
)

// staleReader is the age past which a reader container is taken for one
// left behind by a nectar that died mid-read (a read takes well under a
// second), and removed.
var staleReader = 10 * time.Minute

// sweepReaders removes reader containers left behind by a nectar killed
// between creating and removing one. Younger ones may be another nectar's
// read in progress and are left alone. Failures only mean another try at
// the next read.
func (e *Engine) sweepReaders(ctx context.Context) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", readerLabel+"="+readerRole), filters.Arg("status", "created"))})
	if err != nil {
		return
	}
	for _, c := range list {
		if time.Since(time.Unix(c.Created, 0)) > staleReader {
			_ = e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
}

// readTree adds the regular files of a copy stream (a tar whose names
// start with the folder's own name) to files, keyed by absolute path.
// Links, devices and Python's byte-code caches are left out: nectar copies
// source files into a bot's folder, nothing else.
func readTree(r io.Reader, parent string, files map[string][]byte, total *int64) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + h.Name)
		if h.Typeflag != tar.TypeReg || strings.Contains(name, "/__pycache__/") || strings.HasSuffix(name, ".pyc") {
			continue
		}
		if len(files) >= runtime.MaxImageFiles {
			return fmt.Errorf("more than %d files", runtime.MaxImageFiles)
		}
		if *total += h.Size; *total > runtime.MaxImageFileBytes {
			return fmt.Errorf("more than %d MiB", runtime.MaxImageFileBytes>>20)
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return err
		}
		files[path.Join(parent, name)] = data
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
