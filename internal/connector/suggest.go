package connector

import (
	"slices"
	"strings"

	"github.com/nectarhq/nectar/internal/hint"
)

// Suggest returns the known connector names closest to name, best first
// (at most three), for a "did you mean" hint; nil when none is close. A
// name is close when it differs by a few edits, or when one name contains
// the other (binance_perp, perpetual_binance).
func Suggest(name string) []string {
	given := name
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil
	}
	type scored struct {
		name  string
		score int
	}
	var found []scored
	limit := max(2, len(name)/4)
	for _, n := range Names() {
		if n == given {
			continue
		}
		d := hint.Distance(name, n, true)
		switch {
		case d <= limit:
		case len(name) >= 4 && strings.Contains(n, name): // an abbreviation
			d = limit + 1 + len(n) - len(name)
		case len(n) >= 4 && strings.Contains(name, n): // a known name with more added
			d = limit + 1 + 2*(len(name)-len(n))
		case sameParts(name, n):
			d = limit + 1
		default:
			continue
		}
		found = append(found, scored{n, d})
	}
	slices.SortStableFunc(found, func(a, b scored) int { return a.score - b.score })
	var out []string
	for _, f := range found[:min(3, len(found))] {
		out = append(out, f.name)
	}
	return out
}

// sameParts reports whether a and b are made of the same "_"-separated
// words in another order.
func sameParts(a, b string) bool {
	pa, pb := strings.Split(a, "_"), strings.Split(b, "_")
	slices.Sort(pa)
	slices.Sort(pb)
	return len(pa) > 1 && slices.Equal(pa, pb)
}
