package reconcile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/docker"
	"github.com/nectarhq/nectar/internal/testenv"
)

// engineHarness drives passes against the real Docker engine.
type engineHarness struct {
	t      *testing.T
	dir    string
	state  string
	fleet  string
	prefix string
	eng    *docker.Engine
	r      *Reconciler
	// lastPass is when the last pass began: a bot is ready once it beat
	// after that, whatever an earlier container of it left in data/.
	lastPass time.Time
}

func newEngineHarness(t *testing.T) *engineHarness {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	h := &engineHarness{t: t, fleet: "e2e-reconcile", prefix: "rc-"}
	testenv.RemoveFleet(t, h.fleet)
	h.dir = testenv.CopyExample(t, h.fleet, h.prefix)
	h.state = t.TempDir()
	// Registered after the folders, so it runs before they are deleted:
	// a running bot keeps writing into its data/.
	t.Cleanup(func() { testenv.RemoveFleet(t, h.fleet) })
	eng, err := docker.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	h.eng = eng
	rd, err := render.New(render.StateDirOptions(h.state))
	if err != nil {
		t.Fatal(err)
	}
	h.r = New(Options{Runtime: eng, Renderer: rd, StateDir: h.state, Identities: exampleIDs()})
	return h
}

func (h *engineHarness) pass() *Result {
	h.t.Helper()
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	defer root.Close()
	h.lastPass = time.Now()
	res := h.r.Pass(context.Background(), Source{Revision: "e2e", FS: root.FS()})
	if res.EngineErr != nil {
		h.t.Fatal(res.EngineErr)
	}
	return res
}

func (h *engineHarness) bot(name string) string { return h.prefix + name }

func (h *engineHarness) containers() map[string][]runtime.Container {
	cs, err := h.eng.List(context.Background(), h.fleet)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string][]runtime.Container{}
	for _, c := range cs {
		out[c.Bot()] = append(out[c.Bot()], c)
	}
	return out
}

