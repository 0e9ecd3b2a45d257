package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/fake"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/testenv"
)

const image = "nectar-testbot:dev"

// exampleIDs is the demo identity of the bundled example fleet.
var exampleIDs = sync.OnceValue(func() *secrets.Identities {
	ids, err := secrets.LoadIdentities(testenv.DemoIdentity())
	if err != nil {
		panic(err)
	}
	return ids
})

// harness is one fleet folder, one fake engine and one reconciler.
type harness struct {
	t     *testing.T
	dir   string
	state string
	rt    *fake.Runtime
	r     *Reconciler
	now   time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: testenv.CopyExample(t, "quickstart", ""), state: t.TempDir(), rt: fake.New(), now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	h.rt.AddImage(image)
	rd, err := render.New(render.StateDirOptions(h.state))
	if err != nil {
		t.Fatal(err)
	}
	h.r = New(Options{Runtime: h.rt, Renderer: rd, StateDir: h.state, Identities: exampleIDs(), Now: func() time.Time { return h.now }})
	return h
}

func (h *harness) pass() *Result {
	h.t.Helper()
	return h.r.Pass(context.Background(), h.source())
}

// source is the fleet folder as a source. The folder stays open until the
// test ends (os.Root.FS reads through the root).
func (h *harness) source() Source {
	h.t.Helper()
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { root.Close() })
	return Source{Revision: "test", FS: root.FS()}
}

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) container(bot string) (runtime.Container, bool) {
	cs, _ := h.rt.List(context.Background(), "quickstart")
	for _, c := range cs {
		if c.Bot() == bot {
			return c, true
		}
	}
	return runtime.Container{}, false
}

func outcome(t *testing.T, res *Result, bot string) Outcome {
	t.Helper()
	for _, o := range res.Outcomes {
		if o.Bot == bot {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", bot, res.Outcomes)
	return Outcome{}
}

// stateFiles lists every file under the state folder with its mtime.
func stateFiles(t *testing.T, dir string) map[string]time.Time {
	out := map[string]time.Time{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			out[p] = info.ModTime()
		}
		return nil
	})
	return out
}

func TestConvergeThenNoOp(t *testing.T) {
	h := newHarness(t)
	res := h.pass()
	if len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	for _, bot := range []string{"pmm-btc", "xemm-eth"} {
		c, ok := h.container(bot)
		if !ok || c.State != runtime.StateRunning || c.Name != "hummingbot-"+bot {
			t.Errorf("%s: %+v", bot, c)
		}
	}
	if _, ok := h.container("hl-perp"); ok {
		t.Error("a stopped bot without a container got one")
	}
	files := stateFiles(t, h.state)
	h.rt.ResetLog()
	h.now = h.now.Add(time.Minute)
	res = h.pass()
	if res.Pending() || res.Mutations != 0 || len(h.rt.Mutations()) != 0 {
		t.Fatalf("second pass mutated: %v", h.rt.Mutations())
	}
	if n := h.rt.Count(fake.List); n != 1 {
		t.Errorf("second pass listed %d times, want 1", n)
	}
	if got := stateFiles(t, h.state); len(got) != len(files) {
		t.Fatalf("second pass changed the file set: %d → %d", len(files), len(got))
	} else {
		for p, m := range got {
			if !files[p].Equal(m) {
				t.Errorf("second pass wrote %s", p)
			}
		}
	}
}

