package fleet

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/hint"
)

// checkBots reads the bots the walk found, each with nectar.yaml's
// defaults applied, and checks that each can start: its account and
// connectors, its launch and the config it runs (hbchecks.go).
func checkBots(fsys fs.FS, src *inventory, set *settings, accounts map[string]*Account) (map[string]*Bot, []Problem) {
	c := &botCheck{fsys: fsys, src: src, set: set, accounts: accounts, bots: map[string]*Bot{}}
	c.check()
	return c.bots, c.ps.list
}

// botCheck is one check of a source's bots under way. What it reads of
// the other checks it never changes.
type botCheck struct {
	fsys     fs.FS
	src      *inventory
	set      *settings
	accounts map[string]*Account

	bots map[string]*Bot
	ps   problems
	// configs holds each config file read so far: many bots often run
	// the same one, which is read, parsed and reported once.
	configs map[string]readConfig
}

// botYAML is a bot file after schema validation.
type botYAML struct {
	Account      string         `yaml:"account"`
	State        string         `yaml:"state"`
	Hold         bool           `yaml:"hold"`
	Connectors   []string       `yaml:"connectors"`
	Image        string         `yaml:"image"`
	Config       string         `yaml:"config"`
	ScriptConfig string         `yaml:"script_config"`
	Script       string         `yaml:"script"`
	Launch       string         `yaml:"launch"`
	StopTimeout  string         `yaml:"stop_timeout"`
	Headless     bool           `yaml:"headless"`
	Env          map[string]any `yaml:"env"`
	Network      string         `yaml:"network"`
	Restart      string         `yaml:"restart"`
	Resources    *resourcesYAML `yaml:"resources"`
	Node         string         `yaml:"node"`
}

// check lists every bot the walk found, even one whose file is broken or
// refused (it is then Stalled, never taken for deleted), and reports bot
// names that differ only in letter case, which containers cannot tell
// apart on every system.
func (c *botCheck) check() {
	lower := map[string]string{}
	for _, file := range c.src.bots {
		name := strings.TrimSuffix(path.Base(file), BotSuffix)
		if other, dup := lower[strings.ToLower(name)]; dup {
			c.ps.add(file, 0, 0, "container names ignore case on some systems; rename one of them", "bot name differs from %s only in letter case", other)
		}
		lower[strings.ToLower(name)] = file
		// The bot is listed even when its file is broken, so that it is
		// reported Stalled and never mistaken for a deleted bot.
		b := &Bot{Name: name, File: file}
		c.bots[name] = b
		if !c.src.refused[file] {
			c.checkBot(b)
		}
	}
	// A bot whose name is not a valid name (say Alpha.yml) is not loaded,
	// but another bot that differs from it only in case should still hear
	// of the clash.
	for _, file := range c.src.botLike {
		name := strings.TrimSuffix(path.Base(file), BotSuffix)
		if ValidName(name) {
			continue
		}
		if other, dup := lower[strings.ToLower(name)]; dup {
			c.ps.add(file, 0, 0, "rename it in lower case, to a name no other bot has", "bot name differs from %s only in letter case", other)
		}
	}
}

