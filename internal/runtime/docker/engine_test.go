package docker_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
)

const password = "s3cret-hummingbot-password"

// hummingbotMounts are the folders product.md §3 binds, made under dir.
func hummingbotMounts(t *testing.T, dir string) []runtime.Mount {
	t.Helper()
	var out []runtime.Mount
	for _, m := range []string{"conf", "conf/connectors", "conf/scripts", "conf/controllers", "data", "logs", "scripts", "controllers"} {
		src := filepath.Join(dir, filepath.FromSlash(m))
		if err := os.MkdirAll(src, 0o700); err != nil {
			t.Fatal(err)
		}
		out = append(out, runtime.Mount{Source: src, Target: "/home/hummingbot/" + m})
	}
	return out
}

func TestCreateAppliesEverySetting(t *testing.T) {
	t.Parallel()
	e := engine(t)
	cli := raw(t)
	fleet := newFleet(t)
	ctx := context.Background()

	tests := []struct {
		name         string
		restart      string
		logSize      string
		logFiles     int
		wantRestart  container.RestartPolicy
		wantLogSize  string
		wantLogFiles string
		network      string
	}{
		{
			name: "explicit", restart: "on-failure:3", logSize: "20m", logFiles: 3, network: "host",
			wantRestart: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3},
			wantLogSize: "20m", wantLogFiles: "3",
		},
		{
			name: "defaults", restart: "unless-stopped", network: "bridge",
			wantRestart: container.RestartPolicy{Name: "unless-stopped"},
			wantLogSize: "10m", wantLogFiles: "5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := runtime.Spec{
				Name:   fleet + "-" + tt.name,
				Image:  sleeperImage,
				Env:    []string{"CONFIG_PASSWORD=" + password, "HEADLESS_MODE=true", "SCRIPT_CONFIG=conf_pmm.yml", "TZ=UTC"},
				Mounts: hummingbotMounts(t, t.TempDir()),
				Labels: map[string]string{
					runtime.LabelFleet: fleet, runtime.LabelBot: tt.name,
					runtime.LabelRevision: "main@sha1:abc", runtime.LabelHash: "deadbeef",
				},
				Network:     tt.network,
				Restart:     tt.restart,
				NanoCPUs:    500_000_000,
				MemoryBytes: 64 << 20,
				LogMaxSize:  tt.logSize,
				LogMaxFiles: tt.logFiles,
			}
			id, err := e.Create(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cli.ContainerInspect(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "/"+spec.Name {
				t.Errorf("name = %q, want /%s", got.Name, spec.Name)
			}
			if got.Config.Image != sleeperImage {
				t.Errorf("image = %q", got.Config.Image)
			}
			for _, kv := range spec.Env {
				if !slices.Contains(got.Config.Env, kv) {
					t.Errorf("env lacks %q", strings.SplitN(kv, "=", 2)[0])
				}
			}
			if !got.Config.Tty || !got.Config.OpenStdin {
				t.Errorf("tty = %v, open stdin = %v; want both (docker attach)", got.Config.Tty, got.Config.OpenStdin)
			}
			if got.Config.StopTimeout == nil || *got.Config.StopTimeout != int(docker.DefaultStopTimeout/time.Second) {
				t.Errorf("stop timeout = %v, want %v", got.Config.StopTimeout, docker.DefaultStopTimeout)
			}
			for k, v := range spec.Labels {
				if got.Config.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, got.Config.Labels[k], v)
				}
			}
			hc := got.HostConfig
			if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != tt.wantLogSize || hc.LogConfig.Config["max-file"] != tt.wantLogFiles {
				t.Errorf("log config = %+v, want json-file %s × %s", hc.LogConfig, tt.wantLogSize, tt.wantLogFiles)
			}
			if hc.RestartPolicy != tt.wantRestart {
				t.Errorf("restart policy = %+v, want %+v", hc.RestartPolicy, tt.wantRestart)
			}
			if hc.NanoCPUs != spec.NanoCPUs || hc.Memory != spec.MemoryBytes {
				t.Errorf("resources: cpus %d memory %d, want %d and %d", hc.NanoCPUs, hc.Memory, spec.NanoCPUs, spec.MemoryBytes)
			}
			if string(hc.NetworkMode) != tt.network {
				t.Errorf("network mode = %q, want %q", hc.NetworkMode, tt.network)
			}
			var wantMounts []mount.Mount
			for _, m := range spec.Mounts {
				wantMounts = append(wantMounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target})
			}
			if !slices.EqualFunc(hc.Mounts, wantMounts, func(a, b mount.Mount) bool {
				return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && !a.ReadOnly
			}) {
				t.Errorf("mounts = %+v\nwant %+v", hc.Mounts, wantMounts)
			}
			if hc.AutoRemove {
				t.Error("auto-remove is on; a stopped bot must be kept")
			}
		})
	}
}

