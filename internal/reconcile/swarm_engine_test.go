package reconcile

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/swarm"
	"github.com/nectarhq/nectar/internal/testenv"
)

// swarmHarness drives passes of the quickstart fleet (engine: swarm, every
// bot running) against the three-node cluster.
type swarmHarness struct {
	*engineHarness
	s     *testenv.Swarm
	rt    *swarm.Engine
	nodes map[string]*client.Client // by host name
}

func newSwarmHarness(t *testing.T) *swarmHarness {
	s := testenv.RequireSwarm(t)
	t.Setenv("DOCKER_HOST", s.Manager)
	ctx := context.Background()
	rt, err := swarm.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	fleetName := fmt.Sprintf("e2e-swarm-%d", time.Now().UnixNano()%1e6)
	h := &swarmHarness{engineHarness: &engineHarness{t: t, fleet: fleetName, prefix: "sw-"}, s: s, rt: rt, nodes: map[string]*client.Client{}}
	for _, n := range s.Nodes {
		cli, err := client.NewClientWithOpts(client.WithHost(n.Host), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		h.nodes[n.Hostname] = cli
	}
	h.dir = testenv.CopyExample(t, fleetName, h.prefix)
	settings, _ := os.ReadFile(filepath.Join(h.dir, fleet.SettingsFile))
	h.write(fleet.SettingsFile, string(settings)+"engine: swarm\n")
	// Every bot runs, so three bots spread over three nodes; short stop
	// timeouts keep the test short (the test bot stops in about a second).
	h.write("bots/sw-hl-perp.yml", "account: team_account\nconnectors: [hyperliquid_perpetual]\nconfig: conf_perp_mm_hl.yml\nstop_timeout: 20s\n")
	h.write("bots/sw-pmm-btc.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nstop_timeout: 20s\n")
	h.write("bots/sw-xemm-eth.yml", "account: master_account\nconfig: conf_xemm_eth.yml\nstop_timeout: 20s\n")
	h.state = t.TempDir()
	t.Cleanup(func() { h.removeServices() })
	rd, err := render.New(render.StateDirOptions(h.state))
	if err != nil {
		t.Fatal(err)
	}
	h.r = New(Options{Runtime: rt, Renderer: rd, StateDir: h.state, Identities: exampleIDs(), Engine: fleet.EngineSwarm})
	return h
}

func (h *swarmHarness) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// removeServices removes what the test made on the cluster: the fleet's
// services, secrets, configs and volumes.
func (h *swarmHarness) removeServices() {
	ctx := context.Background()
	mgr := h.nodes[h.s.Nodes[0].Hostname]
	label := filters.NewArgs(filters.Arg("label", runtime.LabelFleet+"="+h.fleet))
	svcs, _ := mgr.ServiceList(ctx, dswarm.ServiceListOptions{Filters: label})
	for _, s := range svcs {
		mgr.ServiceRemove(ctx, s.ID)
	}
	deadline := time.Now().Add(time.Minute)
	for _, cli := range h.nodes {
		for time.Now().Before(deadline) {
			cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name"))})
			if err != nil || !slices.ContainsFunc(cs, func(c container.Summary) bool {
				return strings.HasPrefix(c.Labels["com.docker.swarm.service.name"], "hummingbot-sw-")
			}) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	secrets, _ := mgr.SecretList(ctx, dswarm.SecretListOptions{Filters: label})
	for _, s := range secrets {
		mgr.SecretRemove(ctx, s.ID)
	}
	configs, _ := mgr.ConfigList(ctx, dswarm.ConfigListOptions{Filters: label})
	for _, c := range configs {
		mgr.ConfigRemove(ctx, c.ID)
	}
	for _, cli := range h.nodes {
		vols, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: label})
		for _, v := range vols.Volumes {
			cli.VolumeRemove(ctx, v.Name, true)
		}
	}
}

// converge runs passes until one finds nothing to do, and says how long
// the first took.
func (h *swarmHarness) converge() (*Result, time.Duration) {
	h.t.Helper()
	start := time.Now()
	res := h.pass()
	took := time.Since(start)
	if res.EngineErr != nil || len(res.Failed()) > 0 {
		h.t.Fatalf("pass failed: %v %+v", res.EngineErr, res.Failed())
	}
	return res, took
}

// services are the fleet's bots as the cluster lists them, by bot.
func (h *swarmHarness) services() map[string]runtime.Container {
	h.t.Helper()
	cs, err := h.rt.List(context.Background(), h.fleet)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]runtime.Container{}
	for _, c := range cs {
		out[c.Bot()] = c
	}
	return out
}

