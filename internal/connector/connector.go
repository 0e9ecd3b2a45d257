// Package connector knows the configuration fields of Hummingbot's exchange
// connectors: which ones Hummingbot encrypts (secrets), which it requires,
// and which it stores in plaintext. nectar uses it to catch credential files
// that Hummingbot would refuse at start, and to split imported files into
// secrets and settings.
//
// The table is taken from Hummingbot v2.16.0 (the classes derived from
// BaseConnectorConfigMap in hummingbot/connector/**/*_utils.py). Connectors
// that are not in the table are accepted as written.
package connector

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:embed hummingbot-v2.16.0.tsv
var table string

// HummingbotVersion is the Hummingbot release the field table describes.
const HummingbotVersion = "2.16.0"

// Spec lists the configuration fields of one Hummingbot connector.
type Spec struct {
	Name     string
	Secret   []string // fields Hummingbot keeps encrypted (SecretStr)
	Required []string // fields without a default; may be secret or plain
	Plain    []string // fields Hummingbot stores as plaintext

	types map[string]valueType // declared types of plain fields
}

// Kind tells how Hummingbot treats one field of a connector.
type Kind int

const (
	Unknown Kind = iota // not a field of this connector
	SecretField
	PlainField
)

// Field reports how Hummingbot treats field in this connector's file.
func (s Spec) Field(field string) Kind {
	switch {
	case slices.Contains(s.Secret, field):
		return SecretField
	case slices.Contains(s.Plain, field):
		return PlainField
	}
	return Unknown
}

// Fields returns every field name of the connector: secrets first, then
// plain fields, each in the table's order.
func (s Spec) Fields() []string {
	return append(slices.Clone(s.Secret), s.Plain...)
}

var (
	parseOnce sync.Once
	specs     map[string]Spec
	names     []string
)

// Lookup returns the field table of a known connector.
func Lookup(name string) (Spec, bool) {
	parseOnce.Do(parseTable)
	s, ok := specs[name]
	return s, ok
}

// Names returns the known connector names, sorted.
func Names() []string {
	parseOnce.Do(parseTable)
	return slices.Clone(names)
}

func parseTable() {
	var err error
	specs, err = parse(table)
	if err != nil {
		// The table is embedded at build time; a broken one is a bug that
		// the package's tests catch before any release.
		panic(err)
	}
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
}

// parse reads the tab-separated table: connector, secret fields, required
// fields, plain fields as "name:type=default" separated by ";", and the
// Hummingbot source file it came from.
func parse(text string) (map[string]Spec, error) {
	out := make(map[string]Spec)
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			return nil, fmt.Errorf("connector table line %d: %d columns, want 5", i+1, len(cols))
		}
		s := Spec{
			Name:     cols[0],
			Secret:   splitList(cols[1], ","),
			Required: splitList(cols[2], ","),
		}
		s.types = map[string]valueType{}
		for _, p := range splitList(cols[3], ";") {
			name, typ, _ := strings.Cut(p, ":")
			name = strings.TrimSpace(name)
			typ, _, _ = cutDefault(typ)
			s.Plain = append(s.Plain, name)
			s.types[name] = parseType(typ)
		}
		if _, dup := out[s.Name]; dup {
			return nil, fmt.Errorf("connector table line %d: %s listed twice", i+1, s.Name)
		}
		out[s.Name] = s
	}
	return out, nil
}

// cutDefault splits "type=default" at the "=" that ends the type, which
// is the first one outside brackets.
func cutDefault(s string) (typ, def string, found bool) {
	depth := 0
	for i, r := range s {
		switch r {
		case '[', '(', '{':
			depth++
		case ']', ')', '}':
			depth--
		case '=':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

func splitList(s, sep string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, sep)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
