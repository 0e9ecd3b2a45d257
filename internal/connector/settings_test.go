package connector

import "testing"

func TestCheckSetting(t *testing.T) {
	tests := []struct {
		connector, field string
		value            any
		ok               bool
		want             string // the description, when refused
	}{
		// Literal['arb_wallet', 'api_wallet']: Hummingbot's validator trims and lowers.
		{"hyperliquid_perpetual", "hyperliquid_perpetual_mode", "arb_wallet", true, ""},
		{"hyperliquid_perpetual", "hyperliquid_perpetual_mode", " API_Wallet ", true, ""},
		{"hyperliquid_perpetual", "hyperliquid_perpetual_mode", "bogus", false, "one of: arb_wallet, api_wallet"},
		{"hyperliquid_perpetual", "hyperliquid_perpetual_mode", int64(1), false, "one of: arb_wallet, api_wallet"},
		{"hyperliquid_perpetual", "hyperliquid_perpetual_mode", nil, false, "one of: arb_wallet, api_wallet"},
		{"okx", "okx_registration_sub_domain", "app", true, ""},
		// bool: YAML booleans and the words pydantic reads as booleans.
		{"hyperliquid_perpetual", "use_vault", false, true, ""},
		{"hyperliquid_perpetual", "use_vault", "Yes", true, ""},
		{"hyperliquid_perpetual", "use_vault", "n", true, ""},
		{"hyperliquid_perpetual", "use_vault", int64(0), true, ""},
		{"hyperliquid_perpetual", "use_vault", "maybe", false, "yes or no"},
		{"hyperliquid_perpetual", "use_vault", int64(2), false, "yes or no"},
		{"hyperliquid_perpetual", "use_vault", 0.5, false, "yes or no"},
		// int and Optional[int].
		{"lighter", "lighter_api_key_index", int64(3), true, ""},
		{"lighter", "lighter_api_key_index", "3", true, ""},
		{"lighter", "lighter_api_key_index", 3.0, true, ""},
		{"lighter", "lighter_api_key_index", "three", false, "a whole number"},
		{"lighter", "lighter_api_key_index", 2.5, false, "a whole number"},
		{"lighter", "lighter_api_key_index", nil, false, "a whole number"},
		{"lighter", "lighter_account_index", nil, true, ""},
		{"lighter", "lighter_account_index", "x", false, "a whole number, or nothing"},
		// Types nectar leaves to Hummingbot: str, lists, its own classes.
		{"lighter", "lighter_l1_address", int64(12), true, ""},
		{"xrpl", "wss_node_urls", []any{"wss://a"}, true, ""},
		{"injective_v2", "network", map[string]any{"x": 1}, true, ""},
		{"kraken", "kraken_api_tier", "Pro", true, ""},
		// Not a plain field at all: checked elsewhere.
		{"binance", "binance_api_key", "k", true, ""},
	}
	for _, tt := range tests {
		s, known := Lookup(tt.connector)
		if !known {
			t.Fatalf("%s not in the table", tt.connector)
		}
		ok, want := s.CheckSetting(tt.field, tt.value)
		if ok != tt.ok || (!ok && want != tt.want) {
			t.Errorf("%s %s = %#v: ok %v %q, want ok %v %q", tt.connector, tt.field, tt.value, ok, want, tt.ok, tt.want)
		}
	}
}

func TestParseType(t *testing.T) {
	for _, n := range Names() {
		s, _ := Lookup(n)
		for f, vt := range s.types {
			if vt.kind == choiceValue && len(vt.choices) == 0 {
				t.Errorf("%s %s: a choice with no choices", n, f)
			}
		}
	}
	if vt := parseType("Literal['a', b]"); vt.kind != anyValue {
		t.Errorf("a Literal of something other than strings is checked: %+v", vt)
	}
	typ, def, _ := cutDefault("Literal['www', 'app', 'my']='www'")
	if typ != "Literal['www', 'app', 'my']" || def != "'www'" {
		t.Errorf("cutDefault: %q %q", typ, def)
	}
}