// secretsOf are the Swarm secrets the bot's service mounts, by target.
func (h *swarmHarness) secretsOf(bot string) map[string]*dswarm.SecretReference {
	h.t.Helper()
	mgr := h.nodes[h.s.Nodes[0].Hostname]
	svc, _, err := mgr.ServiceInspectWithRaw(context.Background(), fleet.ContainerName(bot), dswarm.ServiceInspectOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]*dswarm.SecretReference{}
	for _, s := range svc.Spec.TaskTemplate.ContainerSpec.Secrets {
		out[s.File.Name] = s
	}
	return out
}

// taskContainer is the running container of the bot's task on its node.
func (h *swarmHarness) taskContainer(bot string) (node string, id string) {
	h.t.Helper()
	for host, cli := range h.nodes {
		cs, err := cli.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+fleet.ContainerName(bot)))})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, c := range cs {
			if node != "" {
				h.t.Fatalf("bot %s runs on %s and %s at once", bot, node, host)
			}
			node, id = host, c.ID
		}
	}
	if node == "" {
		h.t.Fatalf("bot %s runs on no node", bot)
	}
	return node, id
}

// secretFiles reads the bot's secrets as its container was given them,
// from its node's disk (a tmpfs under the container's folder, where the
// engine keeps each under its ID beside the bot's configs).
func (h *swarmHarness) secretFiles(bot, node, id string) [][]byte {
	h.t.Helper()
	info, err := h.nodes[node].Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	dir := filepath.Join(info.DockerRootDir, "containers", id, "mounts", "secrets")
	var out [][]byte
	for _, ref := range h.secretsOf(bot) {
		data, err := os.ReadFile(filepath.Join(dir, ref.SecretID))
		if err != nil {
			h.t.Fatalf("secret %s of %s not under %s: %v", ref.SecretName, bot, dir, err)
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		h.t.Fatalf("%s has no secret", bot)
	}
	return out
}

// waitReady waits for the bot's heartbeat on its node since since: its
// stop path is in place (see engineHarness.waitReady).
func (h *swarmHarness) waitReady(bot string, since time.Time) {
	h.t.Helper()
	node := h.services()[bot].Task.Node
	info, err := h.nodes[node].Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	beat := filepath.Join(info.DockerRootDir, "volumes", fleet.ContainerName(bot)+"-data", "_data", "testbot-heartbeat")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(beat); err == nil && !fi.ModTime().Before(since) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("bot %s never became ready on %s (%s)", bot, node, beat)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// onDisk lists the files under a node's data root holding any of contents,
// with the type of file system each is on.
func (h *swarmHarness) onDisk(node string, contents [][]byte) []string {
	h.t.Helper()
	info, err := h.nodes[node].Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var found []string
	filepath.WalkDir(info.DockerRootDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > 1<<20 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, c := range contents {
			if bytes.Contains(data, c) {
				found = append(found, fmt.Sprintf("%s (%d bytes, holding a secret of %d bytes)", p, len(data), len(c)))
			}
		}
		return nil
	})
	return found
}

// onTmpfs reports whether p is on a tmpfs, by the longest mount point
// holding it.
func onTmpfs(t *testing.T, p string) bool {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	best, kind := "", ""
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (p == f[1] || strings.HasPrefix(p, strings.TrimSuffix(f[1], "/")+"/")) && len(f[1]) > len(best) {
			best, kind = f[1], f[2]
		}
	}
	return kind == "tmpfs"
}

