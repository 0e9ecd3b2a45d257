package fleet

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/hummingbot"
)

// Checks of what Hummingbot itself loads at start, from the facts of the
// release nectar knows (package hummingbot): the client config it builds
// from conf_client.yml, the config a bot runs, and the files that config
// makes it import. A bot that passes them starts; one that does not would
// exit at start, so it stalls here instead, with the line to fix.

// A Need is a file a bot's config makes Hummingbot load from scripts/ or
// controllers/, which the fleet or the bot's image must provide.
type Need struct {
	// Path is relative to the instance folder, e.g. scripts/x.py or
	// controllers/generic/grid_strike.py.
	Path string
	// Where the config names it, and in what words.
	File         string
	Line, Column int
	Why          string
}

// Missing lists the bot's needs that neither the fleet nor the image
// provides, as problems of this bot alone. imageHas reports whether the
// bot's image ships a path (relative to Hummingbot's home).
func (b *Bot) Missing(fleetHas, imageHas func(path string) bool, image string) []Problem {
	var out []Problem
	for _, n := range b.Needs {
		if fleetHas(n.Path) || imageHas(n.Path) {
			continue
		}
		out = append(out, Problem{File: n.File, Line: n.Line, Column: n.Column,
			Message: fmt.Sprintf("%s, which neither the fleet nor image %s has: the bot would exit at start", n.Why, image),
			Hint:    "add " + n.Path + " to the fleet source, or fix the name"})
	}
	return out
}

// officialImage reports whether an image is Hummingbot's own, whose
// scripts and controllers nectar knows without Docker. Of another image
// (one built with the operator's own scripts, say) nothing is assumed
// offline; the engine's copy is checked before the bot starts.
func officialImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "library/")
	return repo == "hummingbot/hummingbot"
}

// checkClientConfig checks the bot's client config as Hummingbot will
// read it (nectar.yaml's defaults under the bot's own). A problem already
// reported for the defaults alone is not repeated for every bot.
func (c *botCheck) checkClientConfig(b *Bot, doc *document) {
	if b.ClientConfig == nil {
		return
	}
	for _, p := range hummingbot.CheckClientConfig(b.ClientConfig) {
		path := append([]string{"client_config"}, p.Path...)
		own := locate(doc.root, path, true)
		if found := own.Kind == yaml.ScalarNode && own.Value == path[len(path)-1]; !found {
			if slices.Contains(c.set.defaultCC, p.String()) {
				continue
			}
			own = locate(doc.root, []string{"client_config"}, true)
		}
		c.ps.add(b.File, own.Line, own.Column, clientConfigHint(p), "%s", clientConfigMessage(p))
	}
}

func clientConfigMessage(p hummingbot.Problem) string {
	return fmt.Sprintf("client_config %s: %s; Hummingbot %s refuses such a conf_client.yml and the bot exits at start",
		strings.Join(p.Path, "."), p.What, hummingbot.Version)
}

func clientConfigHint(p hummingbot.Problem) string {
	if p.Hint != "" {
		return p.Hint
	}
	return "see conf/conf_client.yml of a Hummingbot " + hummingbot.Version + " instance for its keys"
}

// checkConfig reads the config a bot runs as Hummingbot will, and lists
// what it makes Hummingbot load. Like any problem of a file every bot
// receives, a config's problem holds every bot: each bot's files would
// change, and a bot that does not run the config must not be restarted
// for it while it is broken.
func (c *botCheck) checkConfig(b *Bot) {
	switch b.ConfigKind {
	case ConfigScript:
		m, doc := c.readConfig(b, b.ConfigPath())
		if m == nil {
			return
		}
		c.configProblems(b, b.ConfigPath(), doc, hummingbot.CheckScriptConfig(m))
		if s := hummingbot.ScriptFile(m); s != "" {
			c.need(b, b.ConfigPath(), doc, []string{"script_file_name"}, s, "script_file_name names "+s)
		}
		for i, name := range hummingbot.ControllerConfigs(m) {
			p := ConfigController.Dir() + "/" + name
			if !c.src.regular[p] {
				n := locate(doc.root, []string{"controllers_config", fmt.Sprint(i)}, false)
				c.ps.list = append(c.ps.list, Problem{File: b.ConfigPath(), Line: n.Line, Column: n.Column,
					Message: fmt.Sprintf("controllers_config names %s, which is not in %s/ of the fleet: the bot would exit at start", name, ConfigController.Dir()),
					Hint:    "add conf/controllers/" + name + " to the fleet source, or fix the name"})
				continue
			}
			c.checkControllerConfig(b, p)
		}
	case ConfigController:
		// hbot runs a controller config through the image's runner script.
		runner := "scripts/" + hummingbot.ControllerRunner()
		line, col := c.configLine(b)
		b.Needs = append(b.Needs, Need{Path: runner, File: b.File, Line: line, Column: col,
			Why: "hbot runs controller config " + b.Config + " through " + runner})
		c.checkControllerConfig(b, b.ConfigPath())
	case ConfigStrategy:
		m, doc := c.readConfig(b, b.ConfigPath())
		if m == nil {
			return
		}
		c.configProblems(b, b.ConfigPath(), doc, hummingbot.CheckStrategyConfig(m))
	}
	if officialImage(b.Image) {
		fleetHas := func(p string) bool { return c.src.regular[p] }
		c.ps.list = append(c.ps.list, b.Missing(fleetHas, hummingbot.ImageHas, b.Image)...)
	}
}

