package manage

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/fleet"
)

// MarshalCredential writes a credential's plaintext in the form nectar
// keeps inside the age envelope: connector, then secrets, then settings,
// each in the given order. Secret values are always YAML strings.
func MarshalCredential(c *fleet.Credential) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	add("connector", &yaml.Node{Kind: yaml.ScalarNode, Value: c.Connector})
	if len(c.Secrets) > 0 {
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, s := range c.Secrets {
			m.Content = append(m.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: s.Name},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Value.Reveal()})
		}
		add("secrets", m)
	}
	if len(c.Settings) > 0 {
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, s := range c.Settings {
			var v yaml.Node
			if err := v.Encode(s.Value); err != nil {
				return nil, fmt.Errorf("setting %s: %w", s.Name, err)
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.Name}, &v)
		}
		add("settings", m)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
