package swarm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/swarm"
	"github.com/nectarhq/nectar/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testenv.StopSwarm(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// cluster returns the Swarm runtime on the test cluster's manager.
func cluster(t *testing.T) (*swarm.Engine, *testenv.Swarm) {
	t.Helper()
	s := testenv.RequireSwarm(t)
	t.Setenv("DOCKER_HOST", s.Manager)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := swarm.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, s
}

// nodeClient is an SDK client of one node's own engine.
func nodeClient(t *testing.T, n testenv.SwarmNode) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.WithHost(n.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// newFleet returns a fresh fleet name whose services are removed when the
// test ends, and whose volumes too (on every node).
func newFleet(t *testing.T, s *testenv.Swarm) string {
	fleet := unique("sw-test")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		label := filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+fleet))
		mgr := nodeClient(t, s.Nodes[0])
		svcs, _ := mgr.ServiceList(ctx, dswarm.ServiceListOptions{Filters: label})
		for _, svc := range svcs {
			mgr.ServiceRemove(ctx, svc.ID)
		}
		// A secret can go once no service uses it.
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			secrets, err := mgr.SecretList(ctx, dswarm.SecretListOptions{Filters: label})
			if err != nil || len(secrets) == 0 {
				break
			}
			for _, sec := range secrets {
				mgr.SecretRemove(ctx, sec.ID)
			}
		}
		for _, n := range s.Nodes {
			cli := nodeClient(t, n)
			// The service's containers go a moment after the service.
			for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: label})
				if err != nil || len(vols.Volumes) == 0 {
					break
				}
				for _, v := range vols.Volumes {
					cli.VolumeRemove(ctx, v.Name, false)
				}
			}
		}
	})
	return fleet
}

// botSpec runs the test bot with hbot, its conf/ bound from a folder of
// this machine (every node's disk here) holding one V2 script config, its
// data/ on a volume of the node it runs on.
func botSpec(t *testing.T, fleet, bot, node string, env ...string) runtime.Spec {
	conf := t.TempDir()
	if err := os.MkdirAll(filepath.Join(conf, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "scripts", "conf_test.yml"), []byte("script_file_name: simple_pmm.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return runtime.Spec{
		Name:  "hummingbot-" + fleet + "-" + bot,
		Image: testenv.TestbotImage,
		Cmd:   []string{"hbot", "start", "conf_test.yml", "--foreground"},
		Env:   append([]string{"HBOT_PASSWORD=swarm-test-password"}, env...),
		Mounts: []runtime.Mount{
			{Source: conf, Target: "/home/hummingbot/conf"},
			{Source: fleet + "-" + bot + "-data", Target: "/home/hummingbot/data"},
		},
		Labels: map[string]string{
			runtime.LabelFleet: fleet,
			runtime.LabelBot:   bot,
			runtime.LabelHash:  "h-" + bot,
		},
		Network:     "host",
		Restart:     "no",
		StopTimeout: 20 * time.Second,
		Node:        node,
	}
}

// dataFile reads a file of a volume's data/ on a node, through that
// node's engine (where the volume is) and this machine's disk (where the
// engine keeps it).
func dataFile(t *testing.T, cli *client.Client, vol, name string) ([]byte, error) {
	t.Helper()
	v, err := cli.VolumeInspect(context.Background(), vol)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(v.Mountpoint, name))
}

