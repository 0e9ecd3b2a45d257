package render

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/fleet"
)

// hummingbotRewrite is conf_client.yml as Hummingbot leaves it after a
// start: comments, its defaults for every key, nectar's keys kept (10 now
// written as the decimal 10.0).
const hummingbotRewrite = `####################################
###   client_config_map config   ###
####################################

instance_id: hummingbot-alpha

# Fetch trading pairs from all exchanges if True, otherwise fetch only from connected exchanges.
fetch_pairs_from_all_exchanges: false

log_level: INFO

kill_switch_mode:
  kill_switch_rate: 10.0

autofill_import: disabled

mqtt_bridge:
  mqtt_host: localhost
  mqtt_port: 1883
`

func TestClientConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		onDisk    string                   // what is there before the second render ("" = leave it)
		config    map[string]any           // alpha's client_config for the second render
		rewritten bool                     // whether the second render writes the file
		want      map[string]any           // keys that must then hold these values
		gone      [][]string               // keys that must then be absent
		keep      map[string]any           // keys Hummingbot added that must survive
		check     func(*testing.T, string) // extra checks on the file
	}{
		{
			name:   "Hummingbot filled in defaults",
			onDisk: hummingbotRewrite,
			config: testFleet().Bots["alpha"].ClientConfig,
			keep:   map[string]any{"autofill_import": "disabled"},
		},
		{
			name:      "Hummingbot lost one of nectar's keys",
			onDisk:    "instance_id: hummingbot-alpha\nlog_level: INFO\nautofill_import: disabled\n",
			config:    testFleet().Bots["alpha"].ClientConfig,
			rewritten: true,
			want:      map[string]any{"kill_switch_mode": map[string]any{"kill_switch_rate": 10}},
			keep:      map[string]any{"autofill_import": "disabled"},
		},
		{
			name:      "someone changed nectar's value",
			onDisk:    "instance_id: somebody-else\nlog_level: DEBUG\nkill_switch_mode: {kill_switch_rate: 10}\nautofill_import: disabled\n",
			config:    testFleet().Bots["alpha"].ClientConfig,
			rewritten: true,
			want:      map[string]any{"instance_id": "hummingbot-alpha", "log_level": "INFO"},
			keep:      map[string]any{"autofill_import": "disabled"},
		},
		{
			name:      "the fleet sets a new nested key",
			onDisk:    hummingbotRewrite,
			config:    map[string]any{"log_level": "INFO", "kill_switch_mode": map[string]any{"kill_switch_rate": int64(10)}, "mqtt_bridge": map[string]any{"mqtt_port": int64(1884)}},
			rewritten: true,
			want:      map[string]any{"mqtt_bridge": map[string]any{"mqtt_host": "localhost", "mqtt_port": 1884}},
			check: func(t *testing.T, text string) {
				if !strings.Contains(text, "# Fetch trading pairs from all exchanges") {
					t.Error("Hummingbot's comments were lost")
				}
			},
		},
		{
			name:      "the fleet stops setting a key",
			onDisk:    hummingbotRewrite,
			config:    map[string]any{"log_level": "INFO"},
			rewritten: true,
			gone:      [][]string{{"kill_switch_mode"}},
			want:      map[string]any{"instance_id": "hummingbot-alpha"},
			keep:      map[string]any{"mqtt_bridge": map[string]any{"mqtt_host": "localhost", "mqtt_port": 1883}},
		},
		{
			name:      "file is not YAML any more",
			onDisk:    "{{{ not yaml",
			config:    testFleet().Bots["alpha"].ClientConfig,
			rewritten: true,
			want:      map[string]any{"instance_id": "hummingbot-alpha", "log_level": "INFO"},
		},
		{
			// A later key that is an alias of nectar's key shadows it: the
			// nodes look right, the file does not read right. Found by
			// FuzzOverlayClientConfig.
			name:      "an alias key shadows nectar's key",
			onDisk:    "&k instance_id: hummingbot-alpha\n*k : hummingbot-other\nlog_level: INFO\nkill_switch_mode: {kill_switch_rate: 10}\n",
			config:    testFleet().Bots["alpha"].ClientConfig,
			rewritten: true,
			want:      map[string]any{"instance_id": "hummingbot-alpha", "log_level": "INFO"},
		},
		{
			name:      "an alias key shadows a key nectar changes",
			onDisk:    "&k log_level: DEBUG\n*k : ERROR\ninstance_id: hummingbot-alpha\n",
			config:    testFleet().Bots["alpha"].ClientConfig,
			rewritten: true,
			want:      map[string]any{"instance_id": "hummingbot-alpha", "log_level": "INFO"},
		},
		{
			// A key that is not a string makes YAML decode the mapping as
			// map[any]any; nectar's keys in it still read as set.
			name:   "a number as a key beside nectar's nested key",
			onDisk: "instance_id: hummingbot-alpha\nlog_level: INFO\nkill_switch_mode: {kill_switch_rate: 10, 1: x}\nother: 1\n",
			config: testFleet().Bots["alpha"].ClientConfig,
			keep:   map[string]any{"other": 1},
		},
		{
			name:   "nothing changed",
			config: testFleet().Bots["alpha"].ClientConfig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, dir := newTestRenderer(t, nil)
			f := testFleet()
			mustRender(t, r, f, "alpha")
			p := filepath.Join(dir, "instances/alpha", ClientConfigFile)
			if tt.onDisk != "" {
				must(t, os.WriteFile(p, []byte(tt.onDisk), 0o600))
			}
			before := snapshot(t, filepath.Dir(p))
			f.Bots["alpha"].ClientConfig = tt.config
			res := mustRender(t, r, f, "alpha")
			if got := slices.Contains(res.Written, ClientConfigFile); got != tt.rewritten {
				t.Fatalf("conf_client.yml written = %v, want %v (Written %q)", got, tt.rewritten, res.Written)
			}
			if !tt.rewritten {
				if changed := changedEntries(before, snapshot(t, filepath.Dir(p))); len(changed) > 0 {
					t.Fatalf("conf/ changed: %q", changed)
				}
			}
			text := readFile(t, p)
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
				t.Fatalf("conf_client.yml does not parse: %v\n%s", err, text)
			}
			for k, v := range tt.want {
				if !sameValue(doc[k], v) {
					t.Errorf("%s = %#v, want %#v", k, doc[k], v)
				}
			}
			for k, v := range tt.keep {
				if !sameValue(doc[k], v) {
					t.Errorf("Hummingbot's %s = %#v, want %#v kept", k, doc[k], v)
				}
			}
			for _, g := range tt.gone {
				m := doc
				for _, k := range g[:len(g)-1] {
					m, _ = m[k].(map[string]any)
				}
				if _, ok := m[g[len(g)-1]]; ok {
					t.Errorf("%q is still set", g)
				}
			}
			if tt.check != nil {
				tt.check(t, text)
			}
			if res := mustRender(t, r, f, "alpha"); res.Changed() {
				t.Errorf("a third render changed %q", res.Written)
			}
		})
	}
}

