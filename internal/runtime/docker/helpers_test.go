package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
)

// sleeperImage is built by the tests from testdata/sleeper, FROM scratch,
// so no registry is needed.
const sleeperImage = "nectar-runtime-test/sleeper:dev"

// engine connects to the engine, or skips the test when there is none,
// unless NECTAR_REQUIRE_DOCKER is set (as in CI), which makes that a
// failure. It also makes sure the sleeper image exists.
func engine(tb testing.TB) *docker.Engine {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := docker.New(ctx)
	if err != nil {
		if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
			tb.Fatalf("Docker engine required (NECTAR_REQUIRE_DOCKER is set) but unreachable: %v", err)
		}
		tb.Skipf("Docker engine unreachable, skipping (set NECTAR_REQUIRE_DOCKER=1 to fail instead): %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	if err := buildSleeper(); err != nil {
		tb.Fatalf("building the test image: %v", err)
	}
	return e
}

var sleeper struct {
	once sync.Once
	err  error
}

func buildSleeper() error {
	sleeper.once.Do(func() { sleeper.err = buildSleeperImage() })
	return sleeper.err
}

// buildSleeperImage compiles testdata/sleeper statically and builds the
// image through the engine's build API from an in-memory tar context.
func buildSleeperImage() error {
	dir, err := os.MkdirTemp("", "nectar-sleeper-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "sleeper")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/sleeper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return buildImage(sleeperImage, []contextFile{
		{name: "Dockerfile", body: []byte("FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n")},
		{name: "sleeper", mode: 0o755, body: code},
	})
}

// contextFile is one entry of a build context: a file, or a symlink when
// link is set.
type contextFile struct {
	name string
	mode int64 // 0 means 0o644
	body []byte
	link string
}

// buildImage builds an image through the engine's build API from an
// in-memory tar context.
func buildImage(tag string, files []contextFile) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cli := rawClient()
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// rawClient is a plain SDK client, for inspecting what the Engine did and
// for cleaning up.
func rawClient() *client.Client {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		panic(err)
	}
	return cli
}

func raw(tb testing.TB) *client.Client {
	cli := rawClient()
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// unique returns prefix-<random>, for fleet and container names that no
// other test run uses.
func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// newFleet returns a fresh fleet name whose containers are all removed
// (forcibly) when the test ends.
func newFleet(tb testing.TB) string {
	fleet := unique("rt-test")
	tb.Cleanup(func() { removeFleet(tb, fleet) })
	return fleet
}

func removeFleet(tb testing.TB, fleet string) {
	cli := rawClient()
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+fleet)),
	})
	if err != nil {
		tb.Errorf("cleanup: listing fleet %s: %v", fleet, err)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, c := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			forceRemove(tb, cli, c.ID)
		})
	}
	wg.Wait()
}

func forceRemove(tb testing.TB, cli *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		tb.Errorf("cleanup: removing container %s: %v", id, err)
	}
}

// botSpec is a minimal spec of the sleeper in fleet.
func botSpec(fleet, bot string, env ...string) runtime.Spec {
	return runtime.Spec{
		Name:  fleet + "-" + bot,
		Image: sleeperImage,
		Env:   env,
		Labels: map[string]string{
			runtime.LabelFleet: fleet,
			runtime.LabelBot:   bot,
			runtime.LabelHash:  "h-" + bot,
		},
		Network: "none",
		Restart: "no",
	}
}

// waitFor polls List until cond holds for the named container.
func waitFor(tb testing.TB, e *docker.Engine, fleet, name string, cond func(runtime.Container) bool) runtime.Container {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := e.List(context.Background(), fleet)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range list {
			if c.Name == name && cond(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("container %s never reached the expected state; last list: %+v", name, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
