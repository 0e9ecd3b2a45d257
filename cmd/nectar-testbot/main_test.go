package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/secrets"
)

// renderExample renders one bot of the bundled example fleet, as nectar
// would before starting its container, and returns the instance folder
// and the account password.
func renderExample(t *testing.T, bot string) (string, string) {
	t.Helper()
	ids, err := secrets.LoadIdentities("../../examples/demo-identity.key")
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot("../../examples/quickstart")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fl := fleet.Load(root.FS(), fleet.Options{Identities: ids})
	if !fl.OK() {
		t.Fatalf("example fleet: %v", fl.Problems)
	}
	r, err := render.New(render.StateDirOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Render(fl, bot)
	if err != nil {
		t.Fatal(err)
	}
	return res.Dir, fl.Accounts[fl.Bots[bot].Account].Password.Reveal()
}

func TestStartAcceptsARenderedInstance(t *testing.T) {
	dir, password := renderExample(t, "xemm-eth")
	names, err := start(dir, password)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "binance,kucoin" {
		t.Errorf("connectors %v", names)
	}
	// Like Hummingbot, it adds its defaults to conf_client.yml and keeps
	// what nectar set.
	data, err := os.ReadFile(filepath.Join(dir, "conf", "conf_client.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["instance_id"] != "hummingbot-xemm-eth" || cfg["testbot_started"] != true || cfg["log_level"] != "DEBUG" {
		t.Errorf("conf_client.yml: %v", cfg)
	}
}

func TestStartRefusesWhatHummingbotWouldRefuse(t *testing.T) {
	tests := []struct {
		name     string
		password string
		mutate   func(t *testing.T, dir string)
		want     string
	}{
		{name: "no password", password: "", want: "CONFIG_PASSWORD is not set"},
		{name: "wrong password", password: "wrong", want: "does not match conf/.password_verification"},
		{name: "tampered secret", mutate: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "conf", "connectors", "binance.yml")
			data, _ := os.ReadFile(p)
			lines := strings.Split(string(data), "\n")
			for i, l := range lines {
				if v, ok := strings.CutPrefix(l, "binance_api_secret: "); ok {
					raw, _ := hex.DecodeString(v)
					// Change the first hex digit of the MAC.
					at := strings.Index(string(raw), `"mac": "`) + len(`"mac": "`)
					if raw[at] == '0' {
						raw[at] = '1'
					} else {
						raw[at] = '0'
					}
					lines[i] = "binance_api_secret: " + hex.EncodeToString(raw)
				}
			}
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600)
		}, want: "binance.yml: field binance_api_secret does not decrypt"},
		{name: "logs not mounted", mutate: func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "logs"))
		}, want: "logs/ is not mounted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, password := renderExample(t, "pmm-btc")
			if tt.password != "" || tt.name == "no password" {
				password = tt.password
			}
			if tt.mutate != nil {
				tt.mutate(t, dir)
			}
			_, err := start(dir, password)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
