package connector

import (
	"slices"
	"strings"
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
		d := editDistance(name, n)
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

// editDistance counts the single-character insertions, deletions,
// substitutions and swaps of neighbours that turn a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