func TestSpecCarriesTheContract(t *testing.T) {
	h := newHarness(t)
	h.write("bots/hl-perp.yml", "account: team_account\nlaunch: classic\nconfig: conf_perp_mm_hl.yml\nheadless: true\nstop_timeout: 2m\n")
	h.pass()

	// launch: hbot (the default): the bot is the main process, the
	// password only in HBOT_PASSWORD, the config's kind said outright.
	c, _ := h.container("pmm-btc")
	spec, _ := h.rt.Spec(c.ID)
	env := strings.Join(spec.Env, "\n")
	for _, want := range []string{"HBOT_PASSWORD=", "TZ=UTC"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	for _, unwanted := range []string{"CONFIG_PASSWORD=", "SCRIPT_CONFIG=", "HEADLESS_MODE="} {
		if strings.Contains(env, unwanted) {
			t.Errorf("a bot launched with hbot has %s", unwanted)
		}
	}
	if want := []string{"hbot", "start", "conf_pmm_btc.yml", "--v2-script", "--foreground"}; !slices.Equal(spec.Cmd, want) {
		t.Errorf("cmd %q, want %q", spec.Cmd, want)
	}
	if spec.StopTimeout != fleet.DefaultStopTimeout {
		t.Errorf("stop timeout %s", spec.StopTimeout)
	}
	if spec.Network != "host" || spec.Restart != "unless-stopped" || spec.NanoCPUs != 1e9 || spec.MemoryBytes != 1<<30 ||
		spec.LogMaxSize != "10m" || spec.LogMaxFiles != 5 || len(spec.Mounts) != 9 {
		t.Errorf("spec %+v", spec)
	}
	for k, want := range map[string]string{runtime.LabelLaunch: "hbot", runtime.LabelAccount: "master_account", runtime.LabelConnectors: "binance"} {
		if spec.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, spec.Labels[k], want)
		}
	}
	for _, k := range []string{runtime.LabelFleet, runtime.LabelBot, runtime.LabelRevision, runtime.LabelHash} {
		if spec.Labels[k] == "" {
			t.Errorf("label %s missing", k)
		}
	}

	// launch: classic: the image's own command, configured through the
	// environment as Hummingbot's quickstart reads it.
	cc, ok := h.container("hl-perp")
	if !ok {
		t.Fatal("no container for the classic bot")
	}
	classic, _ := h.rt.Spec(cc.ID)
	cenv := strings.Join(classic.Env, "\n")
	for _, want := range []string{"CONFIG_PASSWORD=", "CONFIG_FILE_NAME=conf_perp_mm_hl.yml", "HEADLESS_MODE=true"} {
		if !strings.Contains(cenv, want) {
			t.Errorf("classic env lacks %s", want)
		}
	}
	if classic.Cmd != nil || strings.Contains(cenv, "HBOT_PASSWORD") || classic.StopTimeout != 2*time.Minute || classic.Labels[runtime.LabelLaunch] != "classic" {
		t.Errorf("classic spec %+v", classic)
	}

	password := envValue(spec.Env, "HBOT_PASSWORD")
	if len(password) < 16 {
		t.Fatalf("HBOT_PASSWORD has %d characters", len(password))
	}
	for k, v := range spec.Labels {
		if strings.Contains(v, password) {
			t.Errorf("label %s holds the password", k)
		}
	}
}

func envValue(env []string, key string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}

func TestChangesAreExplained(t *testing.T) {
	h := newHarness(t)
	h.pass()
	h.write("bots/pmm-btc.yml", "account: master_account\nconnectors: [binance, kucoin]\nscript_config: conf_pmm_btc.yml\nheadless: true\nimage: nectar-testbot:other\n")
	h.rt.AddImage("nectar-testbot:other")
	res := h.pass()
	o := outcome(t, res, "pmm-btc")
	if o.Kind != plan.Recreate || o.Err != nil || !strings.Contains(o.Reason, "image nectar-testbot:dev → nectar-testbot:other") ||
		!strings.Contains(o.Reason, "connector kucoin added") {
		t.Fatalf("%+v", o)
	}
	if other := outcome(t, res, "xemm-eth"); other.Kind != plan.None {
		t.Errorf("an unrelated bot was touched: %+v", other)
	}
	c, _ := h.container("pmm-btc")
	if c.Image != "nectar-testbot:other" || c.State != runtime.StateRunning {
		t.Errorf("%+v", c)
	}
	if h.rt.Len() != 2 {
		t.Errorf("%d containers, want 2 (no duplicate)", h.rt.Len())
	}
}

func TestOneFailureNeverBlocksAnother(t *testing.T) {
	h := newHarness(t)
	h.rt.Fail(fake.Create, 1, errors.New("engine hiccup"))
	res := h.pass()
	if len(res.Failed()) != 1 {
		t.Fatalf("failed %+v", res.Failed())
	}
	if h.rt.Len() != 1 {
		t.Fatalf("%d containers, want the other bot's", h.rt.Len())
	}
	// An engine hiccup may pass: the bot waits out a back-off, then is
	// tried again.
	failed := res.Failed()[0]
	if failed.Stalled || !failed.RetryAt.Equal(h.now.Add(plan.Backoff(1))) {
		t.Fatalf("the failure: stalled %v, retry at %s", failed.Stalled, failed.RetryAt)
	}
	if o := outcome(t, h.pass(), failed.Bot); o.Kind != plan.Wait || h.rt.Len() != 1 {
		t.Fatalf("at once: %s %q, %d containers", o.Kind, o.Reason, h.rt.Len())
	}
	h.now = failed.RetryAt
	res = h.pass()
	if len(res.Failed()) != 0 || h.rt.Len() != 2 {
		t.Fatalf("retry: %+v", res.Failed())
	}
}

