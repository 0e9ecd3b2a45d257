package hummingbot

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nectarhq/nectar/internal/hint"
)

// CheckClientConfig reports what Hummingbot's loader would refuse in
// conf_client.yml holding m (as YAML decodes it: map[string]any, []any,
// string, int, int64, uint64, float64, bool, nil). Hummingbot builds its
// ClientConfigMap from the file: unknown keys are refused at every level,
// every value must read as its declared type in pydantic's lax mode (a
// port may be "8883", a flag "yes"), choices must be one of theirs. A mode
// field (kill_switch_mode, db_mode, anonymized_metrics_mode,
// rate_oracle_source) takes a model's title, or a mapping: for most, one
// that some model of the mode accepts (the first that does is used); for
// rate_oracle_source, a mapping whose name: is a title, its other keys
// unread. nectar writes instance_id itself; it is checked like the rest.
func CheckClientConfig(m map[string]any) []Problem {
	f := load()
	var ps []Problem
	checkModel(&ps, nil, f.ClientConfig.Root, m)
	return ps
}

func models() map[string]modelSpec { return load().ClientConfig.Models }

func checkModel(ps *[]Problem, path []string, name string, m map[string]any) {
	spec := models()[name]
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var names []string
	for _, f := range spec.Fields {
		names = append(names, f.Name)
	}
	for _, k := range keys {
		i := slices.IndexFunc(spec.Fields, func(f fieldSpec) bool { return f.Name == k })
		if i < 0 {
			if spec.Extra == "forbid" {
				*ps = append(*ps, Problem{Path: at(path, k), What: "unknown key", Hint: unknownHint(k, names, path)})
			}
			continue
		}
		checkField(ps, at(path, k), spec.Fields[i], m[k])
	}
	for _, f := range spec.Fields {
		if _, ok := m[f.Name]; !ok && f.Required {
			*ps = append(*ps, Problem{Path: at(path, f.Name), What: "missing", Hint: "required: " + words(f.Type)})
		}
	}
}

func at(path []string, k string) []string { return append(slices.Clone(path), k) }

func unknownHint(k string, names, path []string) string {
	if c := closest(k, names); c != "" {
		return "did you mean " + c + "?"
	}
	where := "the file"
	if len(path) > 0 {
		where = path[len(path)-1]
	}
	return "keys of " + where + ": " + strings.Join(names, ", ")
}

func checkField(ps *[]Problem, path []string, f fieldSpec, v any) {
	before := len(*ps)
	checkValue(ps, path, f.Type, v)
	if len(*ps) > before {
		return
	}
	if n, ok := number(v); ok && isNumeric(f.Type) {
		bound := func(ok bool, op string, b *float64) {
			if !ok {
				*ps = append(*ps, Problem{Path: path, What: fmt.Sprintf("must be %s %v", op, *b)})
			}
		}
		if f.GE != nil {
			bound(n >= *f.GE, "at least", f.GE)
		}
		if f.GT != nil {
			bound(n > *f.GT, "more than", f.GT)
		}
		if f.LE != nil {
			bound(n <= *f.LE, "at most", f.LE)
		}
		if f.LT != nil {
			bound(n < *f.LT, "less than", f.LT)
		}
	}
}

func isNumeric(t typeSpec) bool {
	if t.Kind == "optional" && t.Of != nil {
		return isNumeric(*t.Of)
	}
	return t.Kind == "int" || t.Kind == "float" || t.Kind == "decimal"
}

