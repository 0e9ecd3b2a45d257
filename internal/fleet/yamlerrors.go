package fleet

// Where a YAML file is broken, and what to change.
//
// yaml.v3 reads the fleet's files, and the rest of the package works on its
// node tree. When it refuses a file, though, all it returns is a string
// naming one line, and that line is often not the one at fault. It is the
// mark of the construct being read rather than the place the parser
// stopped; a mark on the first line counts as no mark, so a quote left open
// there is reported at the end of the file; and for the problems of its
// parser (as opposed to its scanner) the line is counted from zero and is
// where the enclosing block starts, which may be far above the mistake.
//
// go.yaml.in/yaml/v4, the maintained continuation of the same parser,
// returns a *LoadError instead: the stage that failed, the mark where it
// stopped and the mark where the construct it was reading began, each a
// line and a column. So a file yaml.v3 has refused is read once more, by
// v4, for its positions: one more parse, on the error path only, where the
// former way re-parsed up to 500 prefixes of the file and still gave up on
// a large one.
//
// The two are not the same parser, though: v4 follows YAML 1.2 more
// closely, so now and then it stops somewhere else, for another reason,
// or not at all. v3 has the last word then (it is the parser that refused
// the file, and it will refuse it until what it saw is fixed), and its own
// line is used where it can be trusted.

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml4 "go.yaml.in/yaml/v4"
)

// syntaxError explains why yaml.v3 refused data: what is wrong, on which
// line and column, and, when the usual cause is known, what to change.
func syntaxError(refusal error, data []byte) error {
	msg3, line3 := v3Words(refusal)
	le, docs := v4Read(data)
	// v3 refuses DEL and the C1 control characters, which v4 reads as
	// text, so v4 may run past the byte v3 stopped at. When v4 stops there
	// too, or later, or not at all, that byte is what v3 refused.
	if at := firstUnreadable(data); at < len(data) &&
		(le == nil || le.Stage == yaml4.ReaderStage || le.Mark.Index >= runeIndex(data, at)) {
		return readerProblem(msg3, data, at)
	}
	switch {
	case le == nil:
		// v4 reads what v3 refuses: an empty key, a tab after a list
		// item's dash, a dot in an anchor's name.
		for _, d := range docs {
			if k := emptyKey(d); k != nil {
				// The one of these v3 places at the start of the block
				// rather than on the line; v4's node knows the line.
				return &errYAML{line: k.Line, col: k.Column, msg: "invalid YAML: " + msg3, hint: hintEmptyKey}
			}
		}
		return placed(msg3, data, line3, 0)
	case le.Stage == yaml4.ReaderStage:
		// A UTF-16 file, which firstUnreadable does not decode; the
		// reader's mark is a byte offset.
		return readerProblem(msg3, data, min(max(le.Mark.Index, 0), len(data)))
	case le.Message != msg3 && line3 > 0 && !v3BlockProblems[msg3]:
		// v4 stopped for another reason than v3, mostly further on (a
		// key that lost its colon, a quote that runs over lines). Save
		// for a block out of line, v3 names the line of the problem it
		// refused the file for, or where its bracket opened.
		return placed(msg3, data, line3, 0)
	}
	mark := le.Mark
	if atOpening[le.Message] && le.ContextMark.Line > 0 {
		mark = le.ContextMark
	}
	return placed(le.Message, data, max(mark.Line, 1), mark.Column)
}

// placed is the syntax error msg at line and column col (0 when unknown)
// of data, with its hint, in words that quote nothing of the file.
func placed(msg string, data []byte, line, col int) *errYAML {
	if strings.HasPrefix(msg, "unknown anchor ") {
		// The message would quote the alias's name, which is text of
		// the file (maybe a password that starts with *).
		return &errYAML{line: max(line, 1), col: col, ownWords: true, hint: hintAnchor,
			msg: "invalid YAML: an alias (*name) refers to no anchor (&name) defined before it"}
	}
	if strings.HasPrefix(msg, "found character '") && strings.HasSuffix(msg, "that is not allowed in a YAML tag") {
		// v4 quotes the character it found.
		msg = "found a character that is not allowed in a YAML tag"
	}
	line = max(line, 1)
	if last := lastContentLine(data); line > last {
		// A file that ends inside an open bracket, or with a key and no
		// value, is reported past its end, on a line of nothing; its
		// last written line is where to look.
		line, col = max(last, 1), 0
	}
	at, hint := syntaxHint(msg, data, line)
	if at != line {
		col = 0
	}
	return &errYAML{line: at, col: col, msg: "invalid YAML: " + msg, hint: hint}
}

