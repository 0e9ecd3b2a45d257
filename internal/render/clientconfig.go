package render

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"

	"github.com/nectarhq/nectar/internal/fleet"
	"gopkg.in/yaml.v3"
)

// Hummingbot rewrites conf/conf_client.yml on every start, filling in a
// default for every setting the file lacks. So nectar owns the keys it
// sets, not the file: it overlays those keys onto whatever the file holds
// and leaves everything else as Hummingbot wrote it. A key nectar set on an
// earlier render and no longer sets is deleted, so that Hummingbot falls
// back to its default instead of keeping a value nobody asked for any more
// (the three-way view: desired, on disk, and last applied).

// instanceIDKey is the conf_client.yml key that names a Hummingbot instance.
const instanceIDKey = "instance_id"

// clientConfig returns the keys nectar sets in conf_client.yml. A secret
// among them (the MQTT broker password, which Hummingbot reads in
// plaintext from this file) is revealed here, in a copy: the bot's own
// settings keep it hidden from anything that prints them.
func clientConfig(merged map[string]any, bot string) map[string]any {
	out := revealed(merged)
	out[instanceIDKey] = fleet.ContainerName(bot)
	return out
}

// revealed copies a client config with every fleet.Secret in it replaced
// by its plaintext, nested mappings and lists copied as well (never
// changed in place: bots share the fleet's maps).
func revealed(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = revealValue(v)
	}
	return out
}

func revealValue(v any) any {
	switch x := v.(type) {
	case fleet.Secret:
		return x.Reveal()
	case map[string]any:
		return revealed(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = revealValue(e)
		}
		return out
	}
	return v
}

// leafPaths lists the paths of the keys nectar owns in a client config:
// every key whose value is not a mapping. Each path is a list of keys from
// the top, so keys may hold dots.
func leafPaths(m map[string]any) [][]string {
	var out [][]string
	var walk func(prefix []string, m map[string]any)
	walk = func(prefix []string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := append(slices.Clone(prefix), k)
			if sub, ok := m[k].(map[string]any); ok {
				walk(p, sub)
				continue
			}
			out = append(out, p)
		}
	}
	walk(nil, m)
	return out
}

// encodeYAML writes a node as a block-style YAML document with two-space
// indentation, as Hummingbot's own files are indented.
func encodeYAML(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// canonicalConfig is the digest input for a client config: YAML with
// sorted keys, which is the same for equal configs.
func canonicalConfig(m map[string]any) ([]byte, error) {
	n, err := yamlNode(m)
	if err != nil {
		return nil, err
	}
	return encodeYAML(n)
}

// overlayClientConfig returns conf_client.yml with nectar's keys set to want
// and the keys in dropped (owned before, not any more) removed. existing is
// the file's current content, nil when there is none. changed is false when
// every key nectar owns already holds the value nectar wants, in which case
// the file must be left alone.
func overlayClientConfig(existing []byte, want map[string]any, dropped [][]string) (out []byte, changed bool, err error) {
	var doc yaml.Node
	root := (*yaml.Node)(nil)
	var asMap map[string]any
	// The node form keeps comments and order; the map form is how the
	// file is read in the end, and refuses what a node tolerates, such as
	// a key given twice.
	if existing != nil && yaml.Unmarshal(existing, &doc) == nil && yaml.Unmarshal(existing, &asMap) == nil &&
		doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		root = doc.Content[0]
	}
	// Start over: no file, an empty one, one that is not a mapping, or
	// one that cannot be read as one. Hummingbot fills in its defaults on
	// the next start.
	fresh := func() ([]byte, bool, error) {
		n, err := blockNode(want)
		if err != nil {
			return nil, false, err
		}
		out, err := encodeYAML(n)
		return out, true, err
	}
	if root == nil {
		return fresh()
	}
	for _, p := range dropped {
		if deletePath(root, p) {
			changed = true
		}
	}
	c, err := overlay(root, want)
	if err != nil {
		return nil, false, err
	}
	changed = changed || c
	if !changed {
		if !holdsAll(asMap, want) {
			// The nodes say nectar's values are there, but the file reads
			// otherwise: a later key shadows one of nectar's (an alias
			// used as a key, say). Only a fresh file is sure to read right.
			return fresh()
		}
		return existing, false, nil
	}
	if out, err = encodeYAML(&doc); err != nil {
		return nil, false, err
	}
	var reread map[string]any
	if yaml.Unmarshal(out, &reread) != nil || !holdsAll(reread, want) {
		return fresh()
	}
	return out, true, nil
}

