package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// A Problem is one thing wrong with the fleet source: where it is, what is
// wrong, and, when a fix is known, how to fix it. Messages never contain
// secret values or key material.
type Problem struct {
	File    string // slash-separated path relative to the fleet root; "" for the source as a whole
	Line    int    // 1-based; 0 when the problem is about the whole file
	Column  int    // 1-based; 0 when unknown
	Message string
	Hint    string
}

// Position returns "file:line:column", leaving out the parts that are unknown.
func (p Problem) Position() string {
	var b strings.Builder
	b.WriteString(p.File)
	if b.Len() == 0 {
		b.WriteString("source")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	return b.String()
}

// Error formats the problem on one line (hint excluded), so a Problem can
// travel as an error.
func (p Problem) Error() string { return p.Position() + ": " + p.Message }

// String formats the problem with its hint on a second line.
func (p Problem) String() string {
	if p.Hint == "" {
		return p.Error()
	}
	return p.Error() + "\n\thint: " + p.Hint
}

// dedupe drops repeats of a problem: a config run by several bots is
// checked for each.
func dedupe(ps []Problem) []Problem {
	out := ps[:0]
	seen := map[Problem]bool{}
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
}

// problems collects the problems of one load.
type problems struct{ list []Problem }

func (ps *problems) add(file string, line, col int, hint, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Line: line, Column: col, Message: fmt.Sprintf(format, args...), Hint: hint})
}
