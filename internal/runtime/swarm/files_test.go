package swarm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/swarm"
	"github.com/nectarhq/nectar/internal/testenv"
)

// Swarm's rule for a secret's or config's name.
var validName = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// A name is a function of service, target and digest alone, within
// Swarm's 64 characters and alphabet, however long or odd its parts.
func TestObjectName(t *testing.T) {
	long := "hummingbot-" + strings.Repeat("a-very-long-bot-name", 4)
	cases := [][3]string{
		{"hummingbot-pmm", "/home/hummingbot/conf/connectors/binance.yml", "d1"},
		{"hummingbot-pmm", "/home/hummingbot/conf/.password_verification", "d1"},
		{long, "/home/hummingbot/conf/connectors/" + strings.Repeat("x", 80) + ".yml", "d1"},
		{"hummingbot-odd bot!", "/home/hummingbot/conf/ü.yml", "d1"},
		{"-", "/.", "d1"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		name := swarm.ObjectName(c[0], c[1], c[2])
		if len(name) > 64 || !validName.MatchString(name) {
			t.Errorf("ObjectName%q = %q (%d characters): not a name Swarm takes", c, name, len(name))
		}
		if name != swarm.ObjectName(c[0], c[1], c[2]) {
			t.Errorf("ObjectName%q is not stable", c)
		}
		if seen[name] {
			t.Errorf("ObjectName%q = %q, as for other files", c, name)
		}
		seen[name] = true
	}
	a := swarm.ObjectName("hummingbot-pmm", "/home/hummingbot/conf/connectors/binance.yml", "d1")
	if b := swarm.ObjectName("hummingbot-pmm", "/home/hummingbot/conf/connectors/binance.yml", "d2"); a == b {
		t.Errorf("a new digest keeps the name %s", a)
	}
	if !strings.HasPrefix(a, "hummingbot-pmm.binance.yml-") {
		t.Errorf("name %s does not say whose and which file it is", a)
	}
}

// secretFile and configFile are files for a bot, with random content
// named by a random digest.
func secretFile(target string) runtime.File {
	return runtime.File{Target: target, Digest: unique("digest"), Data: []byte(unique("secret-content") + "\n"), Secret: true}
}

func configFile(target string) runtime.File {
	return runtime.File{Target: target, Digest: unique("digest"), Data: []byte("config: " + unique("value") + "\n")}
}

// Where the test's files go. The secret is not a connectors/*.yml: the
// test bot reads each of those as a Hummingbot connector file and refuses
// to start on one that is not.
const (
	connectorTarget = "/home/hummingbot/conf/connectors/.nectar-test-key"
	scriptTarget    = "/home/hummingbot/conf/scripts/conf_extra.yml"
)

// objects lists the fleet's secrets and configs through the manager.
func objects(t *testing.T, mgr *client.Client, fleet string) ([]dswarm.Secret, []dswarm.Config) {
	t.Helper()
	ctx := context.Background()
	label := filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+fleet))
	secrets, err := mgr.SecretList(ctx, dswarm.SecretListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	configs, err := mgr.ConfigList(ctx, dswarm.ConfigListOptions{Filters: label})
	if err != nil {
		t.Fatal(err)
	}
	return secrets, configs
}

// nodeByHost is the cluster's node of that host name.
func nodeByHost(t *testing.T, s *testenv.Swarm, host string) testenv.SwarmNode {
	t.Helper()
	for _, n := range s.Nodes {
		if n.Hostname == host {
			return n
		}
	}
	t.Fatalf("no node %q in the cluster", host)
	return testenv.SwarmNode{}
}

// taskContainer is the node and the container, as that node's engine
// sees it, of the service's latest task.
func taskContainer(t *testing.T, e *swarm.Engine, s *testenv.Swarm, id string) (testenv.SwarmNode, container.InspectResponse) {
	t.Helper()
	task, ok, err := e.Task(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("the task of service %s: %v %v", id, ok, err)
	}
	n := nodeByHost(t, s, task.Hostname)
	info, err := nodeClient(t, n).ContainerInspect(context.Background(), task.ContainerID)
	if err != nil {
		t.Fatalf("node %s's engine does not know the task's container: %v", n.Hostname, err)
	}
	return n, info
}

