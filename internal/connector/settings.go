package connector

import (
	"math"
	"math/big"
	"strings"
)

// kindOfValue is how nectar checks a plain field's value: by the Python
// type Hummingbot's config class declares for it.
type kindOfValue int

const (
	anyValue    kindOfValue = iota // str, lists, maps, Hummingbot's own classes: not checked
	boolValue                      // bool
	intValue                       // int, Optional[int]
	choiceValue                    // Literal['a', 'b']
)

// valueType is the declared type of one plain field.
type valueType struct {
	kind     kindOfValue
	optional bool     // Optional[...]: null is allowed
	choices  []string // for choiceValue
	modes    []string // the models of a mode field ("mode[a|b]"), not checked here
}

// parseType reads the type column of the table ("bool", "Optional[int]",
// "Literal['arb_wallet', 'api_wallet']", ...). Types nectar does not check
// come back as anyValue.
func parseType(t string) valueType {
	t = strings.TrimSpace(t)
	var vt valueType
	if inner, ok := strings.CutPrefix(t, "Optional["); ok && strings.HasSuffix(inner, "]") {
		vt.optional = true
		t = strings.TrimSuffix(inner, "]")
	}
	switch {
	case strings.HasPrefix(t, "mode[") && strings.HasSuffix(t, "]"):
		vt.modes = strings.Split(strings.TrimSuffix(strings.TrimPrefix(t, "mode["), "]"), "|")
	case t == "bool":
		vt.kind = boolValue
	case t == "int":
		vt.kind = intValue
	case strings.HasPrefix(t, "Literal[") && strings.HasSuffix(t, "]"):
		for _, c := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(t, "Literal["), "]"), ",") {
			c = strings.TrimSpace(c)
			if len(c) < 2 || (c[0] != '\'' && c[0] != '"') || c[len(c)-1] != c[0] {
				return valueType{} // not a list of plain strings: leave it unchecked
			}
			vt.choices = append(vt.choices, c[1:len(c)-1])
		}
		vt.kind = choiceValue
	}
	return vt
}

// boolWords are the strings pydantic, which Hummingbot's config classes
// are built on, reads as booleans in its default (lax) mode, with the
// value each reads as.
var boolWords = map[string]bool{
	"true": true, "yes": true, "y": true, "on": true, "t": true, "1": true,
	"false": false, "no": false, "n": false, "off": false, "f": false, "0": false,
}

// asBool reads value as a yes/no answer the way pydantic's lax mode does.
func asBool(value any) (b, ok bool) {
	switch v := value.(type) {
	case bool:
		return v, true
	case int:
		return v == 1, v == 0 || v == 1
	case int64:
		return v == 1, v == 0 || v == 1
	case float64:
		return v == 1, v == 0 || v == 1
	case string:
		b, ok = boolWords[strings.ToLower(strings.TrimSpace(v))]
		return b, ok
	}
	return false, false
}

// asChoice returns the declared choice that value names, matched without
// regard to case or surrounding blanks, as some of Hummingbot's validators
// match.
func asChoice(vt valueType, value any) (string, bool) {
	if v, isString := value.(string); isString {
		for _, c := range vt.choices {
			if strings.EqualFold(strings.TrimSpace(v), c) {
				return c, true
			}
		}
	}
	return "", false
}

// CheckSetting tells whether value (as YAML decodes it: string, int,
// int64, float64, bool or nil) can be what Hummingbot wants for the plain
// field, and if not, says what it wants in words ("yes or no", "one of: a,
// b"). Hummingbot's connectors differ in how strictly they read a field
// (some add their own validators, most rely on pydantic's lax coercion), so
// the check takes the union of what any of them accepts: it refuses only a
// value no reading of the declared type could take, and never one that
// Hummingbot would run with. Choices match without regard to case or
// surrounding blanks, numbers may be written as text, an optional number
// may be left empty.
func (s Spec) CheckSetting(field string, value any) (ok bool, want string) {
	vt, known := s.types[field]
	if !known || vt.kind == anyValue {
		return true, ""
	}
	if str, isString := value.(string); isString && vt.optional && strings.TrimSpace(str) == "" {
		value = nil
	}
	if value == nil {
		return vt.optional, describe(vt)
	}
	switch vt.kind {
	case boolValue:
		_, ok = asBool(value)
	case intValue:
		switch v := value.(type) {
		case bool, int, int64:
			ok = true
		case float64:
			ok = !math.IsInf(v, 0) && !math.IsNaN(v)
		case string:
			ok = isNumber(v)
		}
	case choiceValue:
		_, ok = asChoice(vt, value)
	}
	if ok {
		return true, ""
	}
	return false, describe(vt)
}

// isNumber reports whether s reads as a number the way Python's int() and
// pydantic read one: blanks around it, digits grouped with "_", a decimal
// point, any size.
func isNumber(s string) bool {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "__") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
		return false
	}
	_, ok := new(big.Float).SetString(strings.ReplaceAll(s, "_", ""))
	return ok && !strings.ContainsAny(strings.ToLower(s), "infxp")
}

// Canonical returns value in the form every reader of the field accepts,
// for a value CheckSetting takes: true or false for a yes/no field, the
// choice exactly as declared for a choice field; anything else unchanged.
// Hummingbot's connectors differ in the spellings they take ("on" and 1 pass
// pydantic but not hyperliquid's own check), so what nectar writes from a
// prompt is spelled the one way all of them read.
func (s Spec) Canonical(field string, value any) any {
	vt := s.types[field]
	switch vt.kind {
	case boolValue:
		if b, ok := asBool(value); ok {
			return b
		}
	case choiceValue:
		if c, ok := asChoice(vt, value); ok {
			return c
		}
	}
	return value
}

// Expects says in words what the plain field takes ("yes or no", "one of:
// a, b"), or "" when nectar does not check it.
func (s Spec) Expects(field string) string {
	vt, known := s.types[field]
	if !known || vt.kind == anyValue {
		return ""
	}
	return describe(vt)
}

func describe(vt valueType) string {
	var w string
	switch vt.kind {
	case boolValue:
		w = "yes or no"
	case intValue:
		w = "a whole number"
	case choiceValue:
		w = "one of: " + strings.Join(vt.choices, ", ")
	}
	if vt.optional {
		w += ", or nothing"
	}
	return w
}
