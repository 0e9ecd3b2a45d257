package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSyntaxErrorLines pins the line a YAML syntax error is reported at to
// the line a person would point at, for the parser's problems (which
// yaml.v3 counts from zero and puts at the enclosing block) and the
// scanner's (which it counts from one), and where yaml.v3 and v4 part.
func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		src  string
		line int
		msg  string
	}{
		// The parser's problems.
		{"account: a\nconnectors: [binance, kucoin\nscript_config: x.yml\n", 2, "did not find expected ',' or ']'"},
		{"account: a\nconnectors:\n  - binance\n - kucoin\n", 4, "did not find expected key"},
		{"a: 1\nb: 2\nconnectors: [bin", 3, "did not find expected ',' or ']'"},
		{"a: 1\nb: {x: 1\n", 2, "did not find expected ',' or '}'"},
		{"a: 1\n- b\n", 2, "did not find expected key"},
		{"- a\nb: 1\n", 2, "did not find expected '-' indicator"},
		{"a: !foo!x y\n", 1, "found undefined tag handle"},
		// Block problems, which yaml.v3 puts at the enclosing block's start.
		{"# PMM bot\naccount: master\nconnectors:\n  - binance\n - kucoin\n", 5, "did not find expected key"},
		{"account: a\nimage: x\nclient_config:\n  gateway:\n    port: 1\n   host: y\n", 6, "did not find expected key"},
		{"# list\n\n- a\n- b\nc: 1\n", 5, "did not find expected '-' indicator"},
		// Problems on the first line, which yaml.v3 leaves unnamed.
		{"\t- x\n", 1, "found character that cannot start any token"},
		// Bytes YAML does not allow, which yaml.v3 never places.
		{"a: 1\nb: \x01\n", 2, "control characters are not allowed"},
		{"account: main\nscript: simple.py\n\f\n", 3, "control characters are not allowed"},
		{"\f", 1, "control characters are not allowed"},
		// A file ending inside a bracket: its last written line.
		{"account: [\n", 1, "did not find expected node content"},
		{"[a, b\n\n\n", 1, "did not find expected ',' or ']'"},
		// Latin-1 text: the line of the first byte that is not UTF-8.
		{"# bot\naccount: a\n# Caf\xe9 bot\n", 3, "invalid trailing UTF-8 octet"},
		// The scanner's, already right.
		{"a: 1\n  b: 2\n", 2, "mapping values are not allowed in this context"},
		{"a: 1\nb: \"x\n", 2, "found unexpected end of stream"},
		{"a:\n\t- x\n", 2, "found character that cannot start any token"},
		// A quote opened on the first line: yaml.v3 names the end of
		// the file.
		{"a: \"x\n" + strings.Repeat("b: 1\n", 600), 1, "found unexpected end of stream"},
		// Line breaks other than LF, counted as YAML counts them.
		{"a: 1\r\nb: [x\r\nc: 2\r\n", 2, "did not find expected ',' or ']'"},
		{"a: 1\rb: [x\rc: 2\r", 2, "did not find expected ',' or ']'"},
		// In a second document.
		{"a: 1\n---\nb: 1\n  c: 2\n", 4, "mapping values are not allowed in this context"},
		// What v4 reads and v3 refuses: v3's account, and v4's node
		// for the empty key.
		{"a: 1\nb: x\x7fy\n", 2, "control characters are not allowed"},
		{"a: 1\nb:\n  c: 1\n: d\n", 4, "did not find expected key"},
		{"a: 1\nb: &x.y 2\n", 2, "did not find expected alphabetic or numeric character"},
		// A key whose quote runs on to a later line: where it opened.
		{"a: 1\n'b: 2\nc: 3\n# it's\nd: 4\n", 2, "could not find expected ':'"},
		// Where v4 stops elsewhere, for another reason: v3's scanner
		// names its line.
		{"a: 1\nmarkets\n  binance:\n    - x\n", 2, "could not find expected ':'"},
	}
	for _, tt := range tests {
		_, err := parseYAML([]byte(tt.src))
		var e *errYAML
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want a YAML syntax error", tt.src, err)
			continue
		}
		if e.line != tt.line || e.msg != "invalid YAML: "+tt.msg {
			t.Errorf("%q: line %d %q, want line %d %q", tt.src, e.line, e.msg, tt.line, tt.msg)
		}
	}
}