func waitDataFile(t *testing.T, cli *client.Client, vol, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := dataFile(t, cli, vol, name)
		if err == nil {
			return data
		}
		if time.Now().After(deadline) {
			t.Fatalf("data/%s never appeared in volume %s: %v", name, vol, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func find(t *testing.T, e *swarm.Engine, fleet, id string) runtime.Container {
	t.Helper()
	list, err := e.List(context.Background(), fleet)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("service %s not in the fleet's list: %+v", id, list)
	return runtime.Container{}
}

// A bot pinned to a worker runs there and only there, stops gracefully
// (the stand-in records its order cancelling in data/ on the worker's
// volume), is reported by List all along, and once removed leaves its
// volume behind.
func TestBotOnWorker(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	worker := s.Worker(0)
	spec := botSpec(t, fleet, "pmm", worker.Hostname)
	vol := spec.Mounts[1].Source

	evctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	evs, _ := e.Events(evctx, fleet)

	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, e, fleet, id)
	if c.Name != spec.Name || c.State != runtime.StateCreated || c.Bot() != "pmm" || c.Hash() != "h-pmm" || c.Image != spec.Image {
		t.Fatalf("after Create: %+v", c)
	}
	if _, err := e.Create(ctx, spec); !errors.Is(err, runtime.ErrConflict) {
		t.Fatalf("a second Create of %s: got %v, want ErrConflict", spec.Name, err)
	}

	start := time.Now()
	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Logf("Start returned after %s", time.Since(start).Round(time.Millisecond))
	if c := find(t, e, fleet, id); c.State != runtime.StateRunning || !c.Running() {
		t.Fatalf("after Start: %+v", c)
	}
	task, ok, err := e.Task(ctx, id)
	if err != nil || !ok {
		t.Fatalf("Task: %v %v", ok, err)
	}
	if task.Hostname != worker.Hostname {
		t.Fatalf("the task runs on %s, want %s (pinned)", task.Hostname, worker.Hostname)
	}
	// The worker's own engine runs the container; the other nodes have none.
	wcli := nodeClient(t, worker)
	info, err := wcli.ContainerInspect(ctx, task.ContainerID)
	if err != nil {
		t.Fatalf("the worker's engine does not know the task's container: %v", err)
	}
	if !info.State.Running || info.Config.Labels["com.docker.swarm.service.id"] != id {
		t.Fatalf("on the worker: running=%v labels=%v", info.State.Running, info.Config.Labels)
	}
	if _, has := info.Config.Labels[runtime.LabelFleet]; has {
		t.Errorf("the task's container carries %s; a single-engine nectar on the node would take it for its own", runtime.LabelFleet)
	}
	if !info.Config.Tty || !info.Config.OpenStdin || info.HostConfig.NetworkMode != "host" {
		t.Errorf("container shape: tty=%v stdin=%v network=%s", info.Config.Tty, info.Config.OpenStdin, info.HostConfig.NetworkMode)
	}
	for _, n := range s.Nodes {
		if n.Host == worker.Host {
			continue
		}
		list, err := nodeClient(t, n).ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+id))})
		if err != nil || len(list) != 0 {
			t.Fatalf("node %s has the bot's containers %v (%v)", n.Hostname, list, err)
		}
	}
	if err := e.Start(ctx, id); err != nil {
		t.Fatalf("a second Start: %v", err)
	}

	// The bot is up once its engine wrote its first status.
	waitDataFile(t, wcli, vol, "bot/status.json")
	if err := e.Remove(ctx, id); !errors.Is(err, runtime.ErrConflict) {
		t.Fatalf("Remove of a running service: got %v, want ErrConflict", err)
	}

	start = time.Now()
	stopped, err := e.Stop(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("Stop took %s", took.Round(time.Millisecond))
	if stopped.Killed || stopped.ExitCode != 0 {
		t.Fatalf("Stop: %+v, want a graceful exit 0", stopped)
	}
	if took > spec.StopTimeout {
		t.Fatalf("Stop took %s, longer than the grace period %s", took, spec.StopTimeout)
	}
	stops, err := dataFile(t, wcli, vol, "testbot-stops")
	if err != nil || !bytes.Contains(stops, []byte("cancelled orders")) || bytes.Count(stops, []byte("\n")) != 1 {
		t.Fatalf("data/testbot-stops on the worker: %q (%v), want one graceful stop", stops, err)
	}
	if c := find(t, e, fleet, id); c.State != runtime.StateExited || c.ExitCode != 0 || c.Running() {
		t.Fatalf("after Stop: %+v", c)
	}
	if again, err := e.Stop(ctx, id, 0); err != nil || again.Killed {
		t.Fatalf("a second Stop: %+v %v", again, err)
	}

	if err := e.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if list, err := e.List(ctx, fleet); err != nil || len(list) != 0 {
		t.Fatalf("after Remove the fleet lists %+v (%v)", list, err)
	}
	if err := e.Remove(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("a second Remove: got %v, want ErrNotFound", err)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := wcli.ContainerInspect(ctx, task.ContainerID)
		if cerrdefs.IsNotFound(err) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the task's container is still on the worker 30 s after Remove: %v", err)
		}
	}
	if again, err := dataFile(t, wcli, vol, "testbot-stops"); err != nil || !bytes.Equal(again, stops) {
		t.Fatalf("the volume on the worker did not survive the service: %q %v", again, err)
	}

	// A task change on a worker reaches the manager's stream by polling.
	got := map[string]bool{}
	timeout := time.After(5 * time.Second)