func TestSwarmFleet(t *testing.T) {
	h := newSwarmHarness(t)
	ctx := context.Background()
	bots := []string{"sw-hl-perp", "sw-pmm-btc", "sw-xemm-eth"}

	// Bots spread over the nodes and converge.
	created := time.Now()
	_, took := h.converge()
	t.Logf("figure: 3 bots created and running on the cluster in %s", took.Round(time.Millisecond))
	svcs := h.services()
	var nodes []string
	for _, b := range bots {
		c, ok := svcs[b]
		if !ok || !c.Running() || c.Task == nil {
			t.Fatalf("%s: %+v", b, c)
		}
		nodes = append(nodes, c.Task.Node)
	}
	if slices.Sort(nodes); len(slices.Compact(slices.Clone(nodes))) != 3 {
		t.Errorf("bots not spread over the three nodes: %v", nodes)
	}
	if res := h.pass(); res.Mutations != 0 {
		t.Fatalf("a second pass changed %d things: %+v", res.Mutations, res.Outcomes)
	}
	if _, err := os.Stat(filepath.Join(h.state, "instances", "sw-pmm-btc", render.ConnectorsDir)); !os.IsNotExist(err) {
		t.Errorf("connector files were written on nectar's host: %v", err)
	}

	// A bot's secrets are on its node's tmpfs, and on no other node.
	node, id := h.taskContainer("sw-pmm-btc")
	secrets := h.secretFiles("sw-pmm-btc", node, id)
	for host := range h.nodes {
		for _, p := range h.onDisk(host, secrets) {
			if host != node || !onTmpfs(t, strings.Fields(p)[0]) {
				t.Errorf("a secret of sw-pmm-btc (on %s) is on %s's disk at %s", node, host, p)
			}
		}
	}

	// A credential change rotates the secret and updates only its bot,
	// once that bot can stop gracefully.
	h.waitReady("sw-xemm-eth", created)
	before := h.services()
	oldSecrets := h.secretsOf("sw-xemm-eth")
	writeCredential(t, h.dir, "master_account", "kucoin", "connector: kucoin\nsecrets:\n  kucoin_api_key: rotated-key\n  kucoin_secret_key: rotated-secret\n  kucoin_passphrase: rotated-pass\n")
	res, took := h.converge()
	t.Logf("figure: credential rotation (one bot updated, on %s) converged on the cluster in %s", before["sw-xemm-eth"].Task.Node, took.Round(time.Millisecond))
	for _, o := range res.Outcomes {
		if want := o.Bot == "sw-xemm-eth"; (o.Kind == plan.Recreate) != want {
			t.Errorf("%s: %s %q", o.Bot, o.Kind, o.Reason)
		}
	}
	after := h.services()
	for _, b := range bots {
		if after[b].ID != before[b].ID || after[b].Task.Node != before[b].Task.Node || !after[b].Running() {
			t.Errorf("%s moved or was replaced: %+v -> %+v", b, before[b].Task, after[b].Task)
		}
	}
	newSecrets := h.secretsOf("sw-xemm-eth")
	kucoin := "/home/hummingbot/conf/connectors/kucoin.yml"
	if newSecrets[kucoin] == nil || newSecrets[kucoin].SecretName == oldSecrets[kucoin].SecretName {
		t.Fatalf("kucoin's secret was not rotated: %v -> %v", oldSecrets[kucoin], newSecrets[kucoin])
	}
	binance := "/home/hummingbot/conf/connectors/binance.yml"
	if newSecrets[binance].SecretName != oldSecrets[binance].SecretName {
		t.Errorf("binance's secret changed although its credential did not")
	}
	mgr := h.nodes[h.s.Nodes[0].Hostname]
	if _, _, err := mgr.SecretInspectWithRaw(ctx, oldSecrets[kucoin].SecretID); err == nil {
		t.Errorf("the old kucoin secret %s is still there", oldSecrets[kucoin].SecretName)
	}

	// A worker going down is reported, and its bot is not moved.
	var downBot, downNode string
	var downIndex int
	for i, n := range h.s.Nodes[1:] {
		for _, b := range bots {
			if after[b].Task.Node == n.Hostname {
				downBot, downNode, downIndex = b, n.Hostname, i+2
			}
		}
		if downBot != "" {
			break
		}
	}
	if downBot == "" {
		t.Fatal("no bot on a worker")
	}
	swarmScript(t, "stop-node", fmt.Sprint(downIndex))
	t.Cleanup(func() { swarmScript(t, "start-node", fmt.Sprint(downIndex)) })
	deadline := time.Now().Add(90 * time.Second)
	for h.services()[downBot].Task.NodeReady() {
		if time.Now().After(deadline) {
			t.Fatalf("node %s still reported ready 90 s after its engine stopped", downNode)
		}
		time.Sleep(time.Second)
	}
	res = h.pass()
	o := outcome(t, res, downBot)
	if o.Kind != plan.Stalled || !strings.Contains(o.Reason, "node "+downNode) {
		t.Errorf("%s on the stopped node: %s %q", downBot, o.Kind, o.Reason)
	}
	for _, o := range res.Outcomes {
		if o.Kind.Mutates() {
			t.Errorf("acted while a node is down: %s %s %q", o.Bot, o.Kind, o.Reason)
		}
	}
	svc, _, err := mgr.ServiceInspectWithRaw(ctx, fleet.ContainerName(downBot), dswarm.ServiceInspectOptions{})
	if err != nil || !slices.Contains(svc.Spec.TaskTemplate.Placement.Constraints, "node.hostname=="+downNode) {
		t.Errorf("%s's service no longer pinned to %s: %v %v", downBot, downNode, svc.Spec.TaskTemplate.Placement, err)
	}
	swarmScript(t, "start-node", fmt.Sprint(downIndex))
	deadline = time.Now().Add(2 * time.Minute)
	for {
		res = h.pass()
		c := h.services()[downBot]
		if c.Running() && c.Task.NodeReady() && c.Task.Node == downNode && res.Mutations == 0 && len(res.Failed()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come back on %s: %+v %+v", downBot, downNode, c.Task, res.Outcomes)
		}
		time.Sleep(2 * time.Second)
	}

	// Removing a bot removes its service and its secrets, and keeps its
	// data volume on its node.
	gone := "sw-pmm-btc"
	goneNode := h.services()[gone].Task.Node
	os.Remove(filepath.Join(h.dir, "bots", gone+".yml"))
	if o := outcome(t, h.pass(), gone); o.Kind != plan.Remove || o.Err != nil {
		t.Fatalf("%s: %s %v", gone, o.Kind, o.Err)
	}
	if _, ok := h.services()[gone]; ok {
		t.Error("the removed bot's service is still there")
	}
	botLabel := filters.NewArgs(filters.Arg("label", runtime.LabelBot+"="+gone), filters.Arg("label", runtime.LabelFleet+"="+h.fleet))
	if left, _ := mgr.SecretList(ctx, dswarm.SecretListOptions{Filters: botLabel}); len(left) > 0 {
		t.Errorf("%d secret(s) of the removed bot are left", len(left))
	}
	if left, _ := mgr.ConfigList(ctx, dswarm.ConfigListOptions{Filters: botLabel}); len(left) > 0 {
		t.Errorf("%d config(s) of the removed bot are left", len(left))
	}
	if _, err := h.nodes[goneNode].VolumeInspect(ctx, fleet.ContainerName(gone)+"-data"); err != nil {
		t.Errorf("the removed bot's data volume is gone from %s: %v", goneNode, err)
	}
}

// The same two changes on the single engine, for the figures.
func TestSwarmFiguresSingleEngineBeside(t *testing.T) {
	testenv.RequireSwarm(t) // only where the cluster figures are taken
	h := newEngineHarness(t)
	start := time.Now()
	if res := h.pass(); len(res.Failed()) > 0 {
		t.Fatalf("%+v", res.Failed())
	}
	t.Logf("figure: quickstart bots created and running on the single engine in %s", time.Since(start).Round(time.Millisecond))
	h.waitReady(h.bot("xemm-eth"))
	start = time.Now()
	writeCredential(t, h.dir, "master_account", "kucoin", "connector: kucoin\nsecrets:\n  kucoin_api_key: rotated-key\n  kucoin_secret_key: rotated-secret\n  kucoin_passphrase: rotated-pass\n")
	if res := h.pass(); len(res.Failed()) > 0 {
		t.Fatalf("%+v", res.Failed())
	}
	t.Logf("figure: credential rotation (one bot recreated) converged on the single engine in %s", time.Since(start).Round(time.Millisecond))
}

func swarmScript(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(), "scripts", "swarm-cluster.sh"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("swarm-cluster.sh %v: %v\n%s", args, err, out)
	}
}