// An engine error that quotes a bot's password or a connector secret, in
// any escaped form, reaches neither the outcome nor the log.
func TestEngineErrorsAreScrubbedOfSecrets(t *testing.T) {
	h := newHarness(t)
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.Load(root.FS(), fleet.Options{Identities: exampleIDs()})
	root.Close()
	acct := fl.Accounts["master_account"]
	pw := acct.Password.Reveal()
	key := acct.Credentials["binance"].Secrets[0].Value.Reveal()
	quoted := fmt.Sprintf("%q", "CONFIG_PASSWORD="+pw+"\x00")
	h.rt.Fail(fake.Start, 2, fmt.Errorf("runc refused %s; also %q", quoted, key))
	res := h.pass()
	failed := res.Failed()
	if len(failed) == 0 {
		t.Fatal("no action failed")
	}
	for _, o := range failed {
		msg := o.Err.Error()
		if strings.Contains(msg, pw) || strings.Contains(msg, key) {
			t.Errorf("%s: the error holds a secret: %s", o.Bot, msg)
		}
		if !strings.Contains(msg, "[redacted]") {
			t.Errorf("%s: nothing was masked: %s", o.Bot, msg)
		}
	}
}

func TestMissingImageStallsOnlyThatBot(t *testing.T) {
	h := newHarness(t)
	h.write("bots/xemm-eth.yml", "account: master_account\nconfig: conf_xemm_eth.yml\nimage: nowhere/bot:1\n")
	res := h.pass()
	o := outcome(t, res, "xemm-eth")
	if o.Err == nil || !o.Stalled || !strings.Contains(o.Err.Error(), "cannot find or pull image nowhere/bot:1") {
		t.Fatalf("%+v", o)
	}
	if c, ok := h.container("pmm-btc"); !ok || !c.Running() {
		t.Fatal("the other bot did not converge")
	}
}

func TestBrokenBotIsStalledOthersConvergeNothingPruned(t *testing.T) {
	h := newHarness(t)
	h.pass()
	h.write("bots/xemm-eth.yml", "account: master_account\nscrpt_config: x\nconfig: conf_xemm_eth.yml\n")
	h.write("bots/new-bot.yml", "account: team_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")
	res := h.pass()
	o := outcome(t, res, "xemm-eth")
	if o.Kind != plan.Stalled || !strings.Contains(o.Reason, `bots/xemm-eth.yml:2:1: unknown key "scrpt_config"`) {
		t.Fatalf("%+v", o)
	}
	if c, ok := h.container("xemm-eth"); !ok || !c.Running() {
		t.Fatal("the broken bot's container was disturbed")
	}
	if c, ok := h.container("new-bot"); !ok || !c.Running() {
		t.Fatal("the new bot did not converge")
	}
}

func TestSourceFailureChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.pass()
	h.write("bots/pmm-btc.yml", "")
	os.Remove(filepath.Join(h.dir, "bots/xemm-eth.yml"))
	h.write("nectar.yaml", "fleet: quickstart\nrecipients: [\n")
	h.rt.ResetLog()
	res := h.pass()
	// At most a read (the list for the last pass's fleet, made while the
	// source loads); never a change.
	if res.SourceOK || len(h.rt.Mutations()) != 0 {
		t.Fatalf("source failure changed the engine: %v", h.rt.Mutations())
	}
}

func TestPruneOnlyWhenSafe(t *testing.T) {
	h := newHarness(t)
	h.pass()
	os.Remove(filepath.Join(h.dir, "bots/xemm-eth.yml"))
	res := h.pass()
	if o := outcome(t, res, "xemm-eth"); o.Kind != plan.Remove || o.Err != nil {
		t.Fatalf("%+v", o)
	}
	if _, ok := h.container("xemm-eth"); ok {
		t.Fatal("not pruned")
	}
	if _, err := os.Stat(filepath.Join(h.state, "instances", "xemm-eth", "data")); err != nil {
		t.Fatal("the instance folder must stay")
	}
	// A source with no bot at all looks like a broken checkout.
	os.Remove(filepath.Join(h.dir, "bots/pmm-btc.yml"))
	os.Remove(filepath.Join(h.dir, "bots/hl-perp.yml"))
	res = h.pass()
	if o := outcome(t, res, "pmm-btc"); o.Kind != plan.Orphan {
		t.Fatalf("%+v", o)
	}
}

