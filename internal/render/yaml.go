package render

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// yamlValue formats a connector setting as it goes after "field: " on one
// line. Scalars are written the way Hummingbot's own writer (PyYAML's
// safe_dump) would read them back with the same type: floats always carry a
// decimal point or exponent, and strings that would read as another type
// are quoted. Lists and mappings are written in flow style so the field
// still takes one line.
func yamlValue(v any) (string, error) {
	n, err := yamlNode(v)
	if err != nil {
		return "", err
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(s, "\n") {
		// yamlNode forces double quotes on every string with a line
		// break, so the encoder has no reason to use several lines.
		return "", fmt.Errorf("value does not fit on one line")
	}
	return s, nil
}

func yamlNode(v any) (*yaml.Node, error) {
	scalar := func(tag, value string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	}
	switch x := v.(type) {
	case nil:
		return scalar("!!null", "null"), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(x)), nil
	case int:
		return scalar("!!int", strconv.Itoa(x)), nil
	case int64:
		return scalar("!!int", strconv.FormatInt(x, 10)), nil
	case uint64:
		return scalar("!!int", strconv.FormatUint(x, 10)), nil
	case float64:
		return scalar("!!float", pythonFloat(x)), nil
	case string:
		// Encoding the Go string (rather than building the node by hand)
		// lets yaml.v3 quote what YAML 1.1 readers such as PyYAML would
		// take for another type: yes, on, 0777, 1:30.
		n := new(yaml.Node)
		if err := n.Encode(x); err != nil {
			return nil, err
		}
		if !printableLine(x) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, e := range x {
			en, err := yamlNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			vn, err := yamlNode(x[k])
			if err != nil {
				return nil, err
			}
			kn, _ := yamlNode(k)
			n.Content = append(n.Content, kn, vn)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// printableLine reports whether s can be written as a plain or single-quoted
// YAML scalar: one line of printable characters.
func printableLine(s string) bool {
	for _, r := range s {
		if r == '\t' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// pythonFloat formats f as Python's repr does, then as PyYAML adjusts it:
// fixed notation from 1e-4 up to 1e16, scientific notation outside, and
// always a '.' so that YAML reads the number back as a float.
func pythonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	abs := math.Abs(f)
	var s string
	if abs == 0 || (abs >= 1e-4 && abs < 1e16) {
		s = strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s = strconv.FormatFloat(f, 'e', -1, 64)
	if !strings.Contains(s, ".") {
		s = strings.Replace(s, "e", ".0e", 1)
	}
	return s
}