// checkBot reads one bot file onto b: its own settings over nectar.yaml's
// defaults, then its account, connectors, launch and config.
func (c *botCheck) checkBot(b *Bot) {
	data, err := readFile(c.fsys, b.File)
	if err != nil {
		c.ps.readFailed(b.File, err)
		return
	}
	doc, err := parseYAML(data)
	if err != nil {
		c.ps.yamlFailed(b.File, err, "")
		return
	}
	// Read the account even from a file with other problems, so commands
	// such as `account delete` know which bots use an account.
	if m, ok := doc.value.(map[string]any); ok {
		b.Account, _ = m["account"].(string)
	}
	if !validateSchema(&c.ps, b.File, schemaBot, doc, false) {
		return
	}
	var y botYAML
	if err := doc.root.Decode(&y); err != nil {
		c.ps.yamlFailed(b.File, err, "")
		return
	}
	d := c.set.defaults
	b.Account, b.Hold, b.Headless = y.Account, y.Hold, y.Headless
	b.State = cmp.Or(y.State, StateRunning)
	b.Image = cmp.Or(y.Image, d.Image)
	b.Network = cmp.Or(y.Network, d.Network)
	b.Restart = cmp.Or(y.Restart, d.Restart)
	b.Launch = cmp.Or(y.Launch, d.Launch)
	b.Node = y.Node
	b.StopTimeout = stopTimeout(&c.ps, b.File, doc, []string{"stop_timeout"}, y.StopTimeout, d.StopTimeout)
	b.Resources = d.Resources
	if y.Resources != nil {
		r := y.Resources.resources()
		b.Resources = Resources{CPUs: cmp.Or(r.CPUs, d.Resources.CPUs), Memory: cmp.Or(r.Memory, d.Resources.Memory)}
	}
	b.Env = maps.Clone(d.Env)
	if b.Env == nil {
		b.Env = map[string]string{}
	}
	botEnv := envStrings(y.Env)
	maps.Copy(b.Env, botEnv)
	checkEnv(&c.ps, b.File, doc.root, []string{"env"}, botEnv)
	b.ClientConfig = mergeConfig(d.ClientConfig, mapAt(doc.value, "client_config"))
	checkClientConfigPassword(&c.ps, b.File, doc, []string{"client_config"})
	c.checkClientConfig(b, doc)

	at := func(key string) (int, int) {
		n := locate(doc.root, []string{key}, false)
		return n.Line, n.Column
	}
	if b.Image == "" && c.set.ok {
		line, col := at("account")
		c.ps.add(b.File, line, col, "set image: in the bot file, or defaults.image in nectar.yaml (e.g. hummingbot/hummingbot:2.16.0)", "no image for bot %s", b.Name)
	}
	acct, ok := c.accounts[b.Account]
	if !ok {
		line, col := at("account")
		c.ps.add(b.File, line, col, fmt.Sprintf("create it with `nectar account create %s`, or name one of: %s", b.Account, strings.Join(slices.Sorted(maps.Keys(c.accounts)), ", ")),
			"account %q does not exist (no folder accounts/%s)", b.Account, b.Account)
		return
	}
	if y.Connectors == nil {
		b.Connectors = slices.Clone(acct.Connectors)
		// The bot takes every connector of the account, and the account
		// holds a credential nectar cannot name: starting the bot without
		// it could drop a connector it runs with, so it waits.
		for _, bad := range c.src.misnamed[b.Account] {
			line, col := at("account")
			c.ps.add(b.File, line, col, "fix the file's name (see its own problem), or list this bot's connectors: explicitly",
				"account %s holds %s, which nectar cannot use; this bot takes all of the account's connectors", b.Account, bad)
		}
	} else {
		b.Connectors = slices.Clone(y.Connectors)
		slices.Sort(b.Connectors)
		for i, conn := range y.Connectors {
			if !slices.Contains(acct.Connectors, conn) {
				n := locate(doc.root, []string{"connectors", fmt.Sprint(i)}, false)
				c.ps.add(b.File, n.Line, n.Column, c.missingConnectorHint(b.Account, conn, acct.Connectors),
					"account %s has no credential for connector %s (no %s)", b.Account, conn, credentialPath(b.Account, conn))
			}
		}
	}
	c.checkLaunch(b, y, at)
}