// TestSyntaxErrorColumns: where the parser knows the column, the problem
// has it too; where a hint moves the problem to another line, it has none.
func TestSyntaxErrorColumns(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
	}{
		{"account: a\nconnectors:\n  - binance\n - kucoin\n", 4, 2},
		{"account: a\nconnectors: [binance, kucoin\nstate: running\n", 2, 13},
		{"a: 1\nb: \"x\n", 2, 4},
		{"a: 1\nb: x\x01\n", 2, 5},
		{"a: 1\nb: *x\n", 2, 4},
		{"account:x\nstate: running\n", 1, 0},
	}
	for _, tt := range tests {
		_, err := parseYAML([]byte(tt.src))
		var e *errYAML
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want a YAML syntax error", tt.src, err)
			continue
		}
		if e.line != tt.line || e.col != tt.col {
			t.Errorf("%q: %d:%d (%s), want %d:%d", tt.src, e.line, e.col, e.msg, tt.line, tt.col)
		}
	}
}

// largeBroken returns a bot file of about 1 MiB, the most nectar reads: a
// comment, then a long env: mapping, with one mistake a few lines before
// the end. It also returns the line of the mistake.
func largeBroken(mistake string) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString("# A bot with a long environment.\naccount: master\nenv:\n")
	lines := 3
	for i := 0; b.Len() < MaxFileSize-200; i++ {
		fmt.Fprintf(&b, "  KEY_%06d: value-%06d\n", i, i)
		lines++
	}
	switch mistake {
	case "key out of line":
		b.WriteString(" LOG_LEVEL: debug\n")
		lines++
	case "list item out of line":
		b.WriteString("connectors:\n  - binance\n - kucoin\n")
		lines += 3
	case "unclosed quote":
		b.WriteString("config: \"conf.yml\nstate: running\n")
		lines++
	case "unclosed bracket":
		b.WriteString("connectors: [binance\nstate: running\n")
		lines++
	}
	b.WriteString("headless: true\n")
	return b.Bytes(), lines
}

var largeMistakes = []string{"key out of line", "list item out of line", "unclosed quote", "unclosed bracket"}

// TestSyntaxErrorLarge: in the largest file nectar reads, a mistake near
// the end is reported on its own line. For the first two yaml.v3 names the
// top of the block, line 2; narrowing that down by re-parsing prefixes of
// the file, as nectar once did, ran out of its budget long before the end.
func TestSyntaxErrorLarge(t *testing.T) {
	for _, m := range largeMistakes {
		data, line := largeBroken(m)
		_, err := parseYAML(data)
		var e *errYAML
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want a YAML syntax error", m, err)
			continue
		}
		if e.line != line {
			t.Errorf("%s: line %d (%s), want %d", m, e.line, e.msg, line)
		}
	}
}

// BenchmarkSyntaxErrorLarge measures what finding the line of a mistake
// near the end of the largest file nectar reads costs, with the parse that
// found the file broken.
func BenchmarkSyntaxErrorLarge(b *testing.B) {
	for _, m := range largeMistakes {
		data, _ := largeBroken(m)
		b.Run(strings.ReplaceAll(m, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := parseYAML(data); err == nil {
					b.Fatal("parsed")
				}
			}
		})
	}
}

// FuzzSyntaxErrorLine feeds arbitrary bytes to the YAML reader: it must
// never panic, and a line it names must be one of the file's (the marks of
// two parsers, the byte scans and the hints all work on whatever a user
// saved).
func FuzzSyntaxErrorLine(f *testing.F) {
	for _, s := range []string{
		"# PMM bot\naccount: master\nconnectors:\n  - binance\n - kucoin\n",
		"account: [\n", "a: 1\nb: \x01\n", "\xff\xfea\x00:\x00", "a: 1\r  b: 2\r",
		"a:\n  - x\n - y\n" + strings.Repeat("# pad\n", 50),
		"\n\r\"", "a: 1\nb: x\x7fy\n", "a: 1\n: b\n", "a: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseYAML(data)
		var e *errYAML
		if !errors.As(err, &e) {
			return
		}
		// The file's lines as YAML counts them: LF, CR LF, a lone CR,
		// NEL, LS and PS each end one.
		lines := 1
		for _, brk := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(brk))
		}
		lines -= bytes.Count(data, []byte("\r\n"))
		if e.line < 0 || e.line > lines {
			t.Fatalf("line %d of a %d-line file: %s", e.line, lines, e.msg)
		}
	})
}