func TestOtherContainersAreNeverTouched(t *testing.T) {
	h := newHarness(t)
	other := h.rt.Seed(runtime.Container{Name: "hummingbot-stranger", Image: image, State: runtime.StateRunning,
		Labels: map[string]string{runtime.LabelFleet: "another", runtime.LabelBot: "stranger"}})
	bare := h.rt.Seed(runtime.Container{Name: "unlabelled", Image: image, State: runtime.StateRunning})
	h.pass()
	for _, c := range h.rt.Log() {
		if c.Arg == other || c.Arg == bare {
			t.Fatalf("touched a foreign container: %v", c)
		}
	}
}

func TestCrashLoop(t *testing.T) {
	h := newHarness(t)
	h.pass()
	c, _ := h.container("pmm-btc")
	var kinds []string
	for range 8 {
		h.rt.Exit(c.ID, 1)
		h.now = h.now.Add(40 * time.Second) // past every back-off up to the fifth start
		res := h.pass()
		kinds = append(kinds, string(outcome(t, res, "pmm-btc").Kind))
	}
	got := strings.Join(kinds, " ")
	// One start when created, then four more: the fifth exit is a loop.
	if !strings.HasPrefix(got, "start start start start crashloop") {
		t.Fatalf("kinds %s", got)
	}
	res := h.pass()
	if o := outcome(t, res, "pmm-btc"); o.Kind != plan.CrashLoop || !strings.Contains(o.Reason, "exited with code 1") {
		t.Fatalf("%+v", o)
	}
}

func TestBackoffBetweenStarts(t *testing.T) {
	h := newHarness(t)
	h.pass()
	c, _ := h.container("pmm-btc")
	h.rt.Exit(c.ID, 1)
	res := h.pass() // immediately after the first start
	if o := outcome(t, res, "pmm-btc"); o.Kind != plan.Wait {
		t.Fatalf("%+v", o)
	}
	h.now = h.now.Add(plan.Backoff(1))
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Start {
		t.Fatalf("%+v", o)
	}
}

