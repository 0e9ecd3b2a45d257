package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// `nectar run` asks each running hbot bot for its own status and shows it:
// trading, not trading, erroring, on the page and in the JSON API.
func TestRunShowsBotHealth(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-health"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "hh-")
	state := t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	bots := map[string]string{
		// The stand-in logs two ERROR lines after start.
		"hh-pmm-btc": "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv: {TESTBOT_ERRORS: 2}\n",
		// Its strategy does not run.
		"hh-xemm-eth": "account: master_account\nconfig: conf_xemm_eth.yml\nenv: {TESTBOT_NOT_TRADING: 1}\n",
		"hh-hl-perp":  "account: team_account\nconfig: conf_perp_mm_hl.yml\n",
	}
	for bot, body := range bots {
		if err := os.WriteFile(filepath.Join(dir, "bots", bot+".yml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := startRun(t, []string{"NECTAR_AGE_KEY_FILE=" + testenv.DemoIdentity()},
		"--source", dir, "--state-dir", state, "run", "--listen", "127.0.0.1:0", "--health-every", "500ms")
	base := n.statusURL(t, 60*time.Second)
	out := n.out
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	want := map[string]string{"hh-pmm-btc": "erroring", "hh-xemm-eth": "not trading", "hh-hl-perp": "trading"}
	var got map[string]string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Bots []struct {
				Name      string `json:"name"`
				BotHealth *struct {
					State  string `json:"state"`
					Errors int    `json:"errors"`
				} `json:"bot_health"`
			} `json:"bots"`
		}
		got = map[string]string{}
		if json.Unmarshal([]byte(get("/api/v1/status")), &st) == nil {
			for _, b := range st.Bots {
				if b.BotHealth != nil {
					got[b.Name] = b.BotHealth.State
					if b.Name == "hh-pmm-btc" && b.BotHealth.State == "erroring" && b.BotHealth.Errors != 2 {
						t.Errorf("hh-pmm-btc reports %d errors, want 2", b.BotHealth.Errors)
					}
				}
			}
		}
		if len(got) == len(want) && got["hh-pmm-btc"] == want["hh-pmm-btc"] && got["hh-xemm-eth"] == want["hh-xemm-eth"] && got["hh-hl-perp"] == want["hh-hl-perp"] {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for bot, state := range want {
		if got[bot] != state {
			t.Errorf("%s: health %q, want %q; output:\n%s", bot, got[bot], state, out.String())
		}
	}
	page := get("/")
	for _, badge := range []string{`health-erroring" title=`, `health-not_trading" title=`, `health-trading" title=`} {
		if !strings.Contains(page, badge) {
			t.Errorf("the overview lacks %s", badge)
		}
	}
	if !strings.Contains(get("/metrics"), `nectar_bot_health{state="erroring"} 1`) {
		t.Error("the metrics lack the erroring bot")
	}
}
