package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	if msg == "found unexpected end of stream" {
		// A quote never closed runs to the end of the file, where yaml.v3
		// reports it; the quote opened where a parse first ends this way.
		if k, ok := firstFailing(data, 1, msg); ok {
			line = k
		}
	}
	// A file that ends inside an open bracket or quote is reported past
	// its end, on a line of nothing; its last written line is where to look.
	if last := lastContentLine(data); line > last {
		line = max(last, 1)
	}
	line, hint := syntaxHint(msg, data, line)
	return &errYAML{line: line, msg: "invalid YAML: " + msg, hint: hint}
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
	k, _ := firstFailing(data, from, msg)
	return k
}

// firstFailing is firstFailingLine, also telling whether such a line was
// found (when not, it returns from).
func firstFailing(data []byte, from int, msg string) (int, bool) {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) ||
		bytes.Count(data, []byte("\r")) > bytes.Count(data, []byte("\r\n")) {
		// UTF-16, or line breaks that are a lone CR: lines are not what
		// counting "\n" finds, so leave the line yaml.v3 gave.
		return from, false
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
			return k, true
		}
	}
	return from, false
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

// Hints for YAML syntax errors. yaml.v3 says what its parser did not find,
// which rarely tells a person what to change; these name the usual cause
// of each message, in nectar's words. They describe the file's text (a
// tab, a colon with no space) but never quote it: a credential's text is
// secret.
const (
	hintTab = "this line is indented with a tab; YAML indents with spaces only " +
		"(replace the tab with spaces, and set your editor to insert spaces)"
	hintNoSpace = "a colon must be followed by a space to end a key (`key: value`); " +
		"without it YAML reads the key, the colon and the value as one string"
	hintNotKey = "each line of a mapping is a key, a colon and a space, then the value (`key: value`): " +
		"this line lacks the colon or the space after it"
	hintDeeper = "this line is indented further than the key above it, which already has a value, " +
		"so YAML reads it as more of that value: indent it like the other keys of its mapping " +
		"(to nest it instead, leave nothing after the colon of the key above)"
	hintColonInValue = "a value holding a colon followed by a space must be quoted (`key: \"a: b\"`)"
	hintIndent       = "this line does not line up with the lines above it: the keys of one mapping start in " +
		"the same column, and so do the '- ' items of one list; indent with spaces only"
	hintListIndent = "this line does not line up with the list above it: every item of a list starts " +
		"with '- ' in the same column, and the next key goes back to the column of the key that holds the list"
	hintQuote = "a quote opened on this line is never closed: end the value with the same quote mark " +
		"(\" or '), or drop the opening one"
	hintBracket = "a [ opened on this line is never closed with ], or its items are not separated by commas " +
		"(`[binance, kucoin]`)"
	hintBrace = "a { opened on this line is never closed with }, or its entries are not separated by commas " +
		"(`{TZ: UTC, LANG: C}`)"
	hintMissingValue = "a value is missing here: a [ or { left open, or a comma or '- ' with nothing after it"
	hintBadStart     = "a value cannot start with @ or a backquote (`); put the value in quotes"
	hintAfterValue   = "something follows a value that is already complete (text after a closing quote, ] or }): " +
		"quote the whole value, or start a comment with ' #'"
	hintSeqAfterKey = "a list item ('- ') cannot follow a key on its own line: put each item on a line of its own, " +
		"indented under the key, or write the list as [a, b]"
	hintEscape = "inside double quotes a backslash starts an escape: write \\\\ for a backslash, " +
		"or use single quotes, which take the text as it is"
	hintAnchor = "a value starting with * or & is read as a YAML alias or anchor: put the value in quotes"
)

