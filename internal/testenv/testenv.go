// Package testenv gives tests what they need from the machine: a reachable
// Docker engine (skipping without one, unless NECTAR_REQUIRE_DOCKER=1 makes
// that a failure), the test bot image built from source, and copies of the
// example fleet.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestbotImage is the image `make testbot-image` builds.
const TestbotImage = "nectar-testbot:dev"

// RequireDocker skips the test when no engine answers, or fails it when
// NECTAR_REQUIRE_DOCKER is set (CI sets it, so Docker tests never skip there).
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
			t.Fatalf("Docker is required (NECTAR_REQUIRE_DOCKER is set) but `docker info` failed: %v", err)
		}
		t.Skip("no Docker engine (docker info failed)")
	}
}

// Root returns the repository's top folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildOnce builds the image with the script `make testbot-image` runs, so
// tests run the very image the demo does.
var buildOnce = sync.OnceValue(func() error {
	build := exec.Command(filepath.Join(Root(), "scripts", "build-testbot.sh"), TestbotImage)
	build.Dir = Root()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build %s: %v\n%s", TestbotImage, err, out)
	}
	return nil
})

// BuildTestbot builds the test bot image once per test binary.
func BuildTestbot(t testing.TB) {
	t.Helper()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
}

// DemoIdentity is the published, demo-only identity of the example fleet.
func DemoIdentity() string { return filepath.Join(Root(), "examples", "demo-identity.key") }

// CopyExample copies examples/quickstart into a fresh folder, names the
// fleet as given and puts botPrefix before each bot's name, so tests in
// different packages (which run at the same time) never share a container
// name with each other or with a demo.
func CopyExample(t testing.TB, fleetName, botPrefix string) string {
	t.Helper()
	src := filepath.Join(Root(), "examples", "quickstart")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "nectar.yaml" {
			data = bytes.Replace(data, []byte("fleet: quickstart"), []byte("fleet: "+fleetName), 1)
		}
		if filepath.Dir(rel) == "bots" {
			rel = filepath.Join("bots", botPrefix+filepath.Base(rel))
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// RemoveFleet force-removes every container labelled with the fleet.
func RemoveFleet(t testing.TB, fleetName string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=nectar.fleet="+fleetName).Output()
	ids := strings.Fields(string(out))
	if len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}
