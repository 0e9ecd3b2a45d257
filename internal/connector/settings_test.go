package connector

import (
	"slices"
	"testing"
)

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
		{"hyperliquid_perpetual", "use_vault", " n ", true, ""},
		{"hyperliquid_perpetual", "use_vault", "off", true, ""},
		{"coinbase_advanced_trade", "use_auth_for_public_endpoints", int64(0), true, ""},
		{"coinbase_advanced_trade", "use_auth_for_public_endpoints", 1, true, ""}, // int, as the prompt gives it
		{"injective_v2", "receive_connector_configuration", 1.0, true, ""},
		{"hyperliquid_perpetual", "use_vault", "maybe", false, "yes or no"},
		{"hyperliquid_perpetual", "use_vault", int64(2), false, "yes or no"},
		{"hyperliquid_perpetual", "use_vault", 0.5, false, "yes or no"},
		{"hyperliquid_perpetual", "use_vault", "", false, "yes or no"},
		// int and Optional[int]: anything Python's int() or pydantic reads.
		{"lighter", "lighter_api_key_index", int64(3), true, ""},
		{"lighter", "lighter_api_key_index", 3, true, ""},
		{"lighter", "lighter_api_key_index", " 3 ", true, ""},
		{"lighter", "lighter_api_key_index", "12.0", true, ""},
		{"lighter", "lighter_api_key_index", "1_000", true, ""},
		{"lighter", "lighter_api_key_index", "123456789012345678901234567890", true, ""},
		{"lighter", "lighter_api_key_index", 2.5, true, ""},
		{"lighter", "lighter_api_key_index", true, true, ""},
		{"lighter", "lighter_api_key_index", "three", false, "a whole number"},
		{"lighter", "lighter_api_key_index", "0x10", false, "a whole number"},
		{"lighter", "lighter_api_key_index", "inf", false, "a whole number"},
		{"lighter", "lighter_api_key_index", "1__0", false, "a whole number"},
		{"lighter", "lighter_api_key_index", nil, false, "a whole number"},
		{"lighter", "lighter_api_key_index", []any{int64(1)}, false, "a whole number"},
		{"lighter", "lighter_account_index", nil, true, ""},
		{"lighter", "lighter_account_index", "", true, ""}, // Hummingbot reads "" as None
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
	tests := []struct {
		connector, field string
		want             valueType
	}{
		{"okx", "okx_registration_sub_domain", valueType{kind: choiceValue, choices: []string{"www", "app", "my"}}},
		{"hyperliquid", "hyperliquid_mode", valueType{kind: choiceValue, choices: []string{"arb_wallet", "api_wallet"}}},
		{"hyperliquid", "use_vault", valueType{kind: boolValue}},
		{"lighter", "lighter_account_index", valueType{kind: intValue, optional: true}},
		{"xrpl", "max_request_per_minute", valueType{kind: intValue}},
		{"xrpl", "custom_markets", valueType{}},
		{"xrpl", "wss_node_urls", valueType{}},
		{"injective_v2", "network", valueType{}},
		{"kraken", "kraken_api_tier", valueType{}},
	}
	for _, tt := range tests {
		s, _ := Lookup(tt.connector)
		got, ok := s.types[tt.field]
		if !ok || got.kind != tt.want.kind || got.optional != tt.want.optional || !slices.Equal(got.choices, tt.want.choices) {
			t.Errorf("%s %s: %+v (known %v), want %+v", tt.connector, tt.field, got, ok, tt.want)
		}
	}
	if vt := parseType("Literal['a', b]"); vt.kind != anyValue {
		t.Errorf("a Literal of something other than strings is checked: %+v", vt)
	}
	if vt := parseType("mode[delegate_account|read_only_account]"); vt.kind != anyValue || !slices.Equal(vt.modes, []string{"delegate_account", "read_only_account"}) {
		t.Errorf("mode type: %+v", vt)
	}
}

func TestCanonical(t *testing.T) {
	hl, _ := Lookup("hyperliquid_perpetual")
	lighter, _ := Lookup("lighter")
	tests := []struct {
		spec  Spec
		field string
		in    any
		want  any
	}{
		{hl, "use_vault", "Yes", true},
		{hl, "use_vault", " off ", false},
		{hl, "use_vault", 1, true},
		{hl, "use_vault", int64(0), false},
		{hl, "use_vault", 1.0, true},
		{hl, "use_vault", true, true},
		{hl, "hyperliquid_perpetual_mode", " API_Wallet", "api_wallet"},
		{lighter, "lighter_api_key_index", 3, 3},
		{lighter, "lighter_l1_address", "0xAB", "0xAB"},
	}
	for _, tt := range tests {
		if got := tt.spec.Canonical(tt.field, tt.in); got != tt.want {
			t.Errorf("%s %#v → %#v, want %#v", tt.field, tt.in, got, tt.want)
		}
	}
}