// v4Read reads data with yaml v4. It returns the first problem v4 has
// reading the text, or, when it has none, the documents it read.
func v4Read(data []byte) (*yaml4.LoadError, []*yaml4.Node) {
	// Duplicate keys are toValue's to report, with its own message.
	ld, err := yaml4.NewLoader(bytes.NewReader(data), yaml4.WithUniqueKeys(false))
	if err != nil {
		return nil, nil
	}
	var docs []*yaml4.Node
	for {
		n := new(yaml4.Node)
		err := ld.Load(n)
		if err == nil {
			docs = append(docs, n)
			continue
		}
		var le *yaml4.LoadError
		if errors.As(err, &le) {
			switch le.Stage {
			case yaml4.ReaderStage, yaml4.ScannerStage, yaml4.ParserStage, yaml4.ComposerStage:
				return le, nil
			}
		}
		return nil, docs // io.EOF, or a stage past reading the text
	}
}

// emptyKey returns the first key of a block mapping that is nothing at all
// (a line that starts with its colon), or nil. YAML 1.2 allows it and v4
// reads it as a null key; v3 refuses it.
func emptyKey(n *yaml4.Node) *yaml4.Node {
	if n.Kind == yaml4.MappingNode && n.Style&yaml4.FlowStyle == 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml4.ScalarNode && k.Tag == "!!null" && k.Value == "" && k.Style == 0 {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := emptyKey(c); k != nil {
			return k
		}
	}
	return nil
}

// atOpening lists the problems that come to light only where the parser
// gives up on a construct left open (a bracket, a quote, a key waiting for
// its colon), often lines later or at the end of the file: the construct's
// own mark, where it opened, is where the fault is.
var atOpening = map[string]bool{
	"did not find expected ',' or ']'": true,
	"did not find expected ',' or '}'": true,
	"found unexpected end of stream":   true,
	"could not find expected ':'":      true,
}

// readerProblem reports bytes that are not text YAML allows, at offset at,
// with the reader's message, which names no position and quotes nothing.
func readerProblem(msg string, data []byte, at int) *errYAML {
	line, col := position(data, at)
	return &errYAML{line: line, col: col, msg: "invalid YAML: " + msg}
}

// v3Words splits a yaml.v3 error into its message and the line, counted
// from 1, that it puts the problem on (0 when it names none).
func v3Words(err error) (string, int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, text, ok := strings.Cut(rest, ": "); ok {
			if k, err := strconv.Atoi(n); err == nil {
				msg, line = text, k
			}
		}
	}
	if v3ParserProblems[msg] {
		// v3 gives its parser's marks as they are, counted from zero
		// (only its scanner's are counted from one).
		line++
	}
	return msg, line
}

// v3BlockProblems are the problems v3 names the line of the enclosing
// block for, which may be far above the line at fault.
var v3BlockProblems = map[string]bool{
	"did not find expected key":           true,
	"did not find expected '-' indicator": true,
}

// v3ParserProblems are the problems of yaml.v3's parser, as opposed to its
// scanner's; see v3Words.
var v3ParserProblems = map[string]bool{
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

// utf16 tells a file that starts with a UTF-16 byte order mark, whose
// lines are not what scanning its bytes finds.
func utf16(data []byte) bool {
	return bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF})
}

// firstUnreadable is the offset of the first byte of a UTF-8 file that does
// not start a character yaml.v3's reader allows, or len(data) when there is
// none (and for a UTF-16 file, which it does not decode): a byte that is
// not UTF-8, or a control character other than tab and the line breaks.
func firstUnreadable(data []byte) int {
	if utf16(data) {
		return len(data)
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && n <= 1) || !yamlPrintable(r) {
			return i
		}
		i += n
	}
	return len(data)
}

// yamlPrintable is the set of characters yaml.v3 reads in a file (that of
// YAML 1.2, the byte order mark included, which readers drop).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// runeIndex is the index, in characters, of the byte at offset at, as
// v4's marks count them: from the first character after a byte order mark.
func runeIndex(data []byte, at int) int {
	return utf8.RuneCount(bytes.TrimPrefix(data[:at], []byte("\ufeff")))
}

// yamlLines splits data into its lines as YAML counts them (a line break is
// LF, CR LF, a lone CR, NEL, LS or PS), so that the n-th of them is the
// line a parser's mark calls n. A UTF-16 file is split at its LF bytes,
// which is only a bound on its lines.
func yamlLines(data []byte) [][]byte {
	if utf16(data) {
		return bytes.Split(data, []byte("\n"))
	}
	lines := make([][]byte, 0, bytes.Count(data, []byte("\n"))+1)
	start := 0
	for i := 0; i < len(data); {
		n := yamlBreak(data[i:])
		if n == 0 {
			i++
			continue
		}
		lines = append(lines, data[start:i])
		i += n
		start = i
	}
	return append(lines, data[start:])
}

