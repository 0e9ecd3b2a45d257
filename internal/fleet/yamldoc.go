package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

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

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// errYAML is a YAML syntax error with its position.
type errYAML struct {
	line int
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

func syntaxError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if parserProblems[msg] {
		// yaml.v3 reports the parser's marks as they are, counted from
		// zero (only its scanner's are counted from one), and leaves the
		// line out when it is the first: the line a person sees is one more.
		line++
	}
	if blockProblems[msg] {
		// yaml.v3 puts these where the enclosing block starts, which may
		// be far above the line at fault (a list item indented wrongly
		// under a key near the end): the line at fault is the first one
		// whose addition brings the same complaint.
		line = firstFailingLine(data, line, msg)
	}
	if readerProblem(msg) {
		// The file is not text YAML allows; yaml.v3 never says where,
		// the first byte it cannot read tells.
		return &errYAML{line: 1 + bytes.Count(data[:firstUnreadable(data)], []byte("\n")), msg: "invalid YAML: " + msg}
	}
	if line == 0 {
		// The problem sits on the first line, which yaml.v3 leaves unnamed.
		line = 1
	}
	// A file that ends inside an open bracket or quote is reported past
	// its end, on a line of nothing; its last written line is where to look.
	if last := lastContentLine(data); line > last {
		line = max(last, 1)
	}
	return &errYAML{line: line, msg: "invalid YAML: " + msg}
}

// readerProblem tells the problems of yaml.v3's reader (bytes that are not
// text YAML allows) from those of its scanner and parser.
func readerProblem(msg string) bool {
	for _, s := range []string{"UTF-8", "UTF-16", "control characters", "invalid Unicode character"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// firstUnreadable is the offset of the first byte of data that does not
// start a character YAML allows in a file (len(data) when there is none):
// a byte that is not UTF-8, or a control character other than tab and the
// line breaks.
func firstUnreadable(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && n <= 1) || !yamlPrintable(r) {
			return i
		}
		i += n
	}
	return len(data)
}

// yamlPrintable is the YAML 1.2 set of characters a file may hold (the
// byte order mark included, which readers drop).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// firstFailingLine parses the file again up to each line it tries; these
// bound how many lines it tries and how many bytes it parses in all, so a
// broken file costs at most about twice its parse.
const (
	maxRescan      = 500
	maxRescanBytes = 1 << 20 // about one more parse of the largest file nectar reads
)

// firstFailingLine parses data line by line from line from on and returns
// the first line at which the parse fails with msg, or from when none does
// within the bounds above.
func firstFailingLine(data []byte, from int, msg string) int {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) ||
		bytes.Count(data, []byte("\r")) > bytes.Count(data, []byte("\r\n")) {
		// UTF-16, or line breaks that are a lone CR: lines are not what
		// counting "\n" finds, so leave the line yaml.v3 gave.
		return from
	}
	ends := []int{} // ends[k-1]: the offset just past line k
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	budget := maxRescanBytes
	for k := max(from, 1); k <= len(ends) && k < from+maxRescan; k++ {
		if budget -= ends[k-1]; budget < 0 {
			break
		}
		var n yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(data[:ends[k-1]])).Decode(&n)
		if err != nil && strings.HasSuffix(err.Error(), msg) {
			return k
		}
	}
	return from
}

// lastContentLine is the number of the last line of data holding anything
// but blanks (0 for a file of blanks).
func lastContentLine(data []byte) int {
	last := 0
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			last = i + 1
		}
	}
	return last
}

// blockProblems are the parser's problems with block structure (keys and
// list items out of line), which yaml.v3 places at the block's start.
var blockProblems = map[string]bool{
	"did not find expected key":           true,
	"did not find expected '-' indicator": true,
}

// parserProblems are the problems yaml.v3's parser (not its scanner)
// reports; see syntaxError.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
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

// mapKeys returns a mapping node's key/value pairs in file order.
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
