package connector

import (
	"math"
	"strconv"
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

// boolWords are the strings Hummingbot's configs read as yes or no
// (pydantic's lax booleans, which its validators also accept).
var boolWords = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "y": true, "n": true,
	"on": true, "off": true, "t": true, "f": true, "1": true, "0": true,
}

// CheckSetting tells whether Hummingbot would take value (as YAML decodes
// it: string, int64, float64, bool or nil) for the plain field, and if not,
// what it wants instead, in words ("yes or no", "one of: a, b"). The check
// is deliberately loose: it must never refuse what Hummingbot accepts, so
// choices match without regard to case or surrounding blanks, as some of
// Hummingbot's validators do.
func (s Spec) CheckSetting(field string, value any) (ok bool, want string) {
	vt, known := s.types[field]
	if !known || vt.kind == anyValue {
		return true, ""
	}
	if value == nil {
		return vt.optional, describe(vt)
	}
	switch vt.kind {
	case boolValue:
		switch v := value.(type) {
		case bool:
			return true, ""
		case int64:
			return v == 0 || v == 1, describe(vt)
		case string:
			return boolWords[strings.ToLower(strings.TrimSpace(v))], describe(vt)
		}
	case intValue:
		switch v := value.(type) {
		case int64:
			return true, ""
		case float64:
			return v == math.Trunc(v) && !math.IsInf(v, 0), describe(vt)
		case string:
			_, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return err == nil, describe(vt)
		}
	case choiceValue:
		if v, isString := value.(string); isString {
			for _, c := range vt.choices {
				if strings.EqualFold(strings.TrimSpace(v), c) {
					return true, ""
				}
			}
		}
	}
	return false, describe(vt)
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
