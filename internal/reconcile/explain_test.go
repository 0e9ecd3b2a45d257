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
		if !strings.HasPrefix(k, "env/") && !strings.HasPrefix(k, "setting/") && !strings.HasPrefix(k, "mount/") {
			old[k] = v
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
