package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/fake"
	"github.com/nectarhq/nectar/internal/secrets"
)

// newClusterHarness is the quickstart fleet on engine: swarm, the fake
// playing the cluster.
func newClusterHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.r.opts.Engine = fleet.EngineSwarm
	settings, err := os.ReadFile(filepath.Join(h.dir, fleet.SettingsFile))
	if err != nil {
		t.Fatal(err)
	}
	h.write(fleet.SettingsFile, string(settings)+"engine: swarm\n")
	return h
}

// writeCredential replaces a credential of a copy of the quickstart fleet
// in dir, encrypted to the fleet's recipient.
func writeCredential(t *testing.T, dir, account, connector, plain string) {
	t.Helper()
	rs, err := secrets.ParseRecipients([]string{"age1slaew53zglmjjns5jdm7mah5tajn0merg6pfwuznlhxe5pjdqyrsnkpw9p"})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := secrets.Encrypt([]byte(plain), rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts", account, connector+".yml.age"), ct, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestClusterBotsGetTheirFilesByContent(t *testing.T) {
	h := newClusterHarness(t)
	res := h.pass()
	if len(res.Failed()) > 0 || res.EngineErr != nil {
		t.Fatalf("pass failed: %v %+v", res.EngineErr, res.Failed())
	}
	c, ok := h.container("pmm-btc")
	if !ok || !c.Running() {
		t.Fatalf("pmm-btc not running: %+v", c)
	}
	spec, _ := h.rt.Spec(c.ID)

	// Nothing of the instance folder is bound; data/ and logs/ are volumes.
	var targets []string
	for _, m := range spec.Mounts {
		if filepath.IsAbs(m.Source) {
			t.Errorf("mount %s binds a folder of this host (%s): a cluster node cannot see it", m.Target, m.Source)
		}
		targets = append(targets, m.Target+"<-"+m.Source)
	}
	if want := []string{"/home/hummingbot/data<-hummingbot-pmm-btc-data", "/home/hummingbot/logs<-hummingbot-pmm-btc-logs"}; !slices.Equal(targets, want) {
		t.Errorf("mounts %v, want %v", targets, want)
	}
	// Credentials are secrets, everything else configs, conf_client.yml at
	// its seed path.
	files := map[string]runtime.File{}
	for _, f := range spec.Files {
		files[f.Target] = f
	}
	for target, secret := range map[string]bool{
		"/home/hummingbot/conf/connectors/binance.yml": true,
		"/home/hummingbot/conf/.password_verification": true,
		clientConfigSeed: false,
		"/home/hummingbot/conf/scripts/conf_pmm_btc.yml": false,
	} {
		f, ok := files[target]
		switch {
		case !ok:
			t.Errorf("no file at %s; files: %v", target, slices.Sorted(func(yield func(string) bool) {
				for k := range files {
					if !yield(k) {
						return
					}
				}
			}))
		case f.Secret != secret:
			t.Errorf("%s: secret %v, want %v", target, f.Secret, secret)
		case len(f.Data) == 0 || f.Digest == "":
			t.Errorf("%s: no content or digest", target)
		}
	}
	if _, ok := files["/home/hummingbot/conf/connectors/kucoin.yml"]; ok {
		t.Error("pmm-btc got kucoin's credential, which it does not use")
	}
	if !strings.Contains(string(files[clientConfigSeed].Data), "instance_id: hummingbot-pmm-btc") {
		t.Errorf("conf_client.yml lacks the instance id:\n%s", files[clientConfigSeed].Data)
	}
	// The command puts conf_client.yml where Hummingbot rewrites it, then
	// becomes hbot.
	want := []string{"/bin/bash", "-c", "cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start conf_pmm_btc.yml --v2-script --foreground"}
	if !slices.Equal(spec.Cmd, want) {
		t.Errorf("cmd %q, want %q", spec.Cmd, want)
	}
	// No credential was written to this host's disk.
	if _, err := os.Stat(filepath.Join(h.state, "instances", "pmm-btc", render.ConnectorsDir)); !os.IsNotExist(err) {
		t.Errorf("an instance folder was rendered on this host: %v", err)
	}

	h.rt.ResetLog()
	if res := h.pass(); len(h.rt.Mutations()) > 0 {
		t.Fatalf("a second pass changed the cluster: %v (%+v)", h.rt.Mutations(), res.Outcomes)
	}
}

func TestClusterCredentialChangeUpdatesOnlyItsBots(t *testing.T) {
	h := newClusterHarness(t)
	h.pass()
	before := map[string]runtime.Container{}
	for _, bot := range []string{"pmm-btc", "xemm-eth"} {
		before[bot], _ = h.container(bot)
	}
	oldSpec, _ := h.rt.Spec(before["pmm-btc"].ID)
	writeCredential(t, h.dir, "master_account", "kucoin", "connector: kucoin\nsecrets:\n  kucoin_api_key: rotated-key\n  kucoin_secret_key: rotated-secret\n  kucoin_passphrase: rotated-pass\n")
	h.rt.ResetLog()
	res := h.pass()
	if len(res.Failed()) > 0 {
		t.Fatalf("failed: %+v", res.Failed())
	}
	// xemm-eth uses kucoin: updated in place (same service), pmm-btc not.
	var updated []string
	for _, c := range h.rt.Mutations() {
		if c.Method != fake.Update {
			t.Errorf("unexpected %s", c)
			continue
		}
		updated = append(updated, c.Arg)
	}
	if !slices.Equal(updated, []string{before["xemm-eth"].ID}) {
		t.Fatalf("updated %v, want only xemm-eth's service %s", updated, before["xemm-eth"].ID)
	}
	if o := outcome(t, res, "xemm-eth"); o.Kind != plan.Recreate || !strings.Contains(o.Reason, "kucoin") {
		t.Errorf("xemm-eth: %s %q", o.Kind, o.Reason)
	}
	after, _ := h.container("xemm-eth")
	if after.ID != before["xemm-eth"].ID || !after.Running() {
		t.Errorf("xemm-eth after the update: %+v", after)
	}
	newSpec, _ := h.rt.Spec(after.ID)
	digest := func(s runtime.Spec, target string) string {
		for _, f := range s.Files {
			if f.Target == target {
				return f.Digest
			}
		}
		return ""
	}
	kucoin := "/home/hummingbot/conf/connectors/kucoin.yml"
	if digest(newSpec, kucoin) == "" {
		t.Fatal("the updated service has no kucoin file")
	}
	pmm, _ := h.rt.Spec(before["pmm-btc"].ID)
	if d := digest(pmm, "/home/hummingbot/conf/connectors/binance.yml"); d != digest(oldSpec, "/home/hummingbot/conf/connectors/binance.yml") {
		t.Error("pmm-btc's files changed although its credential did not")
	}
}

func TestClusterNodeDownIsReportedNotMoved(t *testing.T) {
	h := newClusterHarness(t)
	h.pass()
	c, _ := h.container("pmm-btc")
	h.rt.SetTask(c.ID, &runtime.Task{Node: "node3", NodeState: "down", State: "running"})
	h.rt.Exit(c.ID, 1)
	// A change that would otherwise update the bot.
	h.write("bots/pmm-btc.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv: {EXTRA: one}\n")
	h.rt.ResetLog()
	res := h.pass()
	o := outcome(t, res, "pmm-btc")
	if o.Kind != plan.Stalled || !strings.Contains(o.Reason, "node node3") || !strings.Contains(o.Reason, "down") {
		t.Fatalf("pmm-btc: %s %q, want stalled on its node", o.Kind, o.Reason)
	}
	for _, call := range h.rt.Mutations() {
		if call.Arg == c.ID {
			t.Errorf("acted on the bot whose node is down: %s", call)
		}
	}
	// Back up: the change goes through.
	h.rt.SetTask(c.ID, &runtime.Task{Node: "node3", NodeState: "ready", State: "failed"})
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Recreate || o.Err != nil {
		t.Fatalf("pmm-btc once its node is back: %s %v", o.Kind, o.Err)
	}
}

func TestClusterRefusesWhatItCannotRun(t *testing.T) {
	t.Run("classic launch", func(t *testing.T) {
		h := newClusterHarness(t)
		h.write("bots/pmm-btc.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nlaunch: classic\n")
		o := outcome(t, h.pass(), "pmm-btc")
		if o.Kind != plan.Stalled || !strings.Contains(o.Reason, "launch: hbot") {
			t.Fatalf("%s %q", o.Kind, o.Reason)
		}
	})
	t.Run("engine mismatch", func(t *testing.T) {
		h := newHarness(t) // a single engine
		settings, _ := os.ReadFile(filepath.Join(h.dir, fleet.SettingsFile))
		h.write(fleet.SettingsFile, string(settings)+"engine: swarm\n")
		res := h.pass()
		if res.EngineErr == nil || !strings.Contains(res.EngineErr.Error(), "engine: swarm") {
			t.Fatalf("engine error %v", res.EngineErr)
		}
		if n := len(h.rt.Mutations()); n > 0 {
			t.Fatalf("%d changes made on the wrong engine", n)
		}
	})
}

// The plan for a cluster costs no key derivation: nothing is built until
// a bot is created or updated.
func TestClusterPlanDerivesNothing(t *testing.T) {
	h := newClusterHarness(t)
	res := h.r.Plan(context.Background(), h.source())
	if res.EngineErr != nil || len(res.Outcomes) == 0 {
		t.Fatalf("plan: %v %+v", res.EngineErr, res.Outcomes)
	}
	if n := h.r.opts.Renderer.Derivations(); n != 0 {
		t.Fatalf("planning derived %d keys", n)
	}
}
