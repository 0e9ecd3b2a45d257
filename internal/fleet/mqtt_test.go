package fleet

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// mqttFleet is baseFleet with an MQTT broker and gateway certificates
// set in nectar.yaml.
func mqttFleet(settings string) files {
	f := baseFleet()
	f["nectar.yaml"] += settings
	f["mqtt/password.age"] = "broker PASSWORD marker\n"
	return f
}

const mqttSettings = "mqtt:\n  host: 127.0.0.1\n  port: 1884\n  username: hbot\n  password_file: mqtt/password.age\n  tls: true\n" +
	"gateway_certs: /srv/hummingbot/certs\n"

func TestMQTTBridgeForEveryBot(t *testing.T) {
	dir := t.TempDir()
	f := mqttFleet(mqttSettings)
	// A bot may still set single keys of the bridge.
	f["bots/gamma.yml"] += "client_config:\n  mqtt_bridge: {mqtt_logger: false, mqtt_port: 1885}\n"
	f.write(t, dir)
	fl := loadDir(t, dir)
	if !fl.OK() {
		t.Fatalf("problems:\n%s", dump(fl.Problems))
	}
	m := fl.MQTT
	if m == nil || m.Host != "127.0.0.1" || m.Port != 1884 || m.Username != "hbot" || !m.TLS ||
		m.PasswordFile != "mqtt/password.age" || m.Password.Reveal() != "broker PASSWORD marker" {
		t.Fatalf("MQTT = %+v", m)
	}
	for name, b := range fl.Bots {
		bridge, _ := b.ClientConfig[MQTTBridgeKey].(map[string]any)
		pw, isSecret := bridge["mqtt_password"].(Secret)
		if !isSecret || pw.Reveal() != "broker PASSWORD marker" {
			t.Errorf("%s: mqtt_password is %T, want the decrypted password as a Secret", name, bridge["mqtt_password"])
		}
		wantPort := int64(1884)
		if name == "gamma" {
			wantPort = 1885
			if bridge["mqtt_logger"] != false {
				t.Errorf("gamma's own mqtt_logger was lost: %v", bridge)
			}
		}
		if bridge["mqtt_host"] != "127.0.0.1" || bridge["mqtt_port"] != wantPort || bridge["mqtt_username"] != "hbot" ||
			bridge["mqtt_ssl"] != true || bridge["mqtt_autostart"] != true || bridge["mqtt_namespace"] != "hbot" {
			t.Errorf("%s: mqtt_bridge = %v", name, bridge)
		}
		if s := fmt.Sprintf("%v %+v %#v", b, b, b.ClientConfig); strings.Contains(s, "PASSWORD marker") {
			t.Errorf("%s: the broker password prints: %s", name, s)
		}
		if !slices.Contains(fl.BotFiles(b), "mqtt/password.age") {
			t.Errorf("%s: BotFiles %q lacks the password file", name, fl.BotFiles(b))
		}
		if b.GatewayCerts != "/srv/hummingbot/certs" {
			t.Errorf("%s: GatewayCerts = %q", name, b.GatewayCerts)
		}
	}
	// The rest of defaults.client_config and the bot's own still apply.
	if a := fl.Bots["alpha"].ClientConfig; a["kill_switch_mode"] == nil || a["gateway"].(map[string]any)["gateway_api_port"] != "15999" {
		t.Errorf("alpha's client config = %v", a)
	}
}

