package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
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
		return nil, fmt.Errorf("cannot read the scripts and controllers image %s ships: %w", image, err)
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

// missing is what the bot's config needs that neither the fleet nor the
// image provides.
func missing(fl *fleet.Fleet, b *fleet.Bot, image render.ImageFiles) []fleet.Problem {
	if len(b.Needs) == 0 {
		return nil
	}
	shared := make(map[string]bool, len(fl.Shared))
	for _, p := range fl.Shared {
		shared[p] = true
	}
	fleetHas := func(p string) bool { return shared[p] }
	imageHas := func(p string) bool { _, ok := image[p]; return ok }
	return b.Missing(fleetHas, imageHas, b.Image)
}

// imageProblems adds to the fleet's problems the files its bots' configs
// need that neither the fleet nor the bot's image has, for every image
// nectar has read: such a bot would exit at start, so it stalls, and a
// running container of it is left alone. Before a bot is stalled on what
// an image held when it was read, the image is asked again (one inspect
// when it has not changed): a newer image pulled under the same name may
// have the file, and a stalled bot is never rendered, so nothing else
// would read it.
func (r *Reconciler) imageProblems(ctx context.Context, fl *fleet.Fleet) {
	for _, name := range slices.Sorted(maps.Keys(fl.Bots)) {
		b := fl.Bots[name]
		image, ok := r.images.get(b.Image)
		if !ok {
			continue
		}
		ps := missing(fl, b, image)
		if len(ps) > 0 {
			if fresh, err := r.imageFiles(ctx, b.Image); err == nil {
				ps = missing(fl, b, fresh)
			}
		}
		fl.AddProblems(ps...)
	}
}

// checkNeeds refuses to go on with a bot whose config needs a file that
// neither the fleet nor its image has, before anything is stopped.
func checkNeeds(fl *fleet.Fleet, b *fleet.Bot, image render.ImageFiles) error {
	ps := missing(fl, b, image)
	if len(ps) == 0 {
		return nil
	}
	return hint.Wrap(errors.New(ps[0].Error()), ps[0].Hint)
}