// TestSyntaxErrorHints pins the hint and the line given for the usual
// mistakes in a hand-written YAML file, and checks that no hint quotes the
// file: each file below holds a marker that must not appear in the hint.
func TestSyntaxErrorHints(t *testing.T) {
	const m = "zqmarkerzq"
	tests := []struct {
		name string
		src  string
		line int
		hint string
	}{
		{"tab before a key", "account: " + m + "\nresources:\n\tcpus: \"1\"\n", 3, "indented with a tab"},
		{"tab before a list item", "account: " + m + "\nconnectors:\n\t- binance\n", 3, "indented with a tab"},
		{"tab after spaces", "account: " + m + "\nresources:\n  \tcpus: \"1\"\n", 3, "indented with a tab"},
		{"no space after a colon, a key follows", "account:" + m + "\nstate: running\n", 1, "a colon must be followed by a space"},
		{"no space after a colon, nested", "account: " + m + "\nresources:\n  cpus:1\n  memory: 1g\n", 3, "a colon must be followed by a space"},
		{"no space after a colon, last line", "account: " + m + "\nstate:running\n", 2, "a colon must be followed by a space"},
		{"no space after a colon, mid file", "account: " + m + "\nconfig:conf.yml\nheadless: true\n", 2, "a colon must be followed by a space"},
		{"no colon at all", "account: " + m + "\nstate running\n", 2, "lacks the colon or the space after it"},
		{"key indented under a value", "account: " + m + "\n  state: running\n", 2, "indented further than the key above it"},
		{"key indented under a flow list", "connectors: [" + m + "]\n  config: c.yml\n", 2, "indented further than the key above it"},
		{"key indented less than its mapping", "account: a\nresources:\n    cpus: 1\n  memory: " + m + "\n", 4, "does not line up with the lines above it"},
		{"list item out of line", "account: a\nconnectors:\n  - " + m + "\n - kucoin\n", 4, "does not line up with the lines above it"},
		{"key after a list at the wrong column", "- " + m + "\nb: 1\n", 2, "every item of a list starts with '- '"},
		{"colon and space in a value", "account: " + m + ": b\n", 1, "must be quoted"},
		{"unclosed double quote", "account: \"" + m + "\nstate: running\nconfig: c.yml\n", 1, "a quote opened on this line is never closed"},
		{"unclosed single quote", "state: running\naccount: '" + m + "\nconfig: c.yml\n", 2, "a quote opened on this line is never closed"},
		{"unclosed bracket", "account: a\nconnectors: [" + m + ", kucoin\nstate: running\n", 2, "a [ opened on this line is never closed"},
		{"unclosed brace", "account: a\nenv: {TZ: " + m + "\nstate: running\n", 2, "a { opened on this line is never closed"},
		{"text after a closing quote", "account: \"" + m + "\" x\n", 1, "something follows a value that is already complete"},
		{"list item after a key", "connectors: - " + m + "\n", 1, "cannot follow a key on its own line"},
		{"value starting with @", "account: @" + m + "\n", 1, "cannot start with @"},
		{"bad escape in double quotes", "account: \"" + m + "\\q\"\n", 1, "a backslash starts an escape"},
		{"key without its colon, its mapping under it", "account: " + m + "\nmarkets\n  binance:\n    - x\n", 2, "lacks the colon or the space after it"},
		{"empty key", "account: " + m + "\n: b\n", 2, "its key is missing"},
		{"empty key in a nested mapping", "account: a\nresources:\n  cpus: 1\n : " + m + "\n  memory: 1g\n", 4, "its key is missing"},
		{"empty key a list below", "markets:\n  kucoin\n:\n    - " + m + "\n  binance:\n", 3, "its key is missing"},
		{"alias with no anchor", "account: a\npassword: *" + m + "\n", 2, "read as a YAML alias or anchor"},
		{"anchor name v3 refuses", "account: &" + m + ".x a\n", 1, "read as a YAML alias or anchor"},
		{"stray brace before a comment", "state: stopped\n}# " + m + "\n", 2, "a # right after a value does not start a comment"},
	}
	for _, tt := range tests {
		_, err := parseYAML([]byte(tt.src))
		var e *errYAML
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want a YAML syntax error", tt.name, err)
			continue
		}
		if e.line != tt.line || !strings.Contains(e.hint, tt.hint) {
			t.Errorf("%s: line %d (%s), hint %q; want line %d, a hint with %q", tt.name, e.line, e.msg, e.hint, tt.line, tt.hint)
		}
		if strings.Contains(e.hint, m) || strings.Contains(e.msg, m) {
			t.Errorf("%s: the problem quotes the file: %s / %s", tt.name, e.msg, e.hint)
		}
	}
}

// TestSyntaxHintInCredential: a credential's YAML error keeps to its
// position, and now says what to fix too, still without its text.
func TestSyntaxHintInCredential(t *testing.T) {
	const secret = "s3cr3tvalue"
	_, ps := ParseCredential("master", "binance", []byte("connector: binance\nsecrets:\n\tbinance_api_key: "+secret+"\n"))
	if len(ps) != 1 {
		t.Fatalf("problems %v, want one", ps)
	}
	p := ps[0]
	if p.Line != 3 || !strings.Contains(p.Hint, "indented with a tab") || !strings.Contains(p.Hint, "nectar cred edit master binance") {
		t.Errorf("problem %s, want line 3 with the tab hint and the cred edit hint", p.String())
	}
	if strings.Contains(p.String(), secret) {
		t.Errorf("the problem quotes the credential: %s", p.String())
	}
}