// waitReady waits for the test bot's heartbeat since the last pass: the
// bot checked its password and decrypted every connector secret, as
// Hummingbot would, and its stop path is in place (a stop before that is
// a kill, as with Hummingbot's engine).
func (h *engineHarness) waitReady(bot string) {
	h.t.Helper()
	beat := filepath.Join(h.state, "instances", bot, "data", "testbot-heartbeat")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if info, err := os.Stat(beat); err == nil && !info.ModTime().Before(h.lastPass) {
			return
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("docker", "logs", "hummingbot-"+bot).CombinedOutput()
			h.t.Fatalf("bot %s never became ready; its log:\n%s", bot, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *engineHarness) expect(res *Result, bot string, kind plan.Kind) Outcome {
	h.t.Helper()
	o := outcome(h.t, res, bot)
	if o.Kind != kind || o.Err != nil {
		h.t.Fatalf("%s: got %s (%s) err=%v, want %s", bot, o.Kind, o.Reason, o.Err, kind)
	}
	return o
}

// TestEngineReconcileTable walks every row of the reconcile table against
// the real engine, with the test bot standing in for Hummingbot.
func TestEngineReconcileTable(t *testing.T) {
	h := newEngineHarness(t)
	pmm, xemm, hl := h.bot("pmm-btc"), h.bot("xemm-eth"), h.bot("hl-perp")

	// No container, state running: create and start. Stopped: nothing.
	res := h.pass()
	h.expect(res, pmm, plan.Create)
	h.expect(res, xemm, plan.Create)
	h.expect(res, hl, plan.None)
	h.waitReady(pmm)
	h.waitReady(xemm)

	// A second pass: one engine call (the list), no mutation, no file written.
	before := h.eng.Calls()
	files := stateFiles(t, h.state)
	delete(files, filepath.Join(h.state, "instances", pmm, "data", "testbot-heartbeat"))
	res = h.pass()
	if d := h.eng.Calls().Sub(before); d.Total() != 1 || d.Writes != 0 || res.Pending() {
		t.Fatalf("no-op pass made %+v engine calls, pending %v", d, res.Pending())
	}
	for p, m := range stateFiles(t, h.state) {
		if strings.Contains(p, string(filepath.Separator)+"data"+string(filepath.Separator)) {
			continue // the bot's own heartbeat
		}
		if old, ok := files[p]; !ok || !old.Equal(m) {
			t.Errorf("no-op pass wrote %s", p)
		}
	}

	// Hummingbot (the test bot) rewrote conf_client.yml at start: not drift.
	h.expect(h.pass(), pmm, plan.None)

	// The spec changed: recreate, with the reason.
	first := h.containers()[pmm][0].ID
	os.WriteFile(filepath.Join(h.dir, "bots", pmm+".yml"), []byte("account: master_account\nconnectors: [binance]\nscript_config: conf_pmm_btc.yml\nheadless: true\nenv: {EXTRA: one}\n"), 0o644)
	o := h.expect(h.pass(), pmm, plan.Recreate)
	if !strings.Contains(o.Reason, "environment variable EXTRA added") {
		t.Errorf("reason %q", o.Reason)
	}
	if cs := h.containers()[pmm]; len(cs) != 1 || cs[0].ID == first || !cs[0].Running() {
		t.Fatalf("after recreate: %+v", cs)
	}

	// state: stopped → stop; the container is kept.
	os.WriteFile(filepath.Join(h.dir, "bots", xemm+".yml"), []byte("account: master_account\nstate: stopped\n"), 0o644)
	h.expect(h.pass(), xemm, plan.Stop)
	if cs := h.containers()[xemm]; len(cs) != 1 || cs[0].Running() {
		t.Fatalf("after stop: %+v", cs)
	}

	// Stopped by hand → started; removed by hand → created again.
	exec.Command("docker", "stop", "-t", "1", "hummingbot-"+pmm).Run()
	time.Sleep(plan.Backoff(1)) // the recreate above counts as a start
	h.expect(h.pass(), pmm, plan.Start)
	exec.Command("docker", "rm", "-f", "hummingbot-"+pmm).Run()
	h.expect(h.pass(), pmm, plan.Create)
	h.waitReady(pmm)

	// A connector file edited on disk: rewritten, bot restarted.
	conn := filepath.Join(h.state, "instances", pmm, "conf", "connectors", "binance.yml")
	os.WriteFile(conn, []byte("connector: binance\nbinance_api_key: edited\n"), 0o600)
	h.expect(h.pass(), pmm, plan.Restart)

	// hold: true → nothing, even when the spec changes.
	id := h.containers()[pmm][0].ID
	os.WriteFile(filepath.Join(h.dir, "bots", pmm+".yml"), []byte("account: master_account\nhold: true\nenv: {EXTRA: two}\n"), 0o644)
	h.expect(h.pass(), pmm, plan.Held)
	if h.containers()[pmm][0].ID != id {
		t.Fatal("a held bot's container changed")
	}

	// A broken bot file: that bot is Stalled, its container untouched.
	os.WriteFile(filepath.Join(h.dir, "bots", pmm+".yml"), []byte("account: master_account\nhold: maybe\n"), 0o644)
	h.expect(h.pass(), pmm, plan.Stalled)
	if h.containers()[pmm][0].ID != id {
		t.Fatal("a stalled bot's container changed")
	}

	// The source failing as a whole: nothing changes at all.
	settings := filepath.Join(h.dir, "nectar.yaml")
	good, _ := os.ReadFile(settings)
	os.WriteFile(settings, []byte("fleet: ["), 0o644)
	before = h.eng.Calls()
	if res := h.pass(); res.SourceOK || h.eng.Calls().Sub(before).Writes != 0 {
		t.Fatal("a broken source changed the engine")
	}
	os.WriteFile(settings, good, 0o644)

	// A bot deleted from the source: pruned; its folder and data stay.
	os.Remove(filepath.Join(h.dir, "bots", xemm+".yml"))
	h.expect(h.pass(), xemm, plan.Remove)
	if len(h.containers()[xemm]) != 0 {
		t.Fatal("not pruned")
	}
	if _, err := os.Stat(filepath.Join(h.state, "instances", xemm, "data", "testbot-heartbeat")); err != nil {
		t.Fatalf("the pruned bot's data is gone: %v", err)
	}
}

// TestEngineForeignContainersUntouched: containers of another fleet, and
// ones without labels, survive every pass exactly as they were.
func TestEngineForeignContainersUntouched(t *testing.T) {
	h := newEngineHarness(t)
	testenv.BuildTestbot(t)
	mk := func(name string, labels ...string) string {
		args := []string{"create", "--name", name}
		for _, l := range labels {
			args = append(args, "--label", l)
		}
		out, err := exec.Command("docker", append(args, testenv.TestbotImage)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
		return strings.TrimSpace(string(out))
	}
	other := mk("nectar-e2e-other-fleet", "nectar.fleet=someone-else", "nectar.bot="+h.bot("pmm-btc"))
	bare := mk("nectar-e2e-unlabelled")
	h.pass()
	h.waitReady(h.bot("pmm-btc"))
	os.Remove(filepath.Join(h.dir, "bots", h.bot("pmm-btc")+".yml"))
	h.pass()
	for _, id := range []string{other, bare} {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}}", id).Output()
		if err != nil || strings.TrimSpace(string(out)) != "created" {
			t.Errorf("foreign container %s: %q %v", id, out, err)
		}
	}
}

// stopRecords reads the lines the test bot appends to data/testbot-stops
// when it stops gracefully (it "cancelled its orders").
func (h *engineHarness) stopRecords(bot string) int {
	data, _ := os.ReadFile(filepath.Join(h.state, "instances", bot, "data", "testbot-stops"))
	return strings.Count(string(data), "cancelled orders")
}

// TestEngineStopsAreGraceful: a bot run by hbot leaves through its stop
// path (its orders cancelled) on every stop nectar makes: recreate, stop
// and prune; a classic bot on the official image's shape cannot, and its
// kill is reported with where orders may remain.
func TestEngineStopsAreGraceful(t *testing.T) {
	h := newEngineHarness(t)
	pmm, xemm, hl := h.bot("pmm-btc"), h.bot("xemm-eth"), h.bot("hl-perp")
	write := func(bot, body string) {
		if err := os.WriteFile(filepath.Join(h.dir, "bots", bot+".yml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	graceful := func(o Outcome, bot string, records int) {
		t.Helper()
		if o.Killed != "" || strings.Contains(o.Reason, "graceful") {
			t.Errorf("%s: %s; killed: %s", bot, o.Reason, o.Killed)
		}
		if got := h.stopRecords(bot); got != records {
			t.Errorf("%s: %d stop records, want %d", bot, got, records)
		}
	}
	h.pass()
	h.waitReady(pmm)
	h.waitReady(xemm)

	// Recreate: the old container stops by itself before the new one starts.
	write(pmm, "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv: {EXTRA: one}\n")
	graceful(h.expect(h.pass(), pmm, plan.Recreate), pmm, 1)
	h.waitReady(pmm)

	// Stop: kept, exited 0.
	write(xemm, "account: master_account\nconfig: conf_xemm_eth.yml\nstate: stopped\n")
	graceful(h.expect(h.pass(), xemm, plan.Stop), xemm, 1)
	if cs := h.containers()[xemm]; len(cs) != 1 || cs[0].ExitCode != 0 {
		t.Errorf("stopped bot: %+v", cs)
	}

	// Prune.
	os.Remove(filepath.Join(h.dir, "bots", pmm+".yml"))
	graceful(h.expect(h.pass(), pmm, plan.Remove), pmm, 2)

	// A classic bot: the image's own command, a shell as PID 1 that
	// ignores SIGTERM. nectar says so before it stops it, and after.
	write(hl, "account: team_account\nlaunch: classic\nconfig: conf_perp_mm_hl.yml\nheadless: true\nstop_timeout: 2s\n")
	h.expect(h.pass(), hl, plan.Create)
	h.waitReady(hl)
	write(hl, "account: team_account\nlaunch: classic\nconfig: conf_perp_mm_hl.yml\nheadless: true\nstop_timeout: 2s\nstate: stopped\n")
	start := time.Now()
	o := h.expect(h.pass(), hl, plan.Stop)
	if !strings.Contains(o.Reason, "its stop cannot be graceful") {
		t.Errorf("plan did not foretell the kill: %s", o.Reason)
	}
	if !strings.Contains(o.Killed, "open orders may remain on binance, hyperliquid_perpetual") {
		t.Errorf("kill not reported: %q", o.Killed)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("the classic stop took %s, less than its stop timeout", took)
	}
	if cs := h.containers()[hl]; len(cs) != 1 || cs[0].ExitCode != runtime.KilledExitCode {
		t.Errorf("classic bot after stop: %+v", cs)
	}
	if n := h.stopRecords(hl); n != 0 {
		t.Errorf("the classic bot ran a stop path (%d records)", n)
	}
}

// TestEngineImageScriptsStayVisible: a controller bot whose fleet has no
// controllers and no loader script still starts, because the instance
// receives the image's own v2_with_controllers.py and built-in
// controllers; a fleet script of the same name as one the image ships
// wins, and the plan says so.
func TestEngineImageScriptsStayVisible(t *testing.T) {
	h := newEngineHarness(t)
	grid := h.bot("grid")
	files := map[string]string{
		"conf/controllers/conf_grid.yml": "id: grid\ncontroller_name: grid_strike\ncontroller_type: generic\nconnector_name: binance\ntrading_pair: BTC-USDT\n",
		"bots/" + grid + ".yml":          "account: master_account\nconnectors: [binance]\nconfig: conf_grid.yml\n",
		"scripts/simple_pmm.py":          "# the fleet's own simple_pmm\n",
	}
	for p, body := range files {
		if err := os.WriteFile(filepath.Join(h.dir, filepath.FromSlash(p)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "controllers", "generic")); err == nil {
		t.Fatal("the example fleet ships a generic controller; this test needs it not to")
	}
	o := h.expect(h.pass(), grid, plan.Create)
	h.waitReady(grid)
	inst := filepath.Join(h.state, "instances", grid)
	for _, p := range []string{"scripts/v2_with_controllers.py", "controllers/generic/grid_strike.py", "scripts/quote_logger.py"} {
		if _, err := os.Stat(filepath.Join(inst, p)); err != nil {
			t.Errorf("%s is not in the instance: %v", p, err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(inst, "scripts/simple_pmm.py")); string(got) != files["scripts/simple_pmm.py"] {
		t.Errorf("scripts/simple_pmm.py = %q, want the fleet's", got)
	}
	if strings.Contains(o.Reason, "replaces the image's own") {
		t.Errorf("the first plan cannot know the image's files yet, but said: %s", o.Reason)
	}

	// Now that nectar has read the image, a change says which fleet file
	// hides the image's own.
	if err := os.WriteFile(filepath.Join(h.dir, "scripts/simple_pmm.py"), []byte("# changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = h.expect(h.pass(), grid, plan.Recreate)
	if !strings.Contains(o.Reason, "the fleet's scripts/simple_pmm.py replaces the image's own file of that name") {
		t.Errorf("recreate reason: %s", o.Reason)
	}
}
