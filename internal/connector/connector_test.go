package connector

import (
	"slices"
	"testing"
)

func TestTable(t *testing.T) {
	tests := []struct {
		connector string
		secret    []string
		plain     []string
		required  []string
	}{
		{"binance", []string{"binance_api_key", "binance_api_secret"}, nil, []string{"binance_api_key", "binance_api_secret"}},
		{"kucoin", []string{"kucoin_api_key", "kucoin_secret_key", "kucoin_passphrase"}, nil, []string{"kucoin_api_key", "kucoin_secret_key", "kucoin_passphrase"}},
		{"hyperliquid_perpetual",
			[]string{"hyperliquid_perpetual_address", "hyperliquid_perpetual_secret_key"},
			[]string{"hyperliquid_perpetual_mode", "use_vault"},
			[]string{"hyperliquid_perpetual_address", "hyperliquid_perpetual_secret_key"}},
		// A required field that Hummingbot keeps in plaintext.
		{"lighter",
			[]string{"lighter_api_private_key", "lighter_account_limit"},
			[]string{"lighter_l1_address", "lighter_account_index", "lighter_api_key_index"},
			[]string{"lighter_l1_address", "lighter_api_key_index", "lighter_api_private_key", "lighter_account_limit"}},
		// Plain field whose type annotation itself holds ":" and ";"-free dicts.
		{"xrpl", []string{"xrpl_secret_key"}, []string{"wss_node_urls", "custom_markets", "max_request_per_minute"}, []string{"xrpl_secret_key"}},
	}
	for _, tt := range tests {
		t.Run(tt.connector, func(t *testing.T) {
			s, ok := Lookup(tt.connector)
			if !ok {
				t.Fatalf("%s not in table", tt.connector)
			}
			if !slices.Equal(s.Secret, tt.secret) || !slices.Equal(s.Plain, tt.plain) || !slices.Equal(s.Required, tt.required) {
				t.Errorf("got secret=%v plain=%v required=%v", s.Secret, s.Plain, s.Required)
			}
			for _, f := range tt.secret {
				if s.Field(f) != SecretField {
					t.Errorf("%s: want secret", f)
				}
			}
			for _, f := range tt.plain {
				if s.Field(f) != PlainField {
					t.Errorf("%s: want plain", f)
				}
			}
			if s.Field("no_such_field") != Unknown {
				t.Error("unknown field reported as known")
			}
		})
	}
	if _, ok := Lookup("my_private_exchange"); ok {
		t.Error("unknown connector found")
	}
}

func TestTableIsConsistent(t *testing.T) {
	names := Names()
	if len(names) < 50 {
		t.Fatalf("only %d connectors parsed", len(names))
	}
	for _, n := range names {
		s, _ := Lookup(n)
		for _, r := range s.Required {
			if s.Field(r) == Unknown {
				t.Errorf("%s: required field %s is neither secret nor plain", n, r)
			}
		}
		for _, f := range s.Secret {
			if slices.Contains(s.Plain, f) {
				t.Errorf("%s: %s is both secret and plain", n, f)
			}
		}
	}
}

func TestParseRejectsBrokenTable(t *testing.T) {
	for _, text := range []string{"a\tb\n", "a\t\t\t\tx\na\t\t\t\ty\n"} {
		if _, err := parse(text); err == nil {
			t.Errorf("parse(%q) succeeded", text)
		}
	}
}