func TestFreshClientConfig(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	mustRender(t, r, testFleet(), "beta")
	got := readFile(t, filepath.Join(dir, "instances/beta", ClientConfigFile))
	if want := "instance_id: hummingbot-beta\n"; got != want {
		t.Errorf("conf_client.yml = %q, want %q", got, want)
	}
	mustRender(t, r, testFleet(), "alpha")
	got = readFile(t, filepath.Join(dir, "instances/alpha", ClientConfigFile))
	want := "instance_id: hummingbot-alpha\nkill_switch_mode:\n  kill_switch_rate: 10\nlog_level: INFO\n"
	if got != want {
		t.Errorf("conf_client.yml = %q, want %q", got, want)
	}
}

// TestMQTTPasswordInClientConfig renders a bot whose client config holds
// the MQTT bridge as the loader builds it from nectar.yaml's mqtt: the
// broker password arrives hidden (a fleet.Secret) and is written in
// plaintext into conf_client.yml only, where Hummingbot reads it, in a
// file of mode 0600.
func TestMQTTPasswordInClientConfig(t *testing.T) {
	t.Parallel()
	const password = "mqtt-PASSWORD-marker"
	r, dir := newTestRenderer(t, nil)
	f := cloneFleet(testFleet())
	bridge := func(pw string) map[string]any {
		return map[string]any{
			"log_level": "INFO",
			"mqtt_bridge": map[string]any{
				"mqtt_host": "127.0.0.1", "mqtt_port": int64(1883), "mqtt_username": "hbot",
				"mqtt_password": fleet.Secret(pw), "mqtt_namespace": "hbot", "mqtt_ssl": false, "mqtt_autostart": true,
			},
		}
	}
	f.Bots["alpha"].ClientConfig = bridge(password)
	res := mustRender(t, r, f, "alpha")
	if !slices.Contains(res.Written, ClientConfigFile) {
		t.Fatalf("conf_client.yml not written: %q", res.Written)
	}
	p := filepath.Join(dir, "instances/alpha", ClientConfigFile)
	info, err := os.Stat(p)
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("conf_client.yml has mode %v, want 0600: it holds the broker password", info.Mode().Perm())
	}
	var doc struct {
		InstanceID string         `yaml:"instance_id"`
		Bridge     map[string]any `yaml:"mqtt_bridge"`
	}
	must(t, yaml.Unmarshal([]byte(readFile(t, p)), &doc))
	if doc.InstanceID != "hummingbot-alpha" {
		t.Errorf("instance_id = %q", doc.InstanceID)
	}
	if doc.Bridge["mqtt_password"] != password || doc.Bridge["mqtt_autostart"] != true || doc.Bridge["mqtt_host"] != "127.0.0.1" {
		t.Errorf("mqtt_bridge = %v", doc.Bridge)
	}
	// The bot's settings still hold the secret hidden, and print hidden.
	if _, ok := f.Bots["alpha"].ClientConfig["mqtt_bridge"].(map[string]any)["mqtt_password"].(fleet.Secret); !ok {
		t.Error("rendering changed the bot's client config in place")
	}
	if s := fmt.Sprintf("%v %+v %#v", f.Bots["alpha"], res, res); strings.Contains(s, password) {
		t.Error("the password prints from the bot or the result")
	}
	if res := mustRender(t, r, f, "alpha"); res.Changed() {
		t.Errorf("a second render changed %q", res.Written)
	}
	// A new password is a change of the file, with Hummingbot's rewrite of
	// it kept.
	appendTo(t, p, "autofill_import: disabled\n")
	f.Bots["alpha"].ClientConfig = bridge(password + "-2")
	if res := mustRender(t, r, f, "alpha"); !slices.Contains(res.Written, ClientConfigFile) {
		t.Fatalf("a new broker password did not rewrite conf_client.yml: %q", res.Written)
	}
	text := readFile(t, p)
	if !strings.Contains(text, "mqtt_password: "+password+"-2") || !strings.Contains(text, "autofill_import: disabled") {
		t.Errorf("conf_client.yml after a new password:\n%s", text)
	}
}