func TestMQTTWithoutIdentities(t *testing.T) {
	dir := t.TempDir()
	mqttFleet(mqttSettings).write(t, dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fl := Load(root.FS(), Options{})
	if !fl.OK() {
		t.Fatalf("problems:\n%s", dump(fl.Problems))
	}
	if fl.MQTT == nil || fl.MQTT.Password != "" {
		t.Errorf("MQTT = %+v", fl.MQTT)
	}
}

func TestNoMQTT(t *testing.T) {
	dir := t.TempDir()
	baseFleet().write(t, dir)
	fl := loadDir(t, dir)
	if fl.MQTT != nil || fl.GatewayCerts != "" {
		t.Fatalf("MQTT = %+v, GatewayCerts = %q", fl.MQTT, fl.GatewayCerts)
	}
	for name, b := range fl.Bots {
		if _, ok := b.ClientConfig[MQTTBridgeKey]; ok {
			t.Errorf("%s has an mqtt_bridge without mqtt: in nectar.yaml", name)
		}
	}
}

func TestMQTTProblems(t *testing.T) {
	const secretish = "hunter2-secret"
	// The line of nectar.yaml's first mqtt: key, after baseFleet's lines.
	base := strings.Count(baseFleet()["nectar.yaml"], "\n") + 2
	tests := []struct {
		name     string
		settings string
		change   func(files)
		want     want
		// stalled lists the bots the problem keeps from being applied
		// (every bot when nil).
		stalled []string
	}{
		{name: "a URL as host", settings: "mqtt:\n  host: mqtt://broker:1883\n",
			want: want{file: SettingsFile, line: base, msg: "is a URL", hint: "mqtt.port"}},
		{name: "credentials in host", settings: "mqtt:\n  host: hbot:" + secretish + "@broker\n",
			want: want{file: SettingsFile, line: base, msg: "holds an @", hint: "mqtt.password_file"}},
		{name: "port in host", settings: "mqtt:\n  host: broker:1884\n",
			want: want{file: SettingsFile, line: base, msg: "holds a port", hint: "write host: broker and port: 1884"}},
		{name: "no host", settings: "mqtt:\n  port: 1883\n",
			want: want{file: SettingsFile, line: base, msg: `missing required key "host" under mqtt`}},
		{name: "port out of range", settings: "mqtt:\n  host: broker\n  port: 70000\n",
			want: want{file: SettingsFile, line: base + 1, msg: "mqtt.port"}},
		{name: "port as text", settings: "mqtt:\n  host: broker\n  port: \"1883\"\n",
			want: want{file: SettingsFile, line: base + 1, msg: "mqtt.port must be integer"}},
		{name: "a typo", settings: "mqtt:\n  host: broker\n  pasword_file: mqtt/password.age\n",
			want: want{file: SettingsFile, line: base + 1, msg: `unknown key "pasword_file" under mqtt`, hint: `did you mean "password_file"`}},
		{name: "the password itself", settings: "mqtt:\n  host: broker\n  password: " + secretish + "\n",
			want: want{file: SettingsFile, line: base + 1, msg: `unknown key "password" under mqtt`, hint: "password_file"}},
		{name: "tls as text", settings: "mqtt:\n  host: broker\n  tls: yes please\n",
			want: want{file: SettingsFile, line: base + 1, msg: "mqtt.tls must be boolean"}},
		{name: "password file outside the source", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: /etc/mqtt.age\n",
			want: want{file: SettingsFile, line: base + 2, msg: "not a path inside the fleet source", hint: "mqtt/password.age"}},
		{name: "password file through ..", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: mqtt/../../x.age\n",
			want: want{file: SettingsFile, line: base + 2, msg: "not a plain path"}},
		{name: "password file not age", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: mqtt/password.txt\n",
			want: want{file: SettingsFile, line: base + 2, msg: "not an age file"}},
		{name: "password file copied into bots", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: scripts/mqtt.age\n",
			want: want{file: SettingsFile, line: base + 2, msg: "copied into every bot"}},
		{name: "password file in accounts", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: accounts/mqtt.age\n",
			want: want{file: SettingsFile, line: base + 2, msg: "holds only account folders"}},
		{name: "password file missing", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: mqtt/other.age\n",
			want: want{file: SettingsFile, line: base + 2, msg: "mqtt/other.age: file not found", hint: "age -e"}},
		{name: "password without user name", settings: "mqtt:\n  host: broker\n  password_file: mqtt/password.age\n",
			want: want{file: SettingsFile, line: base + 1, msg: "without mqtt.username"}},
		{name: "password file not for us", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: mqtt/password.age\n",
			change: func(f files) { f["mqtt/password.age"] = "" },
			want:   want{file: "mqtt/password.age", msg: "the broker password is empty"}},
		{name: "password on two lines", settings: "mqtt:\n  host: broker\n  username: u\n  password_file: mqtt/password.age\n",
			change: func(f files) { f["mqtt/password.age"] = secretish + "\n" + secretish + "\n" },
			want:   want{file: "mqtt/password.age", msg: "spans several lines"}},
		{name: "plaintext password in defaults.client_config", settings: "",
			change: func(f files) {
				f["nectar.yaml"] += "    mqtt_bridge: {mqtt_host: broker, mqtt_password: " + secretish + "}\n"
			},
			want: want{file: SettingsFile, line: base - 1, msg: "client_config sets mqtt_bridge.mqtt_password", hint: "mqtt.password_file"}},
		{name: "plaintext password in a bot", settings: "",
			change: func(f files) {
				f["bots/gamma.yml"] += "client_config:\n  mqtt_bridge:\n    mqtt_password: " + secretish + "\n"
			},
			want:    want{file: "bots/gamma.yml", line: 7, msg: "client_config sets mqtt_bridge.mqtt_password"},
			stalled: []string{"gamma"}},
		{name: "relative certificates folder", settings: "gateway_certs: certs\n",
			want: want{file: SettingsFile, line: base - 1, msg: "not an absolute path", hint: "/srv/hummingbot/certs"}},
		{name: "certificates folder with a trailing slash", settings: "gateway_certs: /srv/certs/\n",
			want: want{file: SettingsFile, line: base - 1, msg: "not a plain absolute path", hint: "write it as /srv/certs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := mqttFleet(tt.settings)
			if tt.change != nil {
				tt.change(f)
			}
			dir := t.TempDir()
			f.write(t, dir)
			fl := loadDir(t, dir)
			if !hasProblem(fl.Problems, tt.want) {
				t.Errorf("missing problem %+v\ngot:\n%s", tt.want, dump(fl.Problems))
			}
			for _, p := range fl.Problems {
				if strings.Contains(p.String(), secretish) || strings.Contains(p.String(), "PASSWORD marker") {
					t.Errorf("a problem quotes a secret: %s", p)
				}
			}
			// Every bot waits: none may start with a bridge half set.
			for name := range fl.Bots {
				stalled := tt.stalled == nil || slices.Contains(tt.stalled, name)
				if got := len(fl.BotProblems(name)) > 0; got != stalled {
					t.Errorf("bot %s stalled = %v, want %v:\n%s", name, got, stalled, dump(fl.BotProblems(name)))
				}
			}
		})
	}
}