// yamlBreak is the length of the line break data starts with, or 0.
func yamlBreak(data []byte) int {
	switch data[0] {
	case '\n':
		return 1
	case '\r':
		if len(data) > 1 && data[1] == '\n' {
			return 2
		}
		return 1
	case 0xC2:
		if bytes.HasPrefix(data, []byte("\u0085")) {
			return 2
		}
	case 0xE2:
		if bytes.HasPrefix(data, []byte("\u2028")) || bytes.HasPrefix(data, []byte("\u2029")) {
			return 3
		}
	}
	return 0
}

// position is the line and column (both from 1) of the byte at offset at.
func position(data []byte, at int) (line, col int) {
	lines := yamlLines(data[:at])
	return len(lines), utf8.RuneCount(lines[len(lines)-1]) + 1
}

// lastContentLine is the number of the last line of data holding anything
// but blanks (0 for a file of blanks).
func lastContentLine(data []byte) int {
	data = bytes.TrimRightFunc(data, unicode.IsSpace)
	if len(data) == 0 {
		return 0
	}
	if utf16(data) {
		return 1 + bytes.Count(data, []byte("\n"))
	}
	line := 1
	for i := 0; i < len(data); {
		if n := yamlBreak(data[i:]); n > 0 {
			line++
			i += n
			continue
		}
		i++
	}
	return line
}

// Hints for YAML syntax errors. The parser says what it did not find,
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
	hintAnchor   = "a value starting with * or & is read as a YAML alias or anchor: put the value in quotes"
	hintEmptyKey = "this line starts with a colon, so its key is missing: write the key before the colon (`key: value`)"
	hintComment  = "a # right after a value does not start a comment: put a space before the #, " +
		"and check that nothing is left over before it (a stray ], } or quote)"
)

// syntaxHint returns the line at fault and a hint for the syntax error msg
// reported at line of data. The line moves only when the cause is known to
// sit elsewhere (a missing space after a colon shows only on the line
// after it).
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
		if k := ownerLine(lines, line); k > 0 && emptyKeyRE.Match(text(k)) {
			return k, hintEmptyKey
		}
		prev := prevContentLine(lines, line)
		if prev > 0 && missingSpace(text(prev)) {
			return prev, hintNoSpace
		}
		if missingSpace(text(line)) {
			return line, hintNoSpace
		}
		if prev > 0 && len(indentOf(text(line))) > len(indentOf(text(prev))) {
			if !keyRE.Match(text(prev)) && !itemRE.Match(text(prev)) {
				// A key that lost its colon, with its mapping under
				// it: YAML reads the key and the next line as one
				// text, and stumbles only on that line's colon.
				return prev, hintNotKey
			}
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
		if emptyKeyRE.Match(text(line)) {
			return line, hintEmptyKey
		}
		if k := ownerLine(lines, line); k > 0 && emptyKeyRE.Match(text(k)) {
			// A key that is nothing ends the mapping it was meant
			// for (its colon sits left of that mapping's keys), so
			// the next line indented for that mapping fits none.
			return k, hintEmptyKey
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
	case "found a comment without preceding whitespace":
		return line, hintComment
	case "block sequence entries are not allowed in this context":
		return line, hintSeqAfterKey
	case "found unknown escape character", "found invalid Unicode character escape code":
		return line, hintEscape
	case "did not find expected alphabetic or numeric character":
		return line, hintAnchor
	}
	return line, ""
}

// textLines is the file's lines for the hints to look at, or nil for a
// UTF-16 file, whose text is not its bytes: the hints then fall back to
// what the message alone tells.
func textLines(data []byte) [][]byte {
	if utf16(data) {
		return nil
	}
	return yamlLines(data)
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

// ownerLine is the number of the last line before line that holds more
// than blanks and a comment and is indented no deeper than line, or 0: the
// line that opened what line was written to belong to.
func ownerLine(lines [][]byte, line int) int {
	if line < 1 || line > len(lines) {
		return 0
	}
	indent := len(indentOf(lines[line-1]))
	for k := prevContentLine(lines, line); k >= 1; k = prevContentLine(lines, k) {
		if len(indentOf(lines[k-1])) <= indent {
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

// keyRE matches a line that holds a key: a colon at the end of the line or
// followed by a blank, as in "env:" or "- name: a".
var keyRE = regexp.MustCompile(`:([ \t]|$)`)

// emptyKeyRE matches a line that starts with the colon of a key, its key
// left out.
var emptyKeyRE = regexp.MustCompile(`^[ \t]*:([ \t]|$)`)

// itemRE matches a line that holds a list item.
var itemRE = regexp.MustCompile(`^[ \t]*-([ \t]|$)`)

// afterValueRE matches a line whose value, quoted or in brackets, is
// followed by more than a comment, as in `account: "a" b`.
var afterValueRE = regexp.MustCompile(`:[ \t]+("[^"]*"|'[^']*'|\[[^\]]*\]|\{[^}]*\})[ \t]*[^ \t#]`)