// readInContainer reads a file as the running container sees it, through
// its main process's root. (Docker's copy API does not see the files of
// secrets and configs, which are mounts of their own.)
func readInContainer(t *testing.T, info container.InspectResponse, target string) ([]byte, os.FileInfo) {
	t.Helper()
	if info.State == nil || info.State.Pid == 0 {
		t.Fatalf("container %s is not running", info.ID)
	}
	p := filepath.Join("/proc", strconv.Itoa(info.State.Pid), "root", target)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading %s in the container: %v", target, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return data, fi
}

// A bot's files reach its task by content: a secret file as a Swarm
// secret (read-only to root, the user Hummingbot runs as, from memory,
// on the bot's node alone), another as a config; each object is labelled
// for its fleet, bot and service. Removing the bot removes them and keeps
// its volume.
func TestFilesReachTask(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	worker := s.Worker(0)
	spec := botSpec(t, fleet, "files", worker.Hostname)
	sec, conf := secretFile(connectorTarget), configFile(scriptTarget)
	spec.Files = []runtime.File{sec, conf}
	vol := spec.Mounts[1].Source

	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	mgr := nodeClient(t, s.Nodes[0])
	secrets, configs := objects(t, mgr, fleet)
	if len(secrets) != 1 || len(configs) != 1 {
		t.Fatalf("after Create: %d secrets, %d configs, want 1 of each", len(secrets), len(configs))
	}
	if got, want := secrets[0].Spec.Name, swarm.ObjectName(spec.Name, sec.Target, sec.Digest); got != want {
		t.Errorf("secret named %s, want %s", got, want)
	}
	if got, want := configs[0].Spec.Name, swarm.ObjectName(spec.Name, conf.Target, conf.Digest); got != want {
		t.Errorf("config named %s, want %s", got, want)
	}
	for _, l := range []map[string]string{secrets[0].Spec.Labels, configs[0].Spec.Labels} {
		if l[runtime.LabelBot] != "files" || l[swarm.LabelService] != spec.Name {
			t.Errorf("labels %v, want the bot and the service", l)
		}
	}

	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	node, info := taskContainer(t, e, s, id)
	if node.Hostname != worker.Hostname {
		t.Fatalf("the task runs on %s, want %s", node.Hostname, worker.Hostname)
	}
	for _, c := range []struct {
		f    runtime.File
		mode os.FileMode
	}{{sec, 0o400}, {conf, 0o444}} {
		data, fi := readInContainer(t, info, c.f.Target)
		if !bytes.Equal(data, c.f.Data) {
			t.Errorf("%s in the container: %q, want %q", c.f.Target, data, c.f.Data)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != c.mode || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s in the container: mode %v owner %d:%d, want %v 0:0", c.f.Target, fi.Mode().Perm(), st.Uid, st.Gid, c.mode)
		}
	}
	// Docker keeps a task's secrets on a tmpfs under the container's
	// folder and binds each file from there.
	root, err := nodeClient(t, worker).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root.DockerRootDir, "containers", info.ID, "mounts", "secrets")
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if !bytes.Contains(mounts, []byte(" "+dir+" tmpfs ")) {
		t.Errorf("%s is not a tmpfs", dir)
	}
	for _, n := range s.Nodes {
		if n.Host == worker.Host {
			continue
		}
		list, _ := nodeClient(t, n).ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+id))})
		if len(list) != 0 {
			t.Fatalf("node %s has a container of the bot", n.Hostname)
		}
	}
	// The secret's content is on no disk: not in any node's folders (the
	// managers' log holds it encrypted) but the worker's tmpfs, and not in
	// the folder bound from this machine, where Docker made the mount point.
	for _, n := range s.Nodes {
		ninfo, err := nodeClient(t, n).Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hits := filesHolding(t, filepath.Dir(ninfo.DockerRootDir), sec.Data)
		for _, p := range hits {
			if n.Host != worker.Host || !strings.HasPrefix(p, dir+"/") {
				t.Errorf("the secret's content is in %s on %s", p, n.Hostname)
			}
		}
		if n.Host == worker.Host && len(hits) == 0 {
			t.Errorf("the search did not find the secret on the worker's tmpfs (%s): it would not find it elsewhere either", dir)
		}
	}
	if hits := filesHolding(t, spec.Mounts[0].Source, sec.Data); len(hits) != 0 {
		t.Errorf("the secret's content is in %v, bound from this machine", hits)
	}

	waitDataFile(t, nodeClient(t, worker), vol, "bot/status.json")
	if _, err := e.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if secrets, configs := objects(t, mgr, fleet); len(secrets)+len(configs) != 0 {
		t.Fatalf("after Remove: %d secrets, %d configs remain", len(secrets), len(configs))
	}
	if _, err := nodeClient(t, worker).VolumeInspect(ctx, vol); err != nil {
		t.Fatalf("the bot's volume did not survive Remove: %v", err)
	}
}

