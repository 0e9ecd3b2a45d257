package hummingbot

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// CheckScriptConfig reports what keeps a V2 script config (conf/scripts/)
// from loading: Hummingbot reads script_file_name to find the script, and
// controllers_config (a list, or text of names separated by commas) for
// the controller configs it starts. Whether the files exist is the
// caller's to check, with ScriptFile and ControllerConfigs.
func CheckScriptConfig(m map[string]any) []Problem {
	var ps []Problem
	switch v := m["script_file_name"].(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			ps = append(ps, Problem{Path: []string{"script_file_name"}, What: "empty", Hint: "name the script in scripts/ the config runs, e.g. " + ControllerRunner()})
		} else if !strings.HasSuffix(v, ".py") || strings.Contains(v, "/") {
			ps = append(ps, Problem{Path: []string{"script_file_name"}, What: "not a file name of scripts/", Hint: "write the script's file name, e.g. " + ControllerRunner()})
		}
	case nil:
		ps = append(ps, Problem{Path: []string{"script_file_name"}, What: "missing", Hint: "Hummingbot finds the script to run through it, e.g. script_file_name: " + ControllerRunner()})
	default:
		ps = append(ps, Problem{Path: []string{"script_file_name"}, What: "wrong type: " + describeValue(v), Hint: "write the script's file name"})
	}
	switch v := m["controllers_config"].(type) {
	case nil, string:
	case []any:
		for i, x := range v {
			if s, ok := x.(string); !ok || strings.TrimSpace(s) == "" {
				ps = append(ps, Problem{Path: []string{"controllers_config", itoa(i)}, What: "not a file name", Hint: "name a controller config in conf/controllers/"})
			}
		}
	default:
		ps = append(ps, Problem{Path: []string{"controllers_config"}, What: "wrong type: " + describeValue(v), Hint: "write a list of controller config file names"})
	}
	return ps
}

// ScriptFile returns the script a V2 script config runs, as a path
// relative to Home ("scripts/v2_with_controllers.py"), or "" when it names
// none.
func ScriptFile(m map[string]any) string {
	s, _ := m["script_file_name"].(string)
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return load().Configs.Script.ScriptsDir + "/" + s
}

// ControllerConfigs returns the controller configs a V2 script config
// starts, as Hummingbot reads controllers_config: names relative to
// conf/controllers/.
func ControllerConfigs(m map[string]any) []string {
	var out []string
	switch v := m["controllers_config"].(type) {
	case string:
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// CheckControllerConfig reports what keeps a controller config
// (conf/controllers/) from loading: Hummingbot imports
// controllers/<controller_type>/<controller_name>.py from the two keys, both
// needed (controller_type has a default in the config class, but the
// loader reads the file's own key first), and the config class requires id.
func CheckControllerConfig(m map[string]any) []Problem {
	var ps []Problem
	for _, k := range []string{"id", "controller_name", "controller_type"} {
		switch v := m[k].(type) {
		case string:
			if strings.TrimSpace(v) == "" {
				ps = append(ps, Problem{Path: []string{k}, What: "empty"})
			} else if k != "id" && strings.ContainsAny(v, "/.\\") {
				ps = append(ps, Problem{Path: []string{k}, What: "not a module name", Hint: "controllers are found as controllers/<controller_type>/<controller_name>.py; write the names without / or .py"})
			}
		case nil:
			hint := "write the controller's " + k
			if k == "controller_type" {
				hint = "e.g. generic, market_making or directional_trading: the folder of controllers/ that holds the controller"
			}
			ps = append(ps, Problem{Path: []string{k}, What: "missing", Hint: hint})
		default:
			ps = append(ps, Problem{Path: []string{k}, What: "wrong type: " + describeValue(v), Hint: "write text (quote it if it looks like a number)"})
		}
	}
	return ps
}

// ControllerFile returns the module a controller config loads, relative to
// Home ("controllers/generic/pmm_v1.py"), or "" when the config does not
// name one.
func ControllerFile(m map[string]any) string {
	typ, _ := m["controller_type"].(string)
	name, _ := m["controller_name"].(string)
	if strings.TrimSpace(typ) == "" || strings.TrimSpace(name) == "" {
		return ""
	}
	return path.Join(load().Configs.Controller.Module, typ, name+".py")
}

// CheckStrategyConfig reports what keeps a V1 strategy config
// (conf/strategies/) from loading: its strategy: must name one of
// V1Strategies.
func CheckStrategyConfig(m map[string]any) []Problem {
	v, present := m["strategy"]
	s, isString := v.(string)
	switch {
	case !present || v == nil:
		return []Problem{{Path: []string{"strategy"}, What: "missing", Hint: "one of: " + strings.Join(V1Strategies(), ", ")}}
	case !isString:
		return []Problem{{Path: []string{"strategy"}, What: "wrong type: " + describeValue(v), Hint: "one of: " + strings.Join(V1Strategies(), ", ")}}
	case !slices.Contains(load().Configs.V1Strategies, s):
		return []Problem{{Path: []string{"strategy"}, What: "not a V1 strategy of Hummingbot " + Version, Hint: choiceHint(strings.TrimSpace(s), V1Strategies())}}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
