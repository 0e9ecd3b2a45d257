package fleet

import (
	"sort"
	"testing"
)

// TestEveryPatternIsDescribed: a value a pattern refuses is explained by
// the description beside the pattern (see schemaProblem), so every pattern
// needs one that says the valid forms in words. Patterns on property names
// have their own message.
func TestEveryPatternIsDescribed(t *testing.T) {
	compiled.once.Do(compileSchemas)
	if compiled.err != nil {
		t.Fatal(compiled.err)
	}
	patterns := 0
	var walk func(file, at string, node any)
	walk = func(file, at string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if _, ok := n["pattern"]; ok {
				patterns++
				if d, _ := n["description"].(string); d == "" {
					t.Errorf("%s#%s: a pattern without a description", file, at)
				}
			}
			keys := make([]string, 0, len(n))
			for k := range n {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "propertyNames" {
					continue
				}
				walk(file, at+"/"+k, n[k])
			}
		case []any:
			for _, v := range n {
				walk(file, at+"/[]", v)
			}
		}
	}
	for file, doc := range compiled.docs {
		walk(file, "", doc)
	}
	if patterns < 5 {
		t.Fatalf("found only %d patterns; is the walk reading the schemas?", patterns)
	}
}