func TestDriftOnDiskRestartsButConfClientDoesNot(t *testing.T) {
	h := newHarness(t)
	h.pass()
	inst := filepath.Join(h.state, "instances", "pmm-btc")
	// Hummingbot rewriting conf_client.yml is not drift.
	f, _ := os.OpenFile(filepath.Join(inst, "conf", "conf_client.yml"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("hummingbot_default: 1\n")
	f.Close()
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.None {
		t.Fatalf("conf_client.yml rewrite: %+v", o)
	}
	conn := filepath.Join(inst, "conf", "connectors", "binance.yml")
	os.WriteFile(conn, []byte("connector: binance\nbinance_api_key: tampered\n"), 0o600)
	h.rt.ResetLog()
	o := outcome(t, h.pass(), "pmm-btc")
	if o.Kind != plan.Restart || o.Err != nil || !strings.Contains(o.Reason, "conf/connectors/binance.yml changed on disk") {
		t.Fatalf("%+v", o)
	}
	data, _ := os.ReadFile(conn)
	if strings.Contains(string(data), "tampered") {
		t.Fatal("the file was not written again")
	}
	if h.rt.Count(fake.Stop) != 1 || h.rt.Count(fake.Start) != 1 || h.rt.Count(fake.Create) != 0 {
		t.Fatalf("restart calls: %v", h.rt.Log())
	}
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.None {
		t.Fatalf("after restart: %+v", o)
	}
}

func TestStoppedByHandIsStartedAndRemovedByHandIsRecreated(t *testing.T) {
	h := newHarness(t)
	h.pass()
	c, _ := h.container("pmm-btc")
	h.rt.Stop(context.Background(), c.ID, 0)
	h.now = h.now.Add(plan.Backoff(1)) // a start right after creation would back off
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Start || o.Err != nil {
		t.Fatalf("%+v", o)
	}
	c, _ = h.container("xemm-eth")
	h.rt.Delete(c.ID)
	if o := outcome(t, h.pass(), "xemm-eth"); o.Kind != plan.Create || o.Err != nil {
		t.Fatalf("%+v", o)
	}
}

func TestNameTakenByAForeignContainer(t *testing.T) {
	h := newHarness(t)
	stranger := h.rt.Seed(runtime.Container{Name: "hummingbot-pmm-btc", Image: image, State: runtime.StateRunning})
	res := h.pass()
	o := outcome(t, res, "pmm-btc")
	if o.Err == nil || !o.Stalled || !errors.Is(o.Err, runtime.ErrConflict) || !strings.Contains(strings.Join(hint.Of(o.Err), " "), "not nectar's") {
		t.Fatalf("%+v", o)
	}
	if c, ok := h.rt.Container(stranger); !ok || c.State != runtime.StateRunning {
		t.Fatal("the foreign container was touched")
	}
	if c, ok := h.container("xemm-eth"); !ok || !c.Running() {
		t.Fatal("the other bot did not converge")
	}
}

// TestRekeyAndRestartChangeNothing: re-encrypting every age file to the
// same recipients (what `nectar rekey` does) changes ciphertexts, not
// secrets, and a new nectar process starts with empty caches and a new
// keyring; neither is a reason to touch a bot or write a file.
func TestRekeyAndRestartChangeNothing(t *testing.T) {
	h := newHarness(t)
	if res := h.pass(); len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	files := stateFiles(t, h.state)

	recipients, err := secrets.ParseRecipients(exampleIDs().Recipients)
	if err != nil {
		t.Fatal(err)
	}
	rekeyed := 0
	filepath.WalkDir(h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".age") {
			return err
		}
		old, _ := os.ReadFile(p)
		plain, err := secrets.Decrypt(old, exampleIDs())
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := secrets.Encrypt(plain, recipients)
		if err != nil {
			t.Fatal(err)
		}
		rekeyed++
		return os.WriteFile(p, fresh, 0o600)
	})
	if rekeyed < 4 {
		t.Fatalf("re-encrypted only %d files", rekeyed)
	}

	// A new process: a new renderer (empty caches) and a new reconciler
	// (new keyring), on the same state folder and engine.
	rd, err := render.New(render.StateDirOptions(h.state))
	if err != nil {
		t.Fatal(err)
	}
	h.r = New(Options{Runtime: h.rt, Renderer: rd, StateDir: h.state, Identities: exampleIDs(), Now: func() time.Time { return h.now }})
	h.rt.ResetLog()
	h.now = h.now.Add(time.Minute)
	res := h.pass()
	if res.Pending() || res.Mutations != 0 || len(h.rt.Mutations()) != 0 {
		t.Fatalf("a rekey and a restart mutated: %v", h.rt.Mutations())
	}
	got := stateFiles(t, h.state)
	for p, m := range got {
		if !files[p].Equal(m) {
			t.Errorf("wrote %s", p)
		}
	}
	if len(got) != len(files) {
		t.Errorf("the file set changed: %d → %d", len(files), len(got))
	}
}

// TestEditsThatChangeNoBotRestartNone: edits that leave every bot's
// container and files as they were (comments, key order, the fleet's
// recipients and prune setting, another bot added) touch no running bot.
func TestEditsThatChangeNoBotRestartNone(t *testing.T) {
	edits := []struct {
		name string
		edit func(h *harness)
	}{
		{"comments and key order in a bot file", func(h *harness) {
			h.write("bots/xemm-eth.yml", "# reordered, same bot\nclient_config: {log_level: DEBUG}  # same\nenv: {LOG_LEVEL: DEBUG}\n"+
				"headless: true\nscript_config: conf_xemm_eth.yml\naccount: master_account\n")
		}},
		{"a recipient added and prune turned off", func(h *harness) {
			data, err := os.ReadFile(filepath.Join(h.dir, "nectar.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			s := strings.Replace(string(data), "recipients:\n", "recipients:\n  - age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n", 1)
			s = strings.Replace(s, "prune: true", "prune: false", 1)
			if s == string(data) {
				t.Fatal("nectar.yaml unchanged")
			}
			h.write("nectar.yaml", s)
		}},
		{"a bot added", func(h *harness) {
			h.write("bots/new-bot.yml", "account: team_account\nstate: stopped\n")
		}},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			h := newHarness(t)
			if res := h.pass(); len(res.Failed()) > 0 {
				t.Fatalf("failed: %+v", res.Failed())
			}
			before := map[string]string{}
			for _, bot := range []string{"pmm-btc", "xemm-eth"} {
				c, _ := h.container(bot)
				before[bot] = c.ID
			}
			e.edit(h)
			h.rt.ResetLog()
			h.now = h.now.Add(time.Minute)
			res := h.pass()
			if len(res.Loaded.Problems) > 0 {
				t.Fatalf("problems: %v", res.Loaded.Problems)
			}
			if m := h.rt.Mutations(); len(m) != 0 {
				t.Errorf("mutated: %v", m)
			}
			for bot, id := range before {
				if c, _ := h.container(bot); c.ID != id || c.State != runtime.StateRunning {
					t.Errorf("%s: %+v, was %s", bot, c, id)
				}
			}
		})
	}
}

