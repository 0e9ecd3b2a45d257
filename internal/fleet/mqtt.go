package fleet

import (
	"fmt"
	"io/fs"
	"net"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nectarhq/nectar/internal/secrets"
)

// Hummingbot's MQTT bridge, as nectar turns it on. Hummingbot's Dashboard
// and API listen under the hbot namespace only, so that is the one nectar
// writes; each bot publishes under hbot/<instance_id>/, and nectar sets
// instance_id to the container name.
const (
	DefaultMQTTPort = 1883
	mqttNamespace   = "hbot"
	// MQTTBridgeKey is the conf_client.yml section of the bridge.
	MQTTBridgeKey = "mqtt_bridge"
	// mqttPasswordKey is the bridge's password setting, which Hummingbot
	// keeps in plaintext in conf_client.yml.
	mqttPasswordKey = "mqtt_password"
)

// mqttYAML is nectar.yaml's mqtt: after schema validation.
type mqttYAML struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	TLS          bool   `yaml:"tls"`
}

// hummingbotSettingsYAML holds nectar.yaml's settings about Hummingbot's
// own services: the MQTT bridge and the gateway certificates.
type hummingbotSettingsYAML struct {
	MQTT         *mqttYAML `yaml:"mqtt"`
	GatewayCerts string    `yaml:"gateway_certs"`
}

// serviceSettings reads mqtt: and gateway_certs: from nectar.yaml (its
// schema has passed) and refuses a broker password written in plaintext
// under defaults.client_config.
func (c *settingsCheck) serviceSettings(doc *document) {
	checkClientConfigPassword(&c.ps, SettingsFile, doc, []string{"defaults", "client_config"})
	var y hummingbotSettingsYAML
	if err := doc.root.Decode(&y); err != nil {
		c.ps.yamlFailed(SettingsFile, err, "")
		return
	}
	if y.GatewayCerts != "" {
		c.gatewayCerts(doc, y.GatewayCerts)
		c.set.gatewayCerts = y.GatewayCerts
	}
	if y.MQTT == nil {
		return
	}
	at := func(key string) (int, int) {
		n := locate(doc.root, []string{"mqtt", key}, false)
		return n.Line, n.Column
	}
	m := &MQTT{Host: y.MQTT.Host, Port: y.MQTT.Port, Username: y.MQTT.Username, PasswordFile: y.MQTT.PasswordFile, TLS: y.MQTT.TLS}
	if m.Port == 0 {
		m.Port = DefaultMQTTPort
	}
	if msg, hint := hostProblem(m.Host); msg != "" {
		line, col := at("host")
		c.ps.add(SettingsFile, line, col, hint, "%s", msg)
	}
	if strings.ContainsFunc(m.Username, unicode.IsControl) {
		line, col := at("username")
		c.ps.add(SettingsFile, line, col, "write the user name on one line, without tabs or other invisible characters",
			"mqtt.username holds a control character")
	}
	if m.PasswordFile != "" {
		line, col := at("password_file")
		m.passwordAt = [2]int{line, col}
		if msg, hint := passwordFileProblem(m.PasswordFile); msg != "" {
			c.ps.add(SettingsFile, line, col, hint, "%s", msg)
			m.PasswordFile = "" // nothing to read; the problem already stops every bot
		}
		if m.Username == "" {
			c.ps.add(SettingsFile, line, col, "add mqtt.username: the broker account the password belongs to",
				"mqtt.password_file is set without mqtt.username: an MQTT client sends a password only with a user name")
		}
	}
	c.set.mqtt = m
}

// hostProblem says what is wrong with a broker host, with a hint; "" when
// it is a plain host name or address. A value that may hold credentials
// is never quoted.
func hostProblem(host string) (msg, hint string) {
	const alone = "write the host alone (e.g. 127.0.0.1 or broker.example.com): the port goes under mqtt.port, TLS under mqtt.tls"
	switch {
	case strings.Contains(host, "@"):
		return "mqtt.host holds an @, as a URL with a user name or password would (the value is not shown)",
			alone + ", the user name under mqtt.username and the password in mqtt.password_file"
	case strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "mqtt.host holds a blank or an invisible character", alone
	case strings.Contains(host, "://"):
		return fmt.Sprintf("mqtt.host %q is a URL, not a host", host), alone
	case strings.ContainsAny(host, "/?#"):
		return fmt.Sprintf("mqtt.host %q is not a host name or address", host), alone
	case strings.HasPrefix(host, "["):
		return fmt.Sprintf("mqtt.host %q is in brackets", host), "write an IPv6 address without brackets, e.g. ::1; the port goes under mqtt.port"
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		return fmt.Sprintf("mqtt.host %q holds a port", host), fmt.Sprintf("write host: %s and port: %s", h, port)
	}
	return "", ""
}

