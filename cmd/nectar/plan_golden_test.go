package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/plan/*.golden from what nectar plan prints now")

// checkPlanGolden compares got with testdata/plan/name, or rewrites it
// with -update.
func checkPlanGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "plan", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/nectar -run TestPlanGolden -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs from what nectar plan prints now (if the change is meant, run go test ./cmd/nectar -run TestPlanGolden -update and review the diff)\n--- want\n%s--- got\n%s", file, want, got)
	}
}

// `nectar plan` prints, for a copy of the quickstart fleet, word for word
// what the golden files hold: before anything exists; with a bot whose
// account does not exist and one more bot; once applied; after edits that
// create, recreate, stop and remove; and after a shared script changed.
// The revisions printed are digests of the copy, so an edit to
// examples/quickstart means running this with -update too.
func TestPlanGolden(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-plangolden"
	testenv.RemoveFleet(t, fleetName)
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	dir := testenv.CopyExample(t, fleetName, "pg-")
	state := t.TempDir()
	t.Setenv("NECTAR_AGE_KEY_FILE", testenv.DemoIdentity())
	global := []string{"--source", dir, "--state-dir", state}
	write := func(rel, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(rel, old, new string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), old) {
			t.Fatalf("%s does not hold %q", rel, old)
		}
		write(rel, strings.Replace(string(data), old, new, 1))
	}
	plan := func(golden string) {
		t.Helper()
		code, out := nectarCode(t, append(global, "plan")...)
		if code != 0 {
			t.Fatalf("nectar plan exited %d:\n%s", code, out)
		}
		checkPlanGolden(t, golden, out)
	}

	// The test bot stops at once; a removal or recreation need not wait
	// the 90 s the example gives Hummingbot.
	edit("nectar.yaml", "stop_timeout: 90s", "stop_timeout: 5s")
	plan("fresh.golden")

	write("bots/pg-typo.yml", "account: master_acount\nconfig: conf_pmm_btc.yml\n")
	write("bots/pg-extra.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")
	plan("stalled.golden")

	apply := func() {
		t.Helper()
		if code, out := nectarCode(t, append(global, "apply")...); code != 0 {
			t.Fatalf("apply exited %d:\n%s", code, out)
		}
	}
	apply()
	plan("applied.golden")

	edit("bots/pg-xemm-eth.yml", "LOG_LEVEL: DEBUG", "LOG_LEVEL: INFO")
	edit("bots/pg-hl-perp.yml", "state: stopped", "state: running")
	write("bots/pg-pmm-btc.yml", "state: stopped\n"+fileText(t, filepath.Join(dir, "bots", "pg-pmm-btc.yml")))
	if err := os.Remove(filepath.Join(dir, "bots", "pg-extra.yml")); err != nil {
		t.Fatal(err)
	}
	plan("changed.golden")

	apply()
	edit("scripts/quote_logger.py", "\n", "\n# edited\n")
	plan("restart.golden")
}

// fileText returns the content of the file at p.
func fileText(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
