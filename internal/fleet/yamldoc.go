package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// document is one parsed YAML file: its node tree (for line numbers) and
// the same data as plain Go values (for schema validation).
type document struct {
	root  *yaml.Node // the top-level value; a MappingNode unless the file is malformed
	value any
}

// maxNodes bounds the work of expanding aliases, so a small file cannot
// expand into a huge value ("billion laughs").
const maxNodes = 100_000

// errYAML is a problem with a YAML file, found while reading it, with its
// position.
type errYAML struct {
	line int
	col  int // 1-based; 0 when unknown
	msg  string
	hint string
	// ownWords marks a message written by nectar that quotes nothing of
	// the file, so it may be shown even for a decrypted credential.
	ownWords bool
}

func (e *errYAML) Error() string { return e.msg }

// parseYAML parses one YAML document. An empty file yields an empty mapping.
func parseYAML(data []byte) (*document, error) {
	if line := conflictMarker(data); line > 0 {
		// Checked first: the markers may even parse as YAML, and any
		// error the parser gives about them would only mislead.
		return nil, &errYAML{line: line, ownWords: true,
			msg:  "unresolved merge conflict: git left its <<<<<<< / ======= / >>>>>>> lines here",
			hint: "keep the side you want, delete the three marker lines, then commit the file again"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var file yaml.Node
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
			return &document{root: empty, value: map[string]any{}}, nil
		}
		return nil, syntaxError(err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(err, data)
		}
		return nil, &errYAML{line: extra.Line, msg: "more than one YAML document (a second '---'); a file holds exactly one"}
	}
	root := &file
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	budget := maxNodes
	v, err := toValue(root, &budget)
	if err != nil {
		return nil, err
	}
	return &document{root: root, value: v}, nil
}

// conflictMarker returns the line of the first merge-conflict marker git
// writes into a file (<<<<<<< ours, =======, >>>>>>> theirs), or 0. A
// marker is only counted when the file has an opening and a closing one,
// so a YAML value that happens to be "=======" is left alone.
func conflictMarker(data []byte) int {
	first, open, closed := 0, false, false
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case bytes.HasPrefix(line, []byte("<<<<<<<")):
			open = true
		case bytes.HasPrefix(line, []byte(">>>>>>>")):
			closed = true
		default:
			continue
		}
		if first == 0 {
			first = i + 1
		}
	}
	if open && closed {
		return first
	}
	return 0
}

// toValue converts a node into the values encoding/json would produce
// (map[string]any, []any, string, int64, float64, bool, nil), which is what
// the schema validator understands.
func toValue(n *yaml.Node, budget *int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, &errYAML{line: n.Line, msg: "document too large or too many aliases"}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toValue(n.Content[0], budget)
	case yaml.AliasNode:
		return toValue(n.Alias, budget)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toValue(c, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		firstAt := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &errYAML{line: k.Line, msg: "a mapping key must be a plain string"}
			}
			// yaml.v3 refuses a key given twice only when decoding into
			// Go values; in nodes (and so in nested maps such as
			// client_config) the last one would silently win.
			if line, dup := firstAt[k.Value]; dup {
				return nil, &errYAML{line: k.Line, msg: fmt.Sprintf("mapping key %q already defined at line %d; give each key once", k.Value, line)}
			}
			firstAt[k.Value] = k.Line
			if k.Tag == "!!merge" {
				return nil, &errYAML{line: k.Line, msg: "YAML merge keys ('<<') are not supported; write the keys out"}
			}
			if k.Value == "<<" {
				// Even quoted, "<<" is written back out as a merge key, so
				// a file nectar renders with it would never read the same.
				return nil, &errYAML{line: k.Line, msg: "'<<' cannot be a key: YAML takes it for a merge key; choose another name"}
			}
			v, err := toValue(vn, budget)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, &errYAML{line: n.Line, msg: "unsupported YAML node"}
}

func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	}
	return n.Value
}

// locate finds the node at a JSON-pointer-like path of keys and indexes.
// With wantKey, for a path ending in a mapping key, it returns the key node
// instead of the value, which is where "unknown key" belongs. When the path
// does not fully exist it returns the deepest node found.
func locate(root *yaml.Node, path []string, wantKey bool) *yaml.Node {
	n := root
	for i, p := range path {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		last := i == len(path)-1
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == p {
					if last && wantKey {
						return n.Content[j]
					}
					n, found = n.Content[j+1], true
					break
				}
			}
			if !found {
				return n
			}
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return n
			}
			n = n.Content[idx]
		default:
			return n
		}
	}
	return n
}

// mapPairs returns a mapping node's key/value pairs in file order.
func mapPairs(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

// emptyValueHint is the hint for a key that wants a mapping or a list and
// got nothing (null): most often a colon with nothing after it and the
// entries meant for it written at its own indentation instead of under it.
func emptyValueHint(got string, want []string) string {
	if got != "null" {
		return ""
	}
	switch {
	case slices.Contains(want, "object"):
		return "nothing follows the colon, so the value is empty: indent the keys that belong under it " +
			"by two more spaces than the key (`resources:` then `  cpus: \"1\"`)"
	case slices.Contains(want, "array"):
		return "nothing follows the colon, so the list is empty: put its items under it, each on a line " +
			"starting with '- ', or write the list as [a, b]"
	}
	return ""
}