func (c *botCheck) checkControllerConfig(b *Bot, p string) {
	m, doc := c.readConfig(b, p)
	if m == nil {
		return
	}
	c.configProblems(b, p, doc, hummingbot.CheckControllerConfig(m))
	if f := hummingbot.ControllerFile(m); f != "" {
		c.need(b, p, doc, []string{"controller_name"}, f, "controller_type and controller_name name "+f)
	}
}

// configLine is where the bot file names its config.
func (c *botCheck) configLine(b *Bot) (int, int) {
	data, err := readFile(c.fsys, b.File)
	if err != nil {
		return 0, 0
	}
	doc, err := parseYAML(data)
	if err != nil {
		return 0, 0
	}
	for _, k := range []string{"config", "script_config"} {
		if n := locate(doc.root, []string{k}, false); n != doc.root {
			return n.Line, n.Column
		}
	}
	return 0, 0
}

// readConfig is one config file as read: its mapping and document, nil
// when it could not be read as one (its problems reported once).
type readConfig struct {
	m   map[string]any
	doc *document
}

// readConfig parses a config of the fleet for one bot; nil when it cannot
// be read (its problem is then reported, for this bot).
func (c *botCheck) readConfig(b *Bot, p string) (map[string]any, *document) {
	if c, ok := c.configs[p]; ok {
		return c.m, c.doc
	}
	m, doc := c.parseConfig(p)
	if c.configs == nil {
		c.configs = map[string]readConfig{}
	}
	c.configs[p] = readConfig{m, doc}
	return m, doc
}

func (c *botCheck) parseConfig(p string) (map[string]any, *document) {
	data, err := readFile(c.fsys, p)
	if err != nil {
		c.ps.list = append(c.ps.list, Problem{File: p, Message: "cannot be read: " + err.Error(), Hint: "mend the file"})
		return nil, nil
	}
	doc, err := parseYAML(data)
	if err != nil {
		c.ps.yamlFailed(p, err, "")
		return nil, nil
	}
	m, ok := doc.value.(map[string]any)
	if !ok {
		c.ps.list = append(c.ps.list, Problem{File: p, Line: doc.root.Line, Column: doc.root.Column,
			Message: "not a mapping of keys: Hummingbot cannot load it", Hint: "write the config as key: value lines"})
		return nil, nil
	}
	return m, doc
}

func (c *botCheck) configProblems(b *Bot, p string, doc *document, found []hummingbot.Problem) {
	for _, q := range found {
		n := locate(doc.root, q.Path, true)
		c.ps.list = append(c.ps.list, Problem{File: p, Line: n.Line, Column: n.Column,
			Message: fmt.Sprintf("%s: %s; Hummingbot %s would not load this config", strings.Join(q.Path, "."), q.What, hummingbot.Version),
			Hint:    q.Hint})
	}
}

func (c *botCheck) need(b *Bot, p string, doc *document, key []string, path, why string) {
	n := locate(doc.root, key, false)
	b.Needs = append(b.Needs, Need{Path: path, File: p, Line: n.Line, Column: n.Column, Why: why})
}

// AddProblems adds problems found after loading (by a check that needs the
// engine, say) to the fleet's, leaving out any already there, and keeps
// them in order.
func (f *Fleet) AddProblems(ps ...Problem) {
	f.Problems = dedupe(append(f.Problems, ps...))
	sortProblems(f.Problems)
}