// passwordFileProblem checks where password_file points: a plain path of
// the source, outside the folders nectar reads as bots and accounts and
// outside those it copies into every bot.
func passwordFileProblem(p string) (msg, hint string) {
	const example = "e.g. password_file: mqtt/password.age, a path relative to the folder of nectar.yaml"
	switch {
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`):
		return fmt.Sprintf("mqtt.password_file %q is not a path inside the fleet source", p), example
	case path.Clean(p) != p || slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Sprintf("mqtt.password_file %q is not a plain path inside the fleet source", p), example + " (no ./, ../ or //)"
	case !strings.HasSuffix(p, ".age"):
		return fmt.Sprintf("mqtt.password_file %q is not an age file (.age)", p), "encrypt the password to the fleet's recipients with age; " + example
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return fmt.Sprintf("mqtt.password_file %q is hidden (a name starts with a dot), and nectar skips hidden files", p), example
		}
	}
	top, _, _ := strings.Cut(p, "/")
	switch top {
	case AccountsDir, BotsDir:
		return fmt.Sprintf("mqtt.password_file %q is in %s/, which holds only %s", p, top, map[string]string{AccountsDir: "account folders", BotsDir: "bot files"}[top]),
			"keep it in a folder of its own; " + example
	case ScriptsDir, ControllersDir, ConfDir:
		return fmt.Sprintf("mqtt.password_file %q is in %s/, which is copied into every bot", p, top),
			"keep it in a folder of its own; " + example
	}
	return "", ""
}

// gatewayCerts checks the certificates folder: an absolute, clean path on
// the Docker host (nectar cannot look there; the engine refuses a folder
// that is missing when it creates a bot).
func (c *settingsCheck) gatewayCerts(doc *document, p string) {
	n := locate(doc.root, []string{"gateway_certs"}, false)
	switch {
	case !strings.HasPrefix(p, "/"):
		c.ps.add(SettingsFile, n.Line, n.Column, "write the folder's absolute path on the Docker host, e.g. /srv/hummingbot/certs",
			"gateway_certs %q is not an absolute path", p)
	case path.Clean(p) != p || strings.ContainsFunc(p, unicode.IsControl):
		c.ps.add(SettingsFile, n.Line, n.Column, fmt.Sprintf("write it as %s", path.Clean(p)),
			"gateway_certs %q is not a plain absolute path (a trailing /, ./, ../ or //)", p)
	case p == "/":
		c.ps.add(SettingsFile, n.Line, n.Column, "name the folder that holds the certificates, e.g. /srv/hummingbot/certs",
			"gateway_certs is the root folder")
	}
}

// checkClientConfigPassword refuses the broker password written in a
// client_config: the source keeps it only age-encrypted.
func checkClientConfigPassword(ps *problems, file string, doc *document, at []string) {
	m := doc.value
	for _, k := range append(slices.Clone(at), MQTTBridgeKey) {
		sub, _ := m.(map[string]any)
		m = sub[k]
	}
	bridge, _ := m.(map[string]any)
	if v, ok := bridge[mqttPasswordKey]; !ok || v == nil || v == "" {
		return
	}
	n := locate(doc.root, append(slices.Clone(at), MQTTBridgeKey, mqttPasswordKey), true)
	ps.add(file, n.Line, n.Column,
		"remove it, put the password age-encrypted in the file nectar.yaml's mqtt.password_file names, and purge it from version control history",
		"client_config sets %s.%s: the broker password would sit in plaintext in the fleet source", MQTTBridgeKey, mqttPasswordKey)
}

// finishFleetWide finishes what nectar.yaml sets for every bot once the
// source has been walked and every bot read: it decrypts the broker
// password and gives each bot the bridge and the certificates folder.
func finishFleetWide(f *Fleet, src *inventory, ids *secrets.Identities) []Problem {
	var ps problems
	if m := f.MQTT; m != nil && m.PasswordFile != "" {
		loadMQTTPassword(f.FS, src, ids, m, &ps)
	}
	for _, b := range f.Bots {
		b.GatewayCerts = f.GatewayCerts
		if f.MQTT != nil {
			b.ClientConfig = mergeConfig(f.MQTT.clientConfig(), b.ClientConfig)
		}
	}
	return ps.list
}

func loadMQTTPassword(fsys fs.FS, src *inventory, ids *secrets.Identities, m *MQTT, ps *problems) {
	file := m.PasswordFile
	switch {
	case src.refused[file]:
		return // its own problem says why
	case !src.regular[file]:
		ps.add(SettingsFile, m.passwordAt[0], m.passwordAt[1],
			"write the broker password on one line, encrypted to nectar.yaml's recipients, e.g. `age -e -a -R recipients.txt -o "+file+"` (see README, MQTT)",
			"mqtt.password_file %s: file not found", file)
		return
	case ids == nil:
		return
	}
	plain, ok := decrypt(fsys, ids, file, ps)
	if !ok {
		return
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(plain), "\n"), "\r")
	if why := mqttPasswordProblem(pw); why != "" {
		ps.add(file, 0, 0, "encrypt the broker password alone, on one line, to nectar.yaml's recipients", "%s", why)
		return
	}
	m.Password = Secret(pw)
}

// mqttPasswordProblem says what makes pw unusable as the broker password,
// never quoting it; "" when it is fine.
func mqttPasswordProblem(pw string) string {
	switch {
	case pw == "":
		return "the broker password is empty"
	case strings.ContainsAny(pw, "\r\n"):
		return "the broker password spans several lines"
	case !utf8.ValidString(pw):
		return "the broker password is not valid UTF-8 text"
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "the broker password holds a control character (a NUL, a tab or another invisible byte)"
	}
	return ""
}

// clientConfig is the mqtt_bridge section nectar sets in every bot's
// conf_client.yml. The other switches of the bridge (logger, notifier,
// commands, events) keep Hummingbot's defaults, which are all on.
func (m *MQTT) clientConfig() map[string]any {
	var password any = ""
	if m.PasswordFile != "" {
		password = m.Password
	}
	return map[string]any{MQTTBridgeKey: map[string]any{
		"mqtt_host":      m.Host,
		"mqtt_port":      int64(m.Port),
		"mqtt_username":  m.Username,
		mqttPasswordKey:  password,
		"mqtt_namespace": mqttNamespace,
		"mqtt_ssl":       m.TLS,
		"mqtt_autostart": true,
	}}
}