// checkValue holds v to t, the way pydantic's lax mode reads YAML values.
func checkValue(ps *[]Problem, path []string, t typeSpec, v any) {
	bad := func() {
		*ps = append(*ps, Problem{Path: path, What: "wrong type: " + describeValue(v), Hint: "write " + words(t)})
	}
	switch t.Kind {
	case "any":
	case "optional":
		if v != nil && t.Of != nil {
			checkValue(ps, path, *t.Of, v)
		}
	case "string", "secret":
		if _, ok := v.(string); !ok {
			bad()
		}
	case "int":
		if !isInt(v) {
			bad()
		}
	case "float":
		if _, ok := v.(bool); !ok {
			if _, ok := number(v); !ok {
				bad()
			}
		}
	case "decimal":
		if _, isBool := v.(bool); isBool {
			bad()
		} else if _, ok := number(v); !ok {
			bad()
		}
	case "bool":
		if !isBool(v) {
			bad()
		}
	case "choice":
		if !slices.ContainsFunc(t.Values, func(c any) bool { return c == v }) {
			bad()
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			bad()
			return
		}
		for i, x := range l {
			if t.Of != nil {
				checkValue(ps, at(path, strconv.Itoa(i)), *t.Of, x)
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad()
			return
		}
		for _, k := range sortedKeys(m) {
			if t.Of != nil {
				checkValue(ps, at(path, k), *t.Of, m[k])
			}
		}
	case "model":
		m, ok := v.(map[string]any)
		if !ok {
			bad()
			return
		}
		checkModel(ps, path, t.Model, m)
	case "mode":
		checkMode(ps, path, t, v)
	}
}

func checkMode(ps *[]Problem, path []string, t typeSpec, v any) {
	titles := make([]string, len(t.Models))
	byTitle := map[string]string{}
	for i, m := range t.Models {
		titles[i] = models()[m].Title
		byTitle[titles[i]] = m
	}
	switch v := v.(type) {
	case string:
		if _, ok := byTitle[v]; !ok {
			*ps = append(*ps, Problem{Path: path, What: "unknown mode", Hint: choiceHint(v, titles)})
		}
	case map[string]any:
		if t.Resolve == "name_key" {
			name, _ := v["name"].(string)
			if _, ok := byTitle[name]; !ok {
				*ps = append(*ps, Problem{Path: at(path, "name"), What: "must name one of the modes", Hint: choiceHint(name, titles)})
			}
			return
		}
		// The first model that takes the mapping is the one used.
		var first []Problem
		for _, m := range t.Models {
			var mine []Problem
			checkModel(&mine, path, m, v)
			if len(mine) == 0 {
				return
			}
			if first == nil {
				first = mine
			}
		}
		// No model takes it: report against the closest-looking model,
		// with every mode's keys in the hints.
		var all []string
		for _, m := range t.Models {
			for _, f := range models()[m].Fields {
				if !slices.Contains(all, f.Name) {
					all = append(all, f.Name)
				}
			}
		}
		for _, k := range sortedKeys(v) {
			if !slices.Contains(all, k) {
				*ps = append(*ps, Problem{Path: at(path, k), What: "unknown key in every mode (" + strings.Join(titles, ", ") + ")", Hint: unknownHint(k, all, path)})
				return
			}
		}
		*ps = append(*ps, first...)
	default:
		*ps = append(*ps, Problem{Path: path, What: "wrong type: " + describeValue(v), Hint: "write one of: " + strings.Join(titles, ", ") + ", or a mapping of one mode's keys"})
	}
}

func choiceHint(v string, titles []string) string {
	h := "one of: " + strings.Join(titles, ", ")
	if c := closest(v, titles); c != "" {
		h = "did you mean " + c + "? " + h
	}
	return h
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// number reads v as pydantic reads a float: a number, or text holding one.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	}
	return 0, false
}

// isInt reads v as pydantic's lax mode reads an int: whole numbers, a
// bool, a float with no fraction, text holding a whole number (even as
// "8883.0").
func isInt(v any) bool {
	switch v := v.(type) {
	case int, int64, uint64, bool:
		return true
	case float64:
		return v == math.Trunc(v) && !math.IsInf(v, 0)
	case string:
		s := strings.TrimSpace(v)
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return true
		}
		whole, frac, ok := strings.Cut(s, ".")
		if !ok || strings.Trim(frac, "0") != "" {
			return false
		}
		_, err := strconv.ParseInt(whole, 10, 64)
		return err == nil
	}
	return false
}

// boolWords are the texts pydantic reads as booleans.
var boolWords = []string{"0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"}

func isBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return true
	case int:
		return v == 0 || v == 1
	case int64:
		return v == 0 || v == 1
	case uint64:
		return v == 0 || v == 1
	case float64:
		return v == 0 || v == 1
	case string:
		return slices.Contains(boolWords, strings.ToLower(strings.TrimSpace(v)))
	}
	return false
}

// describeValue says what kind of value v is, never the value itself: a
// file nectar checks may hold a secret in the wrong place, and a problem
// travels to logs and the status page.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case string:
		return "text"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case bool:
		return "true or false"
	case float64:
		return "a number"
	}
	return "a whole number"
}

// words says what a type takes, for a hint.
func words(t typeSpec) string {
	switch t.Kind {
	case "string", "secret":
		return "text"
	case "int":
		return "a whole number"
	case "float", "decimal":
		return "a number"
	case "bool":
		return "true or false"
	case "choice":
		var vs []string
		for _, v := range t.Values {
			vs = append(vs, fmt.Sprint(v))
		}
		return "one of: " + strings.Join(vs, ", ")
	case "list":
		return "a list"
	case "map":
		return "a mapping"
	case "model":
		return "a mapping of " + models()[t.Model].Title + " keys"
	case "mode":
		return "a mode"
	case "optional":
		if t.Of != nil {
			return words(*t.Of) + ", or nothing"
		}
	}
	return "a value"
}

// closest returns the candidate a few edits away from name, or "".
func closest(name string, candidates []string) string {
	best, bestD := "", max(2, len(name)/3)+1
	for _, c := range candidates {
		if d := hint.Distance(strings.ToLower(name), c, false); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