// A classic bot on an image whose own command ignores SIGTERM is killed by
// a stop: the outcome says so, and where orders may remain.
func TestKilledStopIsReported(t *testing.T) {
	h := newHarness(t)
	h.rt.IgnoreTerm(image)
	h.write("bots/pmm-btc.yml", "account: master_account\nconnectors: [binance]\nlaunch: classic\nconfig: conf_pmm_btc.yml\n")
	if res := h.pass(); len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	h.write("bots/pmm-btc.yml", "account: master_account\nconnectors: [binance]\nlaunch: classic\nconfig: conf_pmm_btc.yml\nstate: stopped\n")
	plan := h.r.Plan(context.Background(), h.source())
	if o := outcome(t, plan, "pmm-btc"); !strings.Contains(o.Reason, "cannot be graceful") {
		t.Errorf("plan: %s", o)
	}
	o := outcome(t, h.pass(), "pmm-btc")
	if o.Err != nil || !strings.Contains(o.Killed, "open orders may remain on binance") || !strings.Contains(o.Killed, "launch: classic") {
		t.Fatalf("outcome %+v", o)
	}
	// The same bot run by hbot stops by itself: no kill reported.
	h.write("bots/xemm-eth.yml", "account: master_account\nconfig: conf_xemm_eth.yml\nstate: stopped\n")
	if o := outcome(t, h.pass(), "xemm-eth"); o.Err != nil || o.Killed != "" || strings.Contains(o.Reason, "graceful") {
		t.Fatalf("hbot bot: %+v", o)
	}
}

// countingRuntime holds every stop for a while and records how many of
// one account's bots were stopping at once.
type countingRuntime struct {
	*fake.Runtime
	hold    time.Duration
	mu      sync.Mutex
	now     map[string]int
	peak    map[string]int
	account map[string]string // container ID → account
}

func (c *countingRuntime) Stop(ctx context.Context, id string, timeout time.Duration) (runtime.Stopped, error) {
	c.mu.Lock()
	acct := c.account[id]
	c.now[acct]++
	c.peak[acct] = max(c.peak[acct], c.now[acct])
	c.mu.Unlock()
	time.Sleep(c.hold)
	c.mu.Lock()
	c.now[acct]--
	c.mu.Unlock()
	return c.Runtime.Stop(ctx, id, timeout)
}

// Recreates of many bots run at once, but never more of one account than
// max_parallel_restarts.
func TestStopsAreBoundedPerAccount(t *testing.T) {
	h := newHarness(t)
	for i := range 6 {
		h.write(fmt.Sprintf("bots/m%d.yml", i), "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")
		h.write(fmt.Sprintf("bots/t%d.yml", i), "account: team_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")
	}
	settings := filepath.Join(h.dir, "nectar.yaml")
	data, _ := os.ReadFile(settings)
	h.write("nectar.yaml", strings.Replace(string(data), "max_parallel_restarts: 4", "max_parallel_restarts: 2", 1))
	if res := h.pass(); len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	cr := &countingRuntime{Runtime: h.rt, hold: 50 * time.Millisecond, now: map[string]int{}, peak: map[string]int{}, account: map[string]string{}}
	cs, _ := h.rt.List(context.Background(), "quickstart")
	for _, c := range cs {
		cr.account[c.ID] = c.Labels[runtime.LabelAccount]
	}
	rd, err := render.New(render.StateDirOptions(h.state))
	if err != nil {
		t.Fatal(err)
	}
	h.r = New(Options{Runtime: cr, Renderer: rd, StateDir: h.state, Identities: exampleIDs(), Now: func() time.Time { return h.now }})
	// A fleet-wide change: every bot is recreated.
	data, _ = os.ReadFile(settings)
	h.write("nectar.yaml", strings.Replace(string(data), "TZ: UTC", "TZ: Europe/Zurich", 1))
	res := h.pass()
	if len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	for acct, peak := range cr.peak {
		if peak > 2 {
			t.Errorf("%d bots of account %q stopped at once, want at most 2", peak, acct)
		}
	}
	if cr.peak["master_account"] != 2 || cr.peak["team_account"] != 2 {
		t.Errorf("stops were not run in parallel: peaks %v", cr.peak)
	}
}

