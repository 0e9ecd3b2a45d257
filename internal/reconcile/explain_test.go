package reconcile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/plan"
)

const pmmBot = "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n"

// TestChangesAreNamed: a recreate says which variable, which setting and
// which file changed, and never a value of the environment.
func TestChangesAreNamed(t *testing.T) {
	h := newHarness(t)
	h.write("bots/pmm-btc.yml", pmmBot+"env: {API_TOKEN: hunter2-secret, TZ: UTC}\n")
	h.pass()
	h.write("bots/pmm-btc.yml", pmmBot+"env: {API_TOKEN: other-secret, TZ: UTC, EXTRA: one}\nstop_timeout: 30s\nnetwork: bridge\n")
	o := outcome(t, h.pass(), "pmm-btc")
	for _, want := range []string{"environment variable EXTRA added", "environment variable API_TOKEN changed",
		"network host → bridge", "stop timeout 1m30s → 30s"} {
		if o.Kind != plan.Recreate || !strings.Contains(o.Reason, want) {
			t.Errorf("%s %q lacks %q", o.Kind, o.Reason, want)
		}
	}
	for _, never := range []string{"secret", "hunter2", "one"} {
		if strings.Contains(o.Reason, never) {
			t.Errorf("reason %q shows a value (%q)", o.Reason, never)
		}
	}
	record, _ := os.ReadFile(filepath.Join(h.state, "applied", "pmm-btc.json"))
	if strings.Contains(string(record), "secret") {
		t.Errorf("the applied record holds an environment value:\n%s", record)
	}
	h.write("conf/scripts/conf_pmm_btc.yml", "script_file_name: quote_logger.py\nmarkets:\n  binance:\n    - ETH-USDT\n")
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Recreate || !strings.Contains(o.Reason, "conf/scripts/conf_pmm_btc.yml changed") {
		t.Errorf("%s %q", o.Kind, o.Reason)
	}
}

// TestOlderRecordStillExplains: a record written before nectar kept each
// variable and setting apart (two coarse parts, no settings) still gives
// a reason, and the next record is the new kind.
func TestOlderRecordStillExplains(t *testing.T) {
	h := newHarness(t)
	h.pass()
	path := filepath.Join(h.state, "applied", "pmm-btc.json")
	var a plan.Applied
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &a) != nil {
		t.Fatalf("no record: %v", err)
	}
	old := map[string]string{"environment": "e", "container settings": "s"}
	for k, v := range a.Parts {
		if k.Kind != plan.PartEnv && k.Kind != plan.PartSetting && k.Kind != plan.PartMount {
			old[k.String()] = v
		}
	}
	data, _ = json.Marshal(map[string]any{"Hash": a.Hash, "Image": a.Image, "Parts": old})
	os.WriteFile(path, data, 0o600)
	h.write("bots/pmm-btc.yml", pmmBot+"env: {EXTRA: one}\n")
	o := outcome(t, h.pass(), "pmm-btc")
	if o.Kind != plan.Recreate || !strings.Contains(o.Reason, "environment or settings changed (recorded by an older nectar") {
		t.Errorf("%s %q", o.Kind, o.Reason)
	}
	// A record that is not JSON at all is no record.
	os.WriteFile(path, []byte("{not json"), 0o600)
	h.write("bots/pmm-btc.yml", pmmBot+"env: {EXTRA: two}\n")
	if o := outcome(t, h.pass(), "pmm-btc"); o.Kind != plan.Recreate || o.Err != nil {
		t.Errorf("%s %q %v", o.Kind, o.Reason, o.Err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), `"env/EXTRA"`) || !strings.Contains(string(data), `"Settings"`) {
		t.Errorf("the new record is not the fine kind:\n%s", data)
	}
}

// TestRecordFormatReadsAcrossVersions: a record is JSON whose part keys
// are text, "kind" or "kind/name", as nectar has always written them. One
// written by hand in that form, as an older nectar left it in the state
// dir, still says which variable, setting, connector and file changed.
func TestRecordFormatReadsAcrossVersions(t *testing.T) {
	h := newHarness(t)
	h.write("bots/pmm-btc.yml", pmmBot+"env: {TZ: UTC}\n")
	h.pass()
	path := filepath.Join(h.state, "applied", "pmm-btc.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Read as plain JSON, the way the older nectar's own type read it:
	// every key is a string of the old form.
	var old struct {
		Hash, Image string
		Parts       map[string]string
		Settings    map[string]string
	}
	if err := json.Unmarshal(data, &old); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"image", "password", "client_config", "env/TZ", "setting/network", "credential/binance", "mount/" + hummingbotHome + "/conf"} {
		if _, ok := old.Parts[k]; !ok {
			t.Errorf("the record has no part %q: %v", k, old.Parts)
		}
	}
	// Written back from that type, field by field, the bytes an older
	// nectar would have left.
	data, _ = json.Marshal(old)
	os.WriteFile(path, data, 0o600)
	h.write("bots/pmm-btc.yml", pmmBot+"env: {TZ: Europe/Berlin}\nnetwork: bridge\n")
	o := outcome(t, h.pass(), "pmm-btc")
	for _, want := range []string{"environment variable TZ changed", "network host → bridge"} {
		if o.Kind != plan.Recreate || !strings.Contains(o.Reason, want) {
			t.Errorf("%s %q lacks %q", o.Kind, o.Reason, want)
		}
	}
}