// missingConnectorHint is the hint for a bot naming connector conn, which
// its account has no credential for. A name a typo away from one the account
// has is most likely that one misspelt; a name Hummingbot does not have
// is no use adding; otherwise the credential is what is missing.
func (c *botCheck) missingConnectorHint(account, conn string, has []string) string {
	add := fmt.Sprintf("add it with `nectar cred add %s %s`", account, conn)
	best, bestDist := "", max(2, len(conn)/4)+1
	for _, h := range has {
		d := hint.Distance(conn, h, false)
		if len(conn) >= 4 && strings.HasPrefix(h, conn) {
			d = min(d, bestDist-1) // cut short: hyperliquid_perp
		}
		if d < bestDist {
			best, bestDist = h, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s? account %s has a credential for it; if the bot needs %s as well, %s", best, account, conn, add)
	}
	if _, known := connector.Lookup(conn); !known && !c.set.extra[conn] {
		if close := connector.Suggest(conn); len(close) > 0 {
			return fmt.Sprintf("%s is not a connector of Hummingbot %s: did you mean %s?", conn, connector.HummingbotVersion, strings.Join(close, " or "))
		}
	}
	return add
}

// checkLaunch finds the config a bot runs and checks that its launch can
// run it, as hbot and Hummingbot's quickstart would at start.
func (c *botCheck) checkLaunch(b *Bot, y botYAML, at func(key string) (int, int)) {
	if b.Launch == LaunchHbot {
		if v, ok := hummingbotVersion(b.Image); ok && v.older(2, 16) {
			key := "launch"
			if y.Launch == "" {
				key = "account"
				if y.Image != "" {
					key = "image"
				}
			}
			line, col := at(key)
			c.ps.add(b.File, line, col,
				"set launch: classic for this image (its stops are kills: open orders may remain), or run hummingbot/hummingbot:version-2.16.0 or later",
				"image %s is Hummingbot %d.%d, which has no hbot launcher (2.16 and later): the bot would not start", b.Image, v.major, v.minor)
			return
		}
	}
	name, key := y.Config, "config"
	switch {
	case y.Script != "":
		line, col := at("script")
		c.ps.add(b.File, line, col,
			"name the script in a V2 script config (script_file_name: "+y.Script+" in conf/scripts/<name>.yml) and set config: <name>.yml",
			"script: is no longer used: Hummingbot 2.13 and later read CONFIG_FILE_NAME as a V1 strategy in conf/strategies/, so a script there makes the bot exit at start")
		return
	case y.Config != "" && y.ScriptConfig != "":
		line, col := at("script_config")
		c.ps.add(b.File, line, col, "keep config: and remove script_config: (its older name)", "config and script_config both set")
		return
	case y.ScriptConfig != "":
		name, key = y.ScriptConfig, "script_config"
	}
	if name == "" {
		// A stopped bot is never started, so it needs none until it is
		// set running again.
		if b.Launch == LaunchHbot && b.State == StateRunning {
			line, col := at("account")
			c.ps.add(b.File, line, col,
				"set config: to a file of conf/scripts/, conf/controllers/ or conf/strategies/; or launch: classic to start Hummingbot's own console (attach with `docker attach`)",
				"bot %s names no config: a bot launched with hbot runs one", b.Name)
		}
		return
	}
	line, col := at(key)
	var found []ConfigKind
	for _, d := range configDirs {
		if key == "script_config" && d.Kind != ConfigScript {
			continue
		}
		p := d.Dir + "/" + name
		if c.src.refused[p] {
			c.ps.add(b.File, line, col, "mend "+p+" (its own problem says how)", "config %s is refused", name)
			return
		}
		if c.src.regular[p] {
			found = append(found, d.Kind)
		}
	}
	switch {
	case len(found) == 0 && key == "script_config":
		c.ps.add(b.File, line, col, "script configs live in conf/scripts/ of the fleet source", "script config %s not found in %s/", name, ConfigScript.Dir())
		return
	case len(found) == 0:
		c.ps.add(b.File, line, col, "configs live in conf/scripts/ (V2 scripts), conf/controllers/ (controllers) or conf/strategies/ (V1 strategies) of the fleet source",
			"config %s not found in conf/scripts/, conf/controllers/ or conf/strategies/", name)
		return
	case len(found) > 1:
		var dirs []string
		for _, k := range found {
			dirs = append(dirs, k.Dir()+"/")
		}
		c.ps.add(b.File, line, col, "rename one of them: hbot finds a config by its file name alone",
			"config %s is in %s", name, strings.Join(dirs, " and "))
		return
	}
	b.Config, b.ConfigKind = name, found[0]
	c.checkConfig(b)
	switch b.Launch {
	case LaunchClassic:
		if b.ConfigKind == ConfigController {
			c.ps.add(b.File, line, col,
				"use launch: hbot, or write a V2 script config that loads it (script_file_name: v2_with_controllers.py, controllers_config: ["+name+"]) and name that",
				"launch: classic cannot run a controller config: Hummingbot's quickstart starts scripts and V1 strategies only")
		}
	case LaunchHbot:
		if b.ConfigKind != ConfigController {
			return
		}
		// hbot starts a controller through a script config it writes into
		// conf/scripts/, named after the controller config: a fleet config
		// of that name would be overwritten.
		if loader := ControllerLoader(name); c.src.regular[ConfigScript.Dir()+"/"+loader] {
			c.ps.add(b.File, line, col, "rename one of the two configs",
				"hbot writes the script config that starts controller config %s to conf/scripts/%s, which the fleet has too", name, loader)
		}
	}
}

// imageVersion is the major and minor version in an image's tag.
type imageVersion struct{ major, minor int }

func (v imageVersion) older(major, minor int) bool {
	return v.major < major || v.major == major && v.minor < minor
}

// versionTag matches the tags Hummingbot's images are published under:
// version-2.16.0, and plain 2.15.0 or v2.15.0.
var versionTag = regexp.MustCompile(`^(?:version-|v)?([0-9]+)\.([0-9]+)(?:[.-]|$)`)

// hummingbotVersion reads the release of a Hummingbot image from its tag;
// false for another image or a tag that names no version (latest, a
// digest, development).
func hummingbotVersion(image string) (imageVersion, bool) {
	repo, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	if !strings.Contains(repo, "hummingbot") || strings.Contains(repo, "@") {
		return imageVersion{}, false
	}
	m := versionTag.FindStringSubmatch(tag)
	if m == nil {
		return imageVersion{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return imageVersion{major, minor}, true
}

// ControllerLoader is the file name of the script config hbot writes into
// conf/scripts/ to start a controller config: the config's name with its
// extension off and dots made underscores, plus .yml.
func ControllerLoader(config string) string {
	stem := strings.TrimSuffix(strings.TrimSuffix(config, ".yml"), ".yaml")
	return strings.ReplaceAll(stem, ".", "_") + ".yml"
}
