// Package hummingbot holds facts about one Hummingbot release, generated
// by tools/hbfacts from its source and embedded as JSON: the fields of
// conf/conf_client.yml (ClientConfigMap), what a V2 script config, a
// controller config and a V1 strategy config must hold to be loadable, and
// the scripts and controllers the release's image ships. Its checks refuse
// what Hummingbot's own loaders refuse at start.
package hummingbot

import (
	_ "embed"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

//go:embed hummingbot-v2.16.0.json
var raw []byte

// Version is the Hummingbot release the facts describe.
const Version = "2.16.0"

// Home is where the image keeps Hummingbot; image paths are relative to it.
const Home = "/home/hummingbot"

// Problem is one thing Hummingbot would refuse in a config.
type Problem struct {
	Path []string // keys from the top of the file to the offending one; empty for the file itself
	What string   // what is wrong
	Hint string   // how to put it right: a close name, the allowed values; may be empty
}

func (p Problem) String() string {
	s := p.What
	if len(p.Path) > 0 {
		s = strings.Join(p.Path, ".") + ": " + s
	}
	if p.Hint != "" {
		s += " (" + p.Hint + ")"
	}
	return s
}

type typeSpec struct {
	Kind    string    `json:"kind"` // string int float decimal bool secret choice list map model mode optional any
	Of      *typeSpec `json:"of"`
	Values  []any     `json:"values"`
	Model   string    `json:"model"`
	Models  []string  `json:"models"`
	Resolve string    `json:"resolve"` // for mode: try_each or name_key
}

type fieldSpec struct {
	Name             string   `json:"name"`
	Type             typeSpec `json:"type"`
	Declared         string   `json:"declared"`
	Default          any      `json:"default"`
	DefaultGenerated bool     `json:"default_generated"`
	Required         bool     `json:"required"`
	Secure           bool     `json:"secure"`
	GE               *float64 `json:"ge"`
	GT               *float64 `json:"gt"`
	LE               *float64 `json:"le"`
	LT               *float64 `json:"lt"`
}

type modelSpec struct {
	Title  string      `json:"title"`
	Extra  string      `json:"extra"`
	Fields []fieldSpec `json:"fields"`
}

type simpleField struct {
	Name     string `json:"name"`
	Declared string `json:"declared"`
	Default  any    `json:"default"`
	Required bool   `json:"required"`
}

type facts struct {
	HummingbotVersion string `json:"hummingbot_version"`
	ClientConfig      struct {
		Root   string               `json:"root"`
		Models map[string]modelSpec `json:"models"`
	} `json:"client_config"`
	ClientConfigDefaults map[string]any `json:"client_config_defaults"`
	ClientConfigProbes   []struct {
		Name     string         `json:"name"`
		Config   map[string]any `json:"config"`
		Accepted bool           `json:"hummingbot_accepts"`
	} `json:"client_config_probes"`
	Configs struct {
		Script struct {
			Fields           []simpleField `json:"fields"`
			ScriptsDir       string        `json:"scripts_dir"`
			ControllerRunner string        `json:"controller_runner"`
		} `json:"script"`
		Controller struct {
			Fields []simpleField `json:"fields"`
			Module string        `json:"module"`
		} `json:"controller"`
		V1Strategies []string `json:"v1_strategies"`
	} `json:"configs"`
	Image struct {
		Home        string   `json:"home"`
		Scripts     []string `json:"scripts"`
		Controllers []string `json:"controllers"`
	} `json:"image"`
}

var load = sync.OnceValue(func() *facts {
	var f facts
	if err := json.Unmarshal(raw, &f); err != nil {
		// Embedded at build time: the package's tests catch a broken file.
		panic("hummingbot facts: " + err.Error())
	}
	return &f
})

// ImageScripts returns the files the image keeps in scripts/, as paths
// relative to Home ("scripts/v2_with_controllers.py"), sorted.
func ImageScripts() []string { return slices.Clone(load().Image.Scripts) }

// ImageControllers returns the files the image keeps in controllers/, as
// paths relative to Home ("controllers/generic/pmm_v1.py"), sorted.
func ImageControllers() []string { return slices.Clone(load().Image.Controllers) }

// ImageHas reports whether the image ships the file at path (relative to
// Home, as ImageScripts spells it).
func ImageHas(path string) bool {
	f := load()
	_, inScripts := slices.BinarySearch(f.Image.Scripts, path)
	_, inControllers := slices.BinarySearch(f.Image.Controllers, path)
	return inScripts || inControllers
}

// V1Strategies returns the strategy names a V1 strategy config may name
// in its strategy: key, sorted.
func V1Strategies() []string { return slices.Clone(load().Configs.V1Strategies) }

// ControllerRunner is the V2 script Hummingbot runs controller configs
// with (v2_with_controllers.py), relative to scripts/.
func ControllerRunner() string { return load().Configs.Script.ControllerRunner }

// ClientConfigDefaults returns conf_client.yml as Hummingbot writes it
// when every field has its default (instance_id, random in Hummingbot, is
// a fixed stand-in here). A fresh copy each call.
func ClientConfigDefaults() map[string]any {
	var out map[string]any
	b, _ := json.Marshal(load().ClientConfigDefaults)
	_ = json.Unmarshal(b, &out)
	return out
}

// ClientConfigFields returns the top-level keys conf_client.yml may hold,
// in Hummingbot's order.
func ClientConfigFields() []string {
	f := load()
	var out []string
	for _, fs := range f.ClientConfig.Models[f.ClientConfig.Root].Fields {
		out = append(out, fs.Name)
	}
	return out
}
