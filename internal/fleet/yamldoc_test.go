package fleet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestSyntaxErrorLines pins the line a YAML syntax error is reported at to
// the line a person would point at, for the parser's problems (which
// yaml.v3 counts from zero) and the scanner's (which it counts from one).
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

// FuzzSyntaxErrorLine feeds arbitrary bytes to the YAML reader: it must
// never panic, and a line it names must be one of the file's (the rescans
// and byte scans of syntaxError work on whatever a user saved).
func FuzzSyntaxErrorLine(f *testing.F) {
	for _, s := range []string{
		"# PMM bot\naccount: master\nconnectors:\n  - binance\n - kucoin\n",
		"account: [\n", "a: 1\nb: \x01\n", "\xff\xfea\x00:\x00", "a: 1\r  b: 2\r",
		"a:\n  - x\n - y\n" + strings.Repeat("# pad\n", 50),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseYAML(data)
		var e *errYAML
		if !errors.As(err, &e) {
			return
		}
		lines := 1 + max(bytes.Count(data, []byte("\n")), bytes.Count(data, []byte("\r")))
		if e.line < 0 || e.line > lines {
			t.Fatalf("line %d of a %d-line file: %s", e.line, lines, e.msg)
		}
	})
}