// filesHolding lists the regular files under root that contain data.
func filesHolding(t *testing.T, root string, data []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		// Files come and go under a running engine; what cannot be read
		// now is not a hit.
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, data) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// An update with the same digests makes no new object and needs no
// content; a changed credential is a new secret, which one update switches
// the bot to: the bot stays on its node, its old task stops (gracefully)
// before the new one starts, and the old secret goes. An update that stops
// the bot starts no task.
func TestUpdateRotatesSecret(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	mgr := nodeClient(t, s.Nodes[0])
	spec := botSpec(t, fleet, "rot", "")
	sec, conf := secretFile(connectorTarget), configFile(scriptTarget)
	spec.Files = []runtime.File{sec, conf}
	vol := spec.Mounts[1].Source

	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	secrets, configs := objects(t, mgr, fleet)
	oldSecret, oldConfig := secrets[0], configs[0]

	// The same digests, content not given: the same objects.
	same := spec
	same.Files = []runtime.File{{Target: sec.Target, Digest: sec.Digest, Secret: true}, {Target: conf.Target, Digest: conf.Digest}}
	if stopped, err := e.Update(ctx, id, same, false); err != nil || stopped.ExitCode != -1 || stopped.Killed {
		t.Fatalf("Update with the same digests: %+v %v", stopped, err)
	}
	secrets, configs = objects(t, mgr, fleet)
	if len(secrets) != 1 || len(configs) != 1 || secrets[0].ID != oldSecret.ID || configs[0].ID != oldConfig.ID {
		t.Fatalf("after an update with the same digests: secrets %v, configs %v", names(secrets), names(configs))
	}

	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	node, before := taskContainer(t, e, s, id)
	ncli := nodeClient(t, node)
	waitDataFile(t, ncli, vol, "bot/status.json")
	constraints := placement(t, mgr, id)

	rotated := spec
	sec2 := secretFile(connectorTarget)
	rotated.Files = []runtime.File{sec2, conf}
	rotated.Labels = map[string]string{runtime.LabelFleet: fleet, runtime.LabelBot: "rot", runtime.LabelHash: "h-rot-2"}
	start := time.Now()
	stopped, err := e.Update(ctx, id, rotated, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Update with a rotated secret took %s", time.Since(start).Round(time.Millisecond))
	if stopped.Killed || stopped.ExitCode != 0 {
		t.Fatalf("the old task's stop: %+v, want a graceful exit 0", stopped)
	}
	secrets, configs = objects(t, mgr, fleet)
	if len(secrets) != 1 || secrets[0].Spec.Name != swarm.ObjectName(spec.Name, sec2.Target, sec2.Digest) {
		t.Fatalf("secrets after the rotation: %v, want only the new one", names(secrets))
	}
	if len(configs) != 1 || configs[0].ID != oldConfig.ID {
		t.Fatalf("configs after the rotation: %v, want the unchanged one kept", names(configs))
	}
	if _, _, err := mgr.SecretInspectWithRaw(ctx, oldSecret.ID); !cerrdefs.IsNotFound(err) {
		t.Fatalf("the old secret %s: %v, want it removed", oldSecret.Spec.Name, err)
	}
	node2, after := taskContainer(t, e, s, id)
	if node2.Hostname != node.Hostname || !slices.Equal(placement(t, mgr, id), constraints) {
		t.Fatalf("the bot moved: %s → %s, constraints %v → %v", node.Hostname, node2.Hostname, constraints, placement(t, mgr, id))
	}
	if after.ID == before.ID {
		t.Fatal("the update did not replace the task's container")
	}
	if data, _ := readInContainer(t, after, sec2.Target); !bytes.Equal(data, sec2.Data) {
		t.Fatalf("the new task reads %q, want the rotated %q", data, sec2.Data)
	}
	if c := find(t, e, fleet, id); c.Hash() != "h-rot-2" || !c.Running() || c.Task.Node != node.Hostname {
		t.Fatalf("after the update: %+v %+v", c, c.Task)
	}
	old, err := ncli.ContainerInspect(ctx, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	stoppedAt, _ := time.Parse(time.RFC3339Nano, old.State.FinishedAt)
	startedAt, _ := time.Parse(time.RFC3339Nano, after.State.StartedAt)
	if stoppedAt.IsZero() || !stoppedAt.Before(startedAt) {
		t.Fatalf("the old task ended at %s, the new one started at %s: two ran at once", old.State.FinishedAt, after.State.StartedAt)
	}
	t.Logf("old task ended %s before the new one started", startedAt.Sub(stoppedAt).Round(time.Millisecond))

	// A stopping update: the new secret is made, the bot stops, and no
	// task of the new spec ever ran. The new bot is let come up first: until
	// it has its SIGTERM handler, a stop is a kill.
	waitStatusAfter(t, ncli, vol, startedAt)
	tasksBefore := ranTasks(t, mgr, id)
	stoppedSpec := rotated
	sec3 := secretFile(connectorTarget)
	stoppedSpec.Files = []runtime.File{sec3, conf}
	stopped, err = e.Update(ctx, id, stoppedSpec, false)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Killed || stopped.ExitCode != 0 {
		t.Fatalf("the stopping update's stop: %+v", stopped)
	}
	if got := ranTasks(t, mgr, id); !slices.Equal(got, tasksBefore) {
		t.Fatalf("tasks that ran: %v before the stopping update, %v after", tasksBefore, got)
	}
	if c := find(t, e, fleet, id); c.Running() {
		t.Fatalf("after the stopping update: %+v", c)
	}
	if secrets, _ = objects(t, mgr, fleet); len(secrets) != 1 || secrets[0].Spec.Name != swarm.ObjectName(spec.Name, sec3.Target, sec3.Digest) {
		t.Fatalf("secrets after the stopping update: %v", names(secrets))
	}
	stops, err := dataFile(t, ncli, vol, "testbot-stops")
	if err != nil || bytes.Count(stops, []byte("cancelled orders")) != 2 {
		t.Fatalf("data/testbot-stops: %q (%v), want two graceful stops", stops, err)
	}
}

// waitStatusAfter waits until the bot on the volume has written its
// status after t, which it does once it handles SIGTERM.
func waitStatusAfter(t *testing.T, cli *client.Client, vol string, after time.Time) {
	t.Helper()
	v, err := cli.VolumeInspect(context.Background(), vol)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(v.Mountpoint, "bot", "status.json")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(after) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot wrote no status in %s after %s", p, after)
		}
	}
}

