package fleet

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/hummingbot"
	"github.com/nectarhq/nectar/internal/secrets"
)

// settings is what nectar.yaml sets, as its check found it: the fleet's
// own fields, and what the other checks need to know of it.
type settings struct {
	// ok is set once nectar.yaml has loaded: until then the defaults are
	// unknown, and a bot relying on them is not at fault.
	ok bool

	name                string
	recipients          []string
	prune               bool
	maxParallelRestarts int
	engine              string
	defaults            Defaults
	extraConnectors     []string
	mqtt                *MQTT
	gatewayCerts        string

	// extra holds extraConnectors as a set.
	extra map[string]bool
	// defaultCC holds the problems of defaults.client_config alone, so a
	// bot's merged config does not report them again.
	defaultCC []string
}

// applyTo sets the fleet's own fields.
func (s *settings) applyTo(f *Fleet) {
	f.Name, f.Recipients, f.Prune = s.name, s.recipients, s.prune
	f.MaxParallelRestarts, f.Engine = s.maxParallelRestarts, s.engine
	f.Defaults, f.ExtraConnectors = s.defaults, s.extraConnectors
	f.MQTT, f.GatewayCerts = s.mqtt, s.gatewayCerts
}

// admits reports whether a credential of a connector Hummingbot's table
// does not have may stand: one nectar.yaml lets through, or any while
// nectar.yaml is unknown (the source fails anyway).
func (s *settings) admits(conn string) bool { return !s.ok || s.extra[conn] }

// fleetYAML is nectar.yaml after schema validation.
type fleetYAML struct {
	Fleet      string   `yaml:"fleet"`
	Recipients []string `yaml:"recipients"`
	Prune      *bool    `yaml:"prune"`
	// MaxParallelRestarts is bounded by the schema.
	MaxParallelRestarts int      `yaml:"max_parallel_restarts"`
	ExtraConnectors     []string `yaml:"extra_connectors"`
	Engine              string   `yaml:"engine"`
	Defaults            struct {
		Image       string         `yaml:"image"`
		Network     string         `yaml:"network"`
		Restart     string         `yaml:"restart"`
		Env         map[string]any `yaml:"env"`
		Resources   resourcesYAML  `yaml:"resources"`
		Launch      string         `yaml:"launch"`
		StopTimeout string         `yaml:"stop_timeout"`
	} `yaml:"defaults"`
}

type resourcesYAML struct {
	CPUs   any    `yaml:"cpus"`
	Memory string `yaml:"memory"`
}

func (r resourcesYAML) resources() Resources {
	out := Resources{Memory: r.Memory}
	if r.CPUs != nil {
		out.CPUs = fmt.Sprint(r.CPUs)
	}
	return out
}

// checkSettings reads and checks nectar.yaml. What it cannot read is left
// at its default (prune on), with ok unset.
func checkSettings(fsys fs.FS) (*settings, []Problem) {
	c := settingsCheck{set: &settings{prune: true}}
	c.check(fsys)
	return c.set, c.ps.list
}

// settingsCheck is one check of nectar.yaml under way.
type settingsCheck struct {
	set *settings
	ps  problems
}

func (c *settingsCheck) check(fsys fs.FS) {
	s := c.set
	data, err := readFile(fsys, SettingsFile)
	if errors.Is(err, fs.ErrNotExist) {
		c.ps.add(SettingsFile, 0, 0, "run `nectar init` in the fleet folder, or point --source at the folder that holds nectar.yaml",
			"nectar.yaml not found: this is not a fleet source")
		return
	}
	if err != nil {
		c.ps.readFailed(SettingsFile, err)
		return
	}
	doc, err := parseYAML(data)
	if err != nil {
		c.ps.yamlFailed(SettingsFile, err, "")
		return
	}
	before := len(c.ps.list)
	validateSchema(&c.ps, SettingsFile, schemaFleet, doc, false)
	if len(c.ps.list) > before {
		return
	}
	var y fleetYAML
	if err := doc.root.Decode(&y); err != nil {
		c.ps.yamlFailed(SettingsFile, err, "")
		return
	}
	s.name, s.recipients = y.Fleet, y.Recipients
	if y.Prune != nil {
		s.prune = *y.Prune
	}
	for i, r := range y.Recipients {
		if _, err := secrets.ParseRecipients([]string{r}); err != nil {
			n := locate(doc.root, []string{"recipients", fmt.Sprint(i)}, false)
			why := ""
			var re *secrets.RecipientError
			if errors.As(err, &re) {
				why = ": " + re.Reason
			}
			c.ps.add(SettingsFile, n.Line, n.Column, "recipients are age public keys (age1...) or ssh-ed25519/ssh-rsa public keys; `nectar keygen` prints one",
				"recipient %d is not a valid age recipient%s", i+1, why)
		}
	}
	s.maxParallelRestarts = cmp.Or(y.MaxParallelRestarts, DefaultMaxParallelRestarts)
	s.engine = cmp.Or(y.Engine, EngineDocker)
	c.extraConnectors(doc, y.ExtraConnectors)
	d := &s.defaults
	d.Image, d.Network, d.Restart = y.Defaults.Image, y.Defaults.Network, y.Defaults.Restart
	d.Launch = cmp.Or(y.Defaults.Launch, LaunchHbot)
	d.StopTimeout = stopTimeout(&c.ps, SettingsFile, doc, []string{"defaults", "stop_timeout"}, y.Defaults.StopTimeout, DefaultStopTimeout)
	d.Env = envStrings(y.Defaults.Env)
	d.ClientConfig = mapAt(mapAt(doc.value, "defaults"), "client_config")
	c.clientConfigDefaults(doc, d.ClientConfig)
	d.Resources = y.Defaults.Resources.resources()
	checkEnv(&c.ps, SettingsFile, doc.root, []string{"defaults", "env"}, d.Env)
	c.serviceSettings(doc)
	s.ok = true
}

// extraConnectors reads extra_connectors: connectors from an image newer
// than the field table, which an operator lets through knowingly.
func (c *settingsCheck) extraConnectors(doc *document, names []string) {
	s := c.set
	s.extra = map[string]bool{}
	for i, name := range names {
		if _, known := connector.Lookup(name); known {
			n := locate(doc.root, []string{"extra_connectors", fmt.Sprint(i)}, false)
			c.ps.add(SettingsFile, n.Line, n.Column, "remove it from extra_connectors: nectar checks its fields against Hummingbot's own",
				"%s is a connector of Hummingbot %s, not an extra one", name, connector.HummingbotVersion)
			continue
		}
		s.extra[name] = true
		s.extraConnectors = append(s.extraConnectors, name)
	}
}

// clientConfigDefaults checks defaults.client_config on its own, once; a
// bot's merged config is checked with its bot.
func (c *settingsCheck) clientConfigDefaults(doc *document, m map[string]any) {
	if m == nil {
		return
	}
	at := []string{"defaults", "client_config"}
	for _, p := range hummingbot.CheckClientConfig(m) {
		c.set.defaultCC = append(c.set.defaultCC, p.String())
		n := locate(doc.root, append(slices.Clone(at), p.Path...), true)
		c.ps.add(SettingsFile, n.Line, n.Column, clientConfigHint(p), "%s", clientConfigMessage(p))
	}
}
