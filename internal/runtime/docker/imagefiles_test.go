package docker_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/nectarhq/nectar/internal/runtime/docker"
)

// ImageFiles reads an image's folders without running it: regular files
// only (no links, no byte-code caches), a folder the image lacks is empty,
// every bot of one image shares one read, and no reader container stays.
func TestImageFiles(t *testing.T) {
	e := engine(t)
	tag := "nectar-runtime-test/imagefiles:" + unique("t")
	err := buildImage(tag, []contextFile{
		{name: "Dockerfile", body: []byte("FROM scratch\nCOPY home /home\n")},
		{name: "home/hummingbot/scripts/v2_with_controllers.py", body: []byte("# loader\n")},
		{name: "home/hummingbot/scripts/sub/helper.py", body: []byte("# nested\n")},
		{name: "home/hummingbot/scripts/__pycache__/x.cpython-312.pyc", body: []byte("bytecode")},
		{name: "home/hummingbot/scripts/link.py", link: "/etc/passwd"},
		{name: "home/hummingbot/controllers/generic/grid_strike.py", body: []byte("# grid\n")},
		{name: "home/hummingbot/conf/secret.yml", body: []byte("not asked for\n")},
	})
	if err != nil {
		t.Fatalf("building the image: %v", err)
	}
	cli := raw(t)
	t.Cleanup(func() { cli.ImageRemove(context.Background(), tag, image.RemoveOptions{PruneChildren: true}) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	dirs := []string{"/home/hummingbot/scripts", "/home/hummingbot/controllers", "/home/hummingbot/no-such-folder"}
	// A first read of another image sweeps whatever reader containers
	// earlier runs left behind, so the count below is this read's alone.
	if _, err := e.ImageFiles(ctx, sleeperImage, dirs); err != nil {
		t.Fatal(err)
	}
	before := e.Calls()
	var wg sync.WaitGroup
	got := make([]map[string][]byte, 8)
	for i := range got {
		wg.Go(func() {
			f, err := e.ImageFiles(ctx, tag, dirs)
			if err != nil {
				t.Errorf("ImageFiles: %v", err)
				return
			}
			got[i] = f.Files
		})
	}
	wg.Wait()
	want := []string{
		"/home/hummingbot/controllers/generic/grid_strike.py",
		"/home/hummingbot/scripts/sub/helper.py",
		"/home/hummingbot/scripts/v2_with_controllers.py",
	}
	for _, g := range got {
		if keys := slices.Sorted(maps.Keys(g)); !slices.Equal(keys, want) {
			t.Fatalf("files = %q, want %q", keys, want)
		}
	}
	if s := string(got[0]["/home/hummingbot/scripts/v2_with_controllers.py"]); s != "# loader\n" {
		t.Errorf("content = %q", s)
	}
	// One read for eight asks: inspect each, then one create, three
	// copies and one remove.
	if w := e.Calls().Sub(before).Writes; w != 2 {
		t.Errorf("%d writes to the engine, want 2 (one create, one remove)", w)
	}
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("ancestor", tag))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d reader container(s) left behind", len(left))
	}

	if _, err := e.ImageFiles(ctx, "nectar-runtime-test/no-such-image:dev", dirs); err == nil {
		t.Error("an absent image was read")
	}
}

// A reader container left behind by a nectar that died mid-read is removed
// by the next read once it is old enough.
func TestImageFilesSweepsLeftReaders(t *testing.T) {
	e := engine(t)
	cli := raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := cli.ContainerCreate(ctx, &container.Config{Image: sleeperImage, Labels: map[string]string{"nectar.role": "image-read"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forceRemove(t, cli, left.ID) })
	defer docker.SetStaleReader(0)()
	// The engine's creation times are in seconds. e is a new Engine, so
	// its read is not cached and makes (and sweeps) anew.
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.ImageFiles(ctx, sleeperImage, []string{"/home/hummingbot/scripts"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, left.ID); err == nil {
		t.Error("the reader container left behind is still there")
	}
}