func names[T dswarm.Secret | dswarm.Config](objs []T) []string {
	var out []string
	for _, o := range objs {
		switch o := any(o).(type) {
		case dswarm.Secret:
			out = append(out, o.Spec.Name)
		case dswarm.Config:
			out = append(out, o.Spec.Name)
		}
	}
	return out
}

// placement is the service's placement constraints.
func placement(t *testing.T, mgr *client.Client, id string) []string {
	t.Helper()
	svc, _, err := mgr.ServiceInspectWithRaw(context.Background(), id, dswarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.TaskTemplate.Placement == nil {
		return nil
	}
	return svc.Spec.TaskTemplate.Placement.Constraints
}

// ranTasks are the IDs of the service's tasks that got a container.
func ranTasks(t *testing.T, mgr *client.Client, id string) []string {
	t.Helper()
	ts, err := mgr.TaskList(context.Background(), dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range ts {
		if cs := task.Status.ContainerStatus; cs != nil && cs.ContainerID != "" {
			out = append(out, task.ID)
		}
	}
	slices.Sort(out)
	return out
}

// Bots created without a node spread over the cluster, one per node, even
// when created at once; a fourth goes to the first node by host name.
func TestDefaultPlacementSpreads(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, bot := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Create(ctx, botSpec(t, fleet, bot, ""))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create(ctx, botSpec(t, fleet, "d", "")); err != nil {
		t.Fatal(err)
	}
	list, err := e.List(ctx, fleet)
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string][]string{}
	for _, c := range list {
		if c.Task == nil || c.Task.NodeState != "ready" {
			t.Fatalf("bot %s: task %+v, want pinned to a ready node", c.Bot(), c.Task)
		}
		perNode[c.Task.Node] = append(perNode[c.Task.Node], c.Bot())
	}
	first := slices.MinFunc(s.Nodes, func(a, b testenv.SwarmNode) int { return strings.Compare(a.Hostname, b.Hostname) }).Hostname
	for _, n := range s.Nodes {
		want := 1
		if n.Hostname == first {
			want = 2
		}
		if len(perNode[n.Hostname]) != want {
			t.Fatalf("bots per node: %v, want one on each and the fourth on %s", perNode, first)
		}
	}
}

// A bot whose node goes down is reported so (its task's node is not
// ready) and stays pinned to that node: Swarm does not move it.
func TestNodeDownReported(t *testing.T) {
	e, s := cluster(t)
	ctx := context.Background()
	fleet := newFleet(t, s)
	worker := s.Worker(1)
	spec := botSpec(t, fleet, "down", worker.Hostname)
	id, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	mgr := nodeClient(t, s.Nodes[0])
	constraints := placement(t, mgr, id)

	s.StopNode(t, worker)
	start := time.Now()
	var c runtime.Container
	for c = find(t, e, fleet, id); c.Task.NodeReady(); c = find(t, e, fleet, id) {
		if time.Since(start) > time.Minute {
			t.Fatalf("a minute after its node stopped, the bot is reported %+v", c.Task)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("node down reported after %s: %+v (%s)", time.Since(start).Round(time.Millisecond), *c.Task, c.Status)
	if c.Task.Node != worker.Hostname || c.Task.NodeState == "" {
		t.Fatalf("task %+v, want on %s, not ready", c.Task, worker.Hostname)
	}
	// Swarm replaces a down node's task; the replacement must wait for
	// the node, not run elsewhere.
	time.Sleep(2 * time.Second)
	if got := placement(t, mgr, id); !slices.Equal(got, constraints) {
		t.Fatalf("constraints %v → %v while the node was down", constraints, got)
	}
	ts, err := mgr.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range ts {
		if task.NodeID != "" && task.Status.State == dswarm.TaskStateRunning {
			n, _, err := mgr.NodeInspectWithRaw(ctx, task.NodeID)
			if err == nil && n.Description.Hostname != worker.Hostname {
				t.Fatalf("task %s runs on %s while the bot's node is down", task.ID, n.Description.Hostname)
			}
		}
	}
	if c := find(t, e, fleet, id); c.Task.Node != worker.Hostname || c.Task.NodeReady() {
		t.Fatalf("later: task %+v", c.Task)
	}
}