// A recreate makes the new container first, under a passing name, and
// renames it once the old one is gone. Cut short (nectar killed) between
// the two, the next pass mends either state: a spare new container beside
// the old one is removed, and a bot left with only the passing-named one
// is recreated under its own name.
func TestRecreateCutShortIsMended(t *testing.T) {
	h := newHarness(t)
	h.pass()
	own, _ := h.container("pmm-btc")
	spec, _ := h.rt.Spec(own.ID)
	spare := spec
	spare.Name = "hummingbot-pmm-btc-next-0badf00d"
	if _, err := h.rt.Create(context.Background(), spare); err != nil {
		t.Fatal(err)
	}
	o := outcome(t, h.pass(), "pmm-btc")
	cs, _ := h.rt.List(context.Background(), "quickstart")
	n := 0
	for _, c := range cs {
		if c.Bot() == "pmm-btc" {
			n++
			if c.ID != own.ID {
				t.Errorf("the bot's container changed: %+v", c)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d containers claim pmm-btc after the pass (%s)", n, o)
	}

	// Only the passing-named container is left.
	if _, err := h.rt.Create(context.Background(), spare); err != nil {
		t.Fatal(err)
	}
	h.rt.Stop(context.Background(), own.ID, 0)
	h.rt.Remove(context.Background(), own.ID)
	h.pass()
	c, ok := h.container("pmm-btc")
	if !ok || c.Name != "hummingbot-pmm-btc" || !c.Running() {
		t.Fatalf("after the pass: %+v", c)
	}
	if cs, _ := h.rt.List(context.Background(), "quickstart"); len(cs) != 2 {
		t.Errorf("%d containers, want the two bots' own", len(cs))
	}
}

// A config that needs a script neither the fleet nor the image has: the
// first pass, which reads the image as it renders, fails the bot's create
// before any container is made; the next pass knows the image and stalls
// every bot (the config is a file they all receive) without touching one;
// once the image under that name ships the script, the bot is created.
func TestImageNeedsCheckedBeforeAnythingStarts(t *testing.T) {
	h := newHarness(t)
	h.write("conf/scripts/conf_pmm_btc.yml", "script_file_name: v2_with_controllers.py\n")
	res := h.pass()
	o := outcome(t, res, "pmm-btc")
	if o.Err == nil || !strings.Contains(o.Err.Error(), "script_file_name names scripts/v2_with_controllers.py, which neither the fleet nor image") {
		t.Fatalf("first pass: %s err=%v", o.Kind, o.Err)
	}
	if _, ok := h.container("pmm-btc"); ok {
		t.Error("a container was made for a bot that would exit at start")
	}
	xemm, _ := h.container("xemm-eth")

	res = h.pass()
	for _, bot := range []string{"pmm-btc", "xemm-eth", "hl-perp"} {
		if o := outcome(t, res, bot); o.Kind != plan.Stalled {
			t.Errorf("second pass: %s %s (%s)", bot, o.Kind, o.Reason)
		}
	}
	if c, _ := h.container("xemm-eth"); c.ID != xemm.ID || !c.Running() {
		t.Errorf("xemm-eth was touched: %+v", c)
	}

	h.rt.SetImageFiles(image, map[string][]byte{"/home/hummingbot/scripts/v2_with_controllers.py": []byte("# loader\n")})
	res = h.pass()
	if o := outcome(t, res, "pmm-btc"); o.Kind != plan.Create || o.Err != nil {
		t.Errorf("with the script in the image: %s (%s) err=%v", o.Kind, o.Reason, o.Err)
	}
}