func TestListOnlyThisFleet(t *testing.T) {
	t.Parallel()
	e := engine(t)
	cli := raw(t)
	ctx := context.Background()
	fleet, other := newFleet(t), newFleet(t)

	a, err := e.Create(ctx, botSpec(fleet, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := e.Create(ctx, botSpec(fleet, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create(ctx, botSpec(other, "a")); err != nil {
		t.Fatal(err)
	}
	// A container without any label, named like one of ours would be.
	bare := botSpec(fleet, "bare")
	bare.Labels = nil
	bareID, err := e.Create(ctx, bare)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forceRemove(t, cli, bareID) })

	before := e.Calls()
	list, err := e.List(ctx, fleet)
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.Calls().Sub(before); calls != (docker.Calls{Reads: 1}) {
		t.Errorf("List made %+v engine calls, want exactly one read", calls)
	}
	got := map[string]runtime.Container{}
	for _, c := range list {
		got[c.ID] = c
	}
	if len(got) != 2 || got[a].ID == "" || got[b].ID == "" {
		t.Fatalf("List(%s) = %+v, want exactly containers a and b", fleet, list)
	}
	ca, cb := got[a], got[b]
	if ca.Name != fleet+"-a" || ca.Bot() != "a" || ca.Hash() != "h-a" || ca.Image != sleeperImage {
		t.Errorf("container a = %+v", ca)
	}
	if ca.State != runtime.StateRunning || !ca.Running() || ca.ExitCode != -1 || !strings.HasPrefix(ca.Status, "Up") {
		t.Errorf("container a: state %q exit %d status %q, want running", ca.State, ca.ExitCode, ca.Status)
	}
	if cb.State != runtime.StateCreated || cb.Running() || cb.ExitCode != -1 {
		t.Errorf("container b: state %q exit %d, want created", cb.State, cb.ExitCode)
	}
	if time.Since(ca.Created) > time.Hour || !maps.Equal(ca.Labels, botSpec(fleet, "a").Labels) {
		t.Errorf("container a: created %v labels %v", ca.Created, ca.Labels)
	}

	list, err = e.List(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != other+"-a" {
		t.Errorf("List(%s) = %+v, want only its own container", other, list)
	}
	if _, err := e.List(ctx, ""); err == nil {
		t.Error("List with an empty fleet name succeeded; it would match unlabelled containers")
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	fleet := newFleet(t)
	spec := botSpec(fleet, "life")

	state := func() runtime.Container {
		t.Helper()
		list, err := e.List(ctx, fleet)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("List = %+v, want one container", list)
		}
		return list[0]
	}

	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if c := state(); c.State != runtime.StateCreated || c.ExitCode != -1 {
		t.Errorf("after create: %q exit %d", c.State, c.ExitCode)
	}
	if _, err := e.Create(ctx, spec); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("second create with the same name: %v, want ErrConflict", err)
	}
	for range 2 { // starting a running container does nothing
		if err := e.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if c := state(); c.State != runtime.StateRunning {
		t.Errorf("after start: %q", c.State)
	}
	if err := e.Remove(ctx, id); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("remove of a running container: %v, want ErrConflict", err)
	}
	start := time.Now()
	for range 2 { // stopping a stopped container does nothing
		if _, err := e.Stop(ctx, id, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("stop took %v; the sleeper exits on SIGTERM, so it was killed instead", d)
	}
	if c := state(); c.State != runtime.StateExited || c.ExitCode != 0 {
		t.Errorf("after stop: %q exit %d (%s), want exited 0", c.State, c.ExitCode, c.Status)
	}
	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stop(ctx, id, 0); err != nil { // the container's own timeout
		t.Fatal(err)
	}
	if err := e.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if list, err := e.List(ctx, fleet); err != nil || len(list) != 0 {
		t.Errorf("after remove: %+v, %v", list, err)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	missing := unique("rt-test-missing")
	tests := []struct {
		name string
		call func() error
	}{
		{"start", func() error { return e.Start(ctx, missing) }},
		{"stop", func() error { _, err := e.Stop(ctx, missing, time.Second); return err }},
		{"remove", func() error { return e.Remove(ctx, missing) }},
		{"create from a missing image", func() error {
			spec := botSpec(missing, "x", "CONFIG_PASSWORD="+password)
			spec.Image = "nectar-runtime-test/absent:" + missing
			_, err := e.Create(ctx, spec)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("error %v, want one wrapping runtime.ErrNotFound", err)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error quotes the password: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestCreateErrorsNeverQuoteEnv(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	fleet := newFleet(t)
	spec := botSpec(fleet, "env", "CONFIG_PASSWORD="+password)
	spec.Mounts = []runtime.Mount{{Source: filepath.Join(t.TempDir(), "absent"), Target: "/home/hummingbot/conf"}}
	_, err := e.Create(ctx, spec)
	if err == nil {
		t.Fatal("create with a missing bind source succeeded")
	}
	t.Log(err)
	spec.Mounts = nil
	spec.Restart = "sometimes"
	_, err2 := e.Create(ctx, spec)
	if err2 == nil {
		t.Fatal("create with a bad restart policy succeeded")
	}
	for _, err := range []error{err, err2} {
		if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "CONFIG_PASSWORD") {
			t.Errorf("error quotes the environment: %v", err)
		}
	}
}

// The engine accepts a container whose environment holds a NUL, then
// refuses its start with an error quoting the whole entry, escaped. The
// loader refuses such passwords; this is the net under it.
func TestStartErrorsNeverQuoteEnv(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	fleet := newFleet(t)
	const pw = "CASE-nul-password\x00tail\x01more\x7fé"
	id, err := e.Create(ctx, botSpec(fleet, "nul", "CONFIG_PASSWORD="+pw))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Start(ctx, id)
	if err == nil {
		t.Fatal("the engine started a container with a NUL in its environment")
	}
	t.Log(err)
	for _, piece := range []string{"CASE-nul-password", "tail", `\x01more`} {
		if strings.Contains(err.Error(), piece) {
			t.Errorf("start error quotes the password (%q): %v", piece, err)
		}
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	fleet := newFleet(t)
	spec := botSpec(fleet, "crash", "SLEEPER_EXIT=3")
	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	c := waitFor(t, e, fleet, spec.Name, func(c runtime.Container) bool { return c.State == runtime.StateExited })
	if c.ExitCode != 3 || !strings.HasPrefix(c.Status, "Exited (3)") {
		t.Errorf("exit code %d, status %q; want 3", c.ExitCode, c.Status)
	}
}

func TestImages(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx := context.Background()
	if ok, err := e.ImagePresent(ctx, sleeperImage); err != nil || !ok {
		t.Errorf("ImagePresent(%s) = %v, %v; want true", sleeperImage, ok, err)
	}
	absent := "nectar-runtime-test/absent:" + unique("v")
	if ok, err := e.ImagePresent(ctx, absent); err != nil || ok {
		t.Errorf("ImagePresent(%s) = %v, %v; want false, nil", absent, ok, err)
	}

	// Every pull fails here (no registry, or no such repository): the
	// error must be the engine's reason, in words.
	start := time.Now()
	err := e.Pull(ctx, absent)
	if err == nil {
		t.Fatalf("Pull(%s) succeeded", absent)
	}
	msg := err.Error()
	t.Logf("pull error after %v: %s", time.Since(start).Round(time.Millisecond), msg)
	if !strings.HasPrefix(msg, "pull image "+absent+": ") || strings.Contains(msg, "{") || len(msg) < len(absent)+20 {
		t.Errorf("pull error %q: want the image and the engine's reason, no JSON", msg)
	}
	if err := e.Pull(ctx, "Not A Valid/Reference"); err == nil {
		t.Error("pull of an invalid reference succeeded")
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := engine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet, other := newFleet(t), newFleet(t)

	events, errs := e.Events(ctx, fleet)

	// The other fleet's container comes and goes first, so by the time
	// this fleet's die arrives, its events would have arrived too.
	theirs, err := e.Create(ctx, botSpec(other, "x", "SLEEPER_EXIT=0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e, other, other+"-x", func(c runtime.Container) bool { return c.State == runtime.StateExited })

	ours, err := e.Create(ctx, botSpec(fleet, "ev", "SLEEPER_EXIT=1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, ours); err != nil {
		t.Fatal(err)
	}

	var actions []string
	timeout := time.After(20 * time.Second)
	for !slices.Contains(actions, "die") {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed after %v", actions)
			}
			if ev.ContainerID != ours {
				t.Fatalf("event of container %s (%s) in fleet %s's stream", ev.ContainerID, ev.Action, fleet)
			}
			if ev.Bot != "ev" || time.Since(ev.Time) > time.Minute {
				t.Errorf("event %+v: want bot ev and a recent time", ev)
			}
			actions = append(actions, ev.Action)
		case err := <-errs:
			t.Fatalf("stream broke: %v", err)
		case <-timeout:
			t.Fatalf("no die event; got %v", actions)
		}
	}
	if want := []string{"create", "start", "die"}; !slices.Equal(actions, want) {
		t.Errorf("actions %v, want %v", actions, want)
	}

	cancel()
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event channel not closed after ctx ended")
	}
	select {
	case err := <-errs:
		t.Errorf("error after ctx ended: %v", err)
	default:
	}
}