// syntaxHint returns the line at fault and a hint for the syntax error msg
// that yaml.v3 reported at line of data. The line moves only when the
// cause is known to sit elsewhere (a missing space after a colon shows
// only on the line after it).
func syntaxHint(msg string, data []byte, line int) (int, string) {
	lines := textLines(data)
	text := func(k int) []byte {
		if k < 1 || k > len(lines) {
			return nil
		}
		return lines[k-1]
	}
	switch msg {
	case "found character that cannot start any token":
		if bytes.ContainsRune(indentOf(text(line)), '\t') {
			return line, hintTab
		}
		return line, hintBadStart
	case "found a tab character that violates indentation",
		"found a tab character where an indentation space is expected":
		return line, hintTab
	case "mapping values are not allowed in this context":
		prev := prevContentLine(lines, line)
		if prev > 0 && missingSpace(text(prev)) {
			return prev, hintNoSpace
		}
		if missingSpace(text(line)) {
			return line, hintNoSpace
		}
		if prev > 0 && len(indentOf(text(line))) > len(indentOf(text(prev))) {
			return line, hintDeeper
		}
		if bytes.Count(text(line), []byte(": ")) > 1 {
			return line, hintColonInValue
		}
		return line, hintDeeper
	case "could not find expected ':'":
		if prev := prevContentLine(lines, line); !missingSpace(text(line)) && prev > 0 && missingSpace(text(prev)) {
			return prev, hintNoSpace
		}
		if missingSpace(text(line)) {
			return line, hintNoSpace
		}
		return line, hintNotKey
	case "found unexpected end of stream":
		return line, hintQuote
	case "did not find expected ',' or ']'":
		return line, hintBracket
	case "did not find expected ',' or '}'":
		return line, hintBrace
	case "did not find expected node content":
		return line, hintMissingValue
	case "did not find expected key":
		if afterValueRE.Match(text(line)) {
			return line, hintAfterValue
		}
		if prev := prevContentLine(lines, line); prev > 0 && len(indentOf(text(line))) > len(indentOf(text(prev))) &&
			!bytes.HasSuffix(bytes.TrimSpace(text(prev)), []byte(":")) {
			return line, hintDeeper
		}
		return line, hintIndent
	case "did not find expected '-' indicator":
		return line, hintListIndent
	case "did not find expected comment or line break":
		return line, hintAfterValue
	case "block sequence entries are not allowed in this context":
		return line, hintSeqAfterKey
	case "found unknown escape character", "found invalid Unicode character escape code":
		return line, hintEscape
	case "did not find expected alphabetic or numeric character":
		return line, hintAnchor
	}
	return line, ""
}

// textLines splits data into its lines, or returns nil when its lines are
// not what "\n" separates (UTF-16, lone CRs): the hints then look at no
// line and fall back to what the message alone tells.
func textLines(data []byte) [][]byte {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) ||
		bytes.Count(data, []byte("\r")) > bytes.Count(data, []byte("\r\n")) {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// indentOf is the run of blanks (spaces and tabs) a line starts with.
func indentOf(l []byte) []byte {
	return l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
}

// prevContentLine is the number of the last line before line that holds
// more than blanks and a comment, or 0.
func prevContentLine(lines [][]byte, line int) int {
	for k := min(line-1, len(lines)); k >= 1; k-- {
		t := bytes.TrimSpace(lines[k-1])
		if len(t) > 0 && t[0] != '#' {
			return k
		}
	}
	return 0
}

// noSpaceRE matches a line that starts (after its indentation and a list
// item's dash) with a plain key whose colon has no space after it, as in
// "state:running". A colon followed by "/" is left alone: a URL
// (http://...) in a plain value is well-formed YAML.
var noSpaceRE = regexp.MustCompile(`^[ \t]*(?:-[ \t]+)?[A-Za-z0-9_.-]+:[^\s:/]`)

func missingSpace(l []byte) bool { return noSpaceRE.Match(l) }

// afterValueRE matches a line whose value, quoted or in brackets, is
// followed by more than a comment, as in `account: "a" b`.
var afterValueRE = regexp.MustCompile(`:[ \t]+("[^"]*"|'[^']*'|\[[^\]]*\]|\{[^}]*\})[ \t]*[^ \t#]`)

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