// holdsAll reports whether m, a file as YAML decodes it, holds every key of
// want with want's value (as overlay compares them), nested mappings key by
// key as overlay sets them.
func holdsAll(m, want map[string]any) bool {
	for k, w := range want {
		have, ok := m[k]
		if sub, isMap := w.(map[string]any); isMap {
			if hm, ok := stringKeyed(have); ok {
				if !holdsAll(hm, sub) {
					return false
				}
				continue
			}
		}
		if !ok || !sameValue(have, w) {
			return false
		}
	}
	return true
}

// stringKeyed returns a decoded mapping with its keys as strings: YAML
// decodes a mapping with any key that is not a string (1: x) as
// map[any]any, and overlay matches keys by their text.
func stringKeyed(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
		return out, true
	}
	return nil, false
}

// overlay sets every key of want in the mapping node m, merging nested
// mappings key by key, and reports whether anything changed.
func overlay(m *yaml.Node, want map[string]any) (bool, error) {
	changed := false
	for _, k := range slices.Sorted(maps.Keys(want)) {
		v := want[k]
		i := findKey(m, k)
		if i < 0 {
			kn, _ := yamlNode(k)
			vn, err := blockNode(v)
			if err != nil {
				return false, err
			}
			m.Content = append(m.Content, kn, vn)
			changed = true
			continue
		}
		cur := m.Content[i+1]
		if sub, ok := v.(map[string]any); ok && cur.Kind == yaml.MappingNode {
			c, err := overlay(cur, sub)
			if err != nil {
				return false, err
			}
			changed = changed || c
			continue
		}
		var have any
		if cur.Decode(&have) == nil && sameValue(have, v) {
			continue
		}
		vn, err := blockNode(v)
		if err != nil {
			return false, err
		}
		m.Content[i+1] = vn
		changed = true
	}
	return changed, nil
}

// deletePath removes the key at path from the mapping node m, if present,
// and then every mapping the removal left empty: Hummingbot then writes its
// default for the whole setting rather than reading an empty one.
func deletePath(m *yaml.Node, path []string) bool {
	i := findKey(m, path[0])
	if i < 0 {
		return false
	}
	if len(path) > 1 {
		sub := m.Content[i+1]
		if sub.Kind != yaml.MappingNode || !deletePath(sub, path[1:]) {
			return false
		}
		if len(sub.Content) > 0 {
			return true
		}
	}
	m.Content = slices.Delete(m.Content, i, i+2)
	return true
}

// findKey returns the index of key's key node in the mapping node m, or -1.
func findKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i
		}
	}
	return -1
}

// blockNode is yamlNode with nested collections in block style, as they
// read best in a file of many settings.
func blockNode(v any) (*yaml.Node, error) {
	n, err := yamlNode(v)
	if err != nil {
		return nil, err
	}
	var unflow func(*yaml.Node)
	unflow = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		for _, c := range n.Content {
			unflow(c)
		}
	}
	unflow(n)
	return n, nil
}

// sameValue compares a value read from the file with the one nectar wants.
// Numbers compare by value: Hummingbot writes 10 as 10.0 when the setting
// is a decimal, and that is no reason to rewrite the file.
func sameValue(have, want any) bool {
	if a, ok := number(have); ok {
		b, ok := number(want)
		return ok && (a == b || (math.IsNaN(a) && math.IsNaN(b)))
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !sameValue(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(h[i], w[i]) {
				return false
			}
		}
		return true
	case string:
		h, ok := have.(string)
		return ok && h == w
	}
	return reflect.DeepEqual(have, want)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
