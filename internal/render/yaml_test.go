package render

import (
	"math"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestYAMLValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{false, "false"},
		{int64(42), "42"},
		{-7, "-7"},
		{uint64(1 << 63), "9223372036854775808"},
		{1.0, "1.0"},
		{0.1, "0.1"},
		{-2.5, "-2.5"},
		{0.0, "0.0"},
		{123456789.0, "123456789.0"},
		{1e16, "1.0e+16"},
		{1.5e-5, "1.5e-05"},
		{1e-4, "0.0001"},
		{math.Inf(1), ".inf"},
		{math.Inf(-1), "-.inf"},
		{math.NaN(), ".nan"},
		{"eu", "eu"},
		{"arb_wallet", "arb_wallet"},
		{"", `""`},
		{"yes", `"yes"`},
		{"on", `"on"`},
		{"true", `"true"`},
		{"null", `"null"`},
		{"123", `"123"`},
		{"1.0", `"1.0"`},
		{"12:30", `"12:30"`},
		{"a: b", `'a: b'`},
		{"a #b", `'a #b'`},
		{" lead", `' lead'`},
		{"x'y", `x'y`},
		{"two\nlines", `"two\nlines"`},
		{"tab\there", `"tab\there"`},
		{"ключ", "ключ"},
		{[]any{"BTC-USDT", int64(3), 0.5}, "[BTC-USDT, 3, 0.5]"},
		{map[string]any{"b": "yes", "a": []any{}}, `{a: [], b: "yes"}`},
	}
	for _, tt := range tests {
		got, err := yamlValue(tt.in)
		if err != nil {
			t.Errorf("yamlValue(%#v): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("yamlValue(%#v) = %s, want %s", tt.in, got, tt.want)
		}
		// Whatever the form, a YAML reader gets the value back.
		var back any
		if err := yaml.Unmarshal([]byte("k: "+got), &back); err != nil {
			t.Errorf("%s does not parse: %v", got, err)
			continue
		}
		v := back.(map[string]any)["k"]
		if !sameValue(v, tt.in) {
			t.Errorf("%s reads back as %#v, want %#v", got, v, tt.in)
		}
	}
	if _, err := yamlValue(struct{}{}); err == nil {
		t.Error("a struct was formatted")
	}
}