collect:
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				break collect
			}
			if ev.ContainerID == id {
				got[ev.Action] = true
			}
		case <-timeout:
			break collect
		}
	}
	if !got["task"] || !got["create"] || !got["remove"] {
		t.Errorf("events of the service: %v, want create, task and remove", got)
	}
}

// A bot that does not wind down within its grace period is killed by
// Swarm, and Stop says so.
func TestStopPastGraceIsKill(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	worker := s.Worker(1)
	spec := botSpec(t, fleet, "slow", worker.Hostname, "TESTBOT_STOP_DELAY=60s")
	spec.StopTimeout = 2 * time.Second
	vol := spec.Mounts[1].Source

	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	wcli := nodeClient(t, worker)
	waitDataFile(t, wcli, vol, "bot/status.json")
	start := time.Now()
	stopped, err := e.Stop(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !stopped.Killed || stopped.ExitCode != runtime.KilledExitCode {
		t.Fatalf("Stop after %s: %+v, want killed with 137", took, stopped)
	}
	if took < spec.StopTimeout {
		t.Fatalf("killed after %s, before the grace period %s", took, spec.StopTimeout)
	}
	if _, err := dataFile(t, wcli, vol, "testbot-stops"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a killed bot recorded a stop: %v", err)
	}
	if c := find(t, e, fleet, id); c.State != runtime.StateExited || c.ExitCode != runtime.KilledExitCode {
		t.Fatalf("after the kill: %+v", c)
	}
}

// A bot pinned to a node that does not exist never runs, and Start says
// why in Swarm's words; what Swarm cannot do is said as ErrUnsupported.
func TestUnplaceableAndUnsupported(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	spec := botSpec(t, fleet, "nowhere", "no-such-node")
	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = e.Start(short, id)
	if err == nil {
		t.Fatal("Start of a bot pinned to a missing node succeeded")
	}
	t.Logf("Start: %v", err)
	c := find(t, e, fleet, id)
	if c.Running() && c.State == runtime.StateRunning {
		t.Fatalf("a bot pinned to a missing node runs: %+v", c)
	}
	if !strings.Contains(c.Status, "pending") {
		t.Errorf("status of an unplaceable bot: %q, want pending", c.Status)
	}
	if c.Task == nil || c.Task.Node != "no-such-node" || c.Task.NodeState != "unknown" || c.Task.State != "pending" || c.Task.Err == "" {
		t.Errorf("task of an unplaceable bot: %+v, want pending on no-such-node, unknown, with Swarm's reason", c.Task)
	}
	t.Logf("status: %s", c.Status)
	if err := e.Rename(ctx, id, "x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Rename: %v", err)
	}
	if err := e.Signal(ctx, id, "USR1"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Signal: %v", err)
	}
	if _, err := e.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
}
