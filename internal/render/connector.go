package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
)

// connField is one line of a connector file before encryption.
type connField struct {
	name   string
	secret bool
	// value is the formatted YAML value of a setting, or the plaintext of
	// a secret.
	value string
}

// connectorFields orders a credential's fields as the connector file lists
// them. For a connector in Hummingbot's table that is the table's order (so
// reordering lines in the credential changes nothing on disk); for others,
// secrets then settings, each as the credential lists them.
func connectorFields(cred *fleet.Credential) ([]connField, error) {
	spec, known := connector.Lookup(cred.Connector)
	var fields []connField
	for _, s := range cred.Secrets {
		if known && spec.FieldKind(s.Name) == connector.PlaintextSecretField {
			// Hummingbot types it as a secret but never decrypts it: it
			// must be in the file as written.
			v, err := yamlValue(s.Value.Reveal())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", s.Name, err)
			}
			fields = append(fields, connField{name: s.Name, value: v})
			continue
		}
		fields = append(fields, connField{name: s.Name, secret: true, value: s.Value.Reveal()})
	}
	for _, s := range cred.Settings {
		v, err := yamlValue(s.Value)
		if err != nil {
			return nil, fmt.Errorf("setting %s: %w", s.Name, err)
		}
		fields = append(fields, connField{name: s.Name, value: v})
	}
	seen := map[string]bool{"connector": true}
	for _, f := range fields {
		if seen[f.name] {
			return nil, fmt.Errorf("field %s appears twice (or is the reserved field connector)", f.name)
		}
		seen[f.name] = true
	}
	if known {
		order := spec.Fields()
		rank := func(name string) int {
			if i := slices.Index(order, name); i >= 0 {
				return i
			}
			return len(order)
		}
		slices.SortStableFunc(fields, func(a, b connField) int { return rank(a.name) - rank(b.name) })
	}
	return fields, nil
}

// connectorFile lays out conf/connectors/<connector>.yml as Hummingbot's
// save_to_yml does for a connector's config model: a banner of '#' around
// "###   <title> config   ###" (the title is the connector's name), a blank
// line, then each field as "name: value" with a blank line before it.
// encrypt turns a secret's plaintext into Hummingbot's encrypted value.
func connectorFile(name string, fields []connField, encrypt func(plaintext string) (string, error)) ([]byte, error) {
	var b strings.Builder
	title := "###   " + name + " config   ###"
	bar := strings.Repeat("#", len(title))
	b.WriteString(bar + "\n" + title + "\n" + bar + "\n")
	nameValue, err := yamlValue(name)
	if err != nil {
		return nil, err
	}
	b.WriteString("\nconnector: " + nameValue + "\n")
	for _, f := range fields {
		key, err := yamlValue(f.name)
		if err != nil {
			return nil, err
		}
		v := f.value
		if f.secret {
			if v, err = encrypt(f.value); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.name, err)
			}
		}
		b.WriteString("\n" + key + ": " + v + "\n")
	}
	return []byte(b.String()), nil
}
