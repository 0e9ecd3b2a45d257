package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nectarhq/nectar/internal/render"
)

// imageDirs are the image's folders whose files every instance receives
// (render.ImageDirs, where the image keeps them).
var imageDirs = func() []string {
	out := make([]string, len(render.ImageDirs))
	for i, d := range render.ImageDirs {
		out[i] = hummingbotHome + "/" + d
	}
	return out
}()

// imageCache remembers the image files last read for each image
// reference, so a plan can say which fleet files replace an image's own
// without asking the engine (a plan changes nothing, and reading an image
// makes a container).
type imageCache struct {
	mu    sync.Mutex
	byRef map[string]render.ImageFiles
}

func (c *imageCache) get(ref string) (render.ImageFiles, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.byRef[ref]
	return f, ok
}

func (c *imageCache) put(ref string, f render.ImageFiles) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byRef == nil {
		c.byRef = map[string]render.ImageFiles{}
	}
	c.byRef[ref] = f
}

// imageFiles reads the scripts and controllers an image ships, as the
// instance folder names them. The image must be present.
func (r *Reconciler) imageFiles(ctx context.Context, image string) (render.ImageFiles, error) {
	read, err := r.opts.Runtime.ImageFiles(ctx, image, imageDirs)
	if err != nil {
		return nil, fmt.Errorf("reading the scripts and controllers image %s ships: %w", image, err)
	}
	out := make(render.ImageFiles, len(read.Files))
	for p, data := range read.Files {
		if rel, ok := strings.CutPrefix(p, hummingbotHome+"/"); ok {
			out[rel] = data
		}
	}
	r.images.put(image, out)
	return out, nil
}
