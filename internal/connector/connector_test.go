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
		// Required fields that Hummingbot keeps in plaintext, one of them secret-typed.
		{"lighter",
			[]string{"lighter_api_private_key"},
			[]string{"lighter_l1_address", "lighter_account_index", "lighter_api_key_index", "lighter_account_limit"},
			[]string{"lighter_l1_address", "lighter_api_key_index", "lighter_api_private_key", "lighter_account_limit"}},
		// Connectors the earlier hand-made table lacked.
		{"architect_perpetual", []string{"api_key", "api_secret"}, []string{"use_auth_for_public_endpoints"}, []string{"api_key", "api_secret"}},
		{"architect_perpetual_sandbox", []string{"api_key", "api_secret"}, []string{"use_auth_for_public_endpoints"}, []string{"api_key", "api_secret"}},
		{"foxbit", []string{"foxbit_api_key", "foxbit_api_secret", "foxbit_user_id"}, nil, []string{"foxbit_api_key", "foxbit_api_secret", "foxbit_user_id"}},
		{"lambdaplex", []string{"lambdaplex_api_key", "lambdaplex_private_key"}, nil, []string{"lambdaplex_api_key", "lambdaplex_private_key"}},
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
	if len(names) < 62 {
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

// The secrecy of every field follows is_secure upstream, including where it
// disagrees with the field's SecretStr type.
func TestIsSecure(t *testing.T) {
	tests := []struct {
		connector, field string
		want             Kind // from FieldKind
	}{
		{"lighter", "lighter_account_limit", PlaintextSecretField},
		{"lighter_testnet", "lighter_testnet_account_limit", PlaintextSecretField},
		{"lighter_perpetual", "lighter_perpetual_account_limit", PlaintextSecretField},
		{"lighter_perpetual_testnet", "lighter_perpetual_testnet_api_private_key", PlaintextSecretField},
		// ... while its account limit is is_secure, unlike its siblings'.
		{"lighter_perpetual_testnet", "lighter_perpetual_testnet_account_limit", SecretField},
		{"lighter", "lighter_api_private_key", SecretField},
		{"lighter_testnet", "lighter_testnet_api_private_key", SecretField},
		{"lighter_perpetual", "lighter_perpetual_api_private_key", SecretField},
		{"lighter", "lighter_l1_address", PlainField},
		{"binance", "binance_api_key", SecretField},
		{"binance", "no_such_field", Unknown},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.connector)
		if !ok {
			t.Fatalf("%s not in table", tt.connector)
		}
		if got := s.FieldKind(tt.field); got != tt.want {
			t.Errorf("%s %s: FieldKind %v, want %v", tt.connector, tt.field, got, tt.want)
		}
		// The two-kind view callers already use: plaintext is plain.
		want2 := tt.want
		if want2 == PlaintextSecretField {
			want2 = PlainField
		}
		if got := s.Field(tt.field); got != want2 {
			t.Errorf("%s %s: Field %v, want %v", tt.connector, tt.field, got, want2)
		}
		if s.Sensitive(tt.field) != (tt.want == SecretField || tt.want == PlaintextSecretField) {
			t.Errorf("%s %s: Sensitive wrong", tt.connector, tt.field)
		}
	}
}

func TestNested(t *testing.T) {
	s, _ := Lookup("injective_v2")
	if got := s.Modes("account_type"); !slices.Equal(got, []string{"delegate_account", "read_only_account"}) {
		t.Errorf("account_type modes %v", got)
	}
	if got := s.Modes("use_vault"); got != nil {
		t.Errorf("modes of a plain field: %v", got)
	}
	var key *NestedField
	for i, n := range s.Nested {
		if slices.Equal(n.Path, []string{"account_type", "private_key"}) {
			key = &s.Nested[i]
		}
	}
	if key == nil || key.Kind != SecretField || key.Mode != "delegate_account" || !key.Required {
		t.Fatalf("injective_v2 account_type.private_key: %+v", key)
	}
	if s.Field("private_key") != Unknown || s.Field("account_type") != PlainField {
		t.Error("nested fields leak into the top level")
	}
	if s.Source != "hummingbot/connector/exchange/injective_v2/injective_v2_utils.py" {
		t.Errorf("source %q", s.Source)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		in   string
		want string // first suggestion; "" for none
	}{
		{"binanse", "binance"},
		{"Binance_Perpetual ", "binance_perpetual"},
		{"binance", "binance_perpetual"}, // a known name: others like it
		{"binance_perp", "binance_perpetual"},
		{"hyperliquid_perp", "hyperliquid_perpetual"},
		{"kucoin_hf", "kucoin_hft"},
		{"foxbitt", "foxbit"},
		{"perpetual_lighter", "lighter_perpetual"},
		{"my_private_exchange", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := Suggest(tt.in)
		first := ""
		if len(got) > 0 {
			first = got[0]
		}
		if first != tt.want {
			t.Errorf("Suggest(%q) = %v, want first %q", tt.in, got, tt.want)
		}
		if len(got) > 3 {
			t.Errorf("Suggest(%q): %d names", tt.in, len(got))
		}
	}
}

func TestParseRejectsBrokenTable(t *testing.T) {
	row := "a\tf\t\tsecret\trequired\tSecretStr\t\tx.py\n"
	for _, text := range []string{
		"a\tb\n",
		row + row,
		"a\tf\t\tsecret\t\tSecretStr\t\tx.py\n", // neither required nor a default
		"a\tf\t\tsecrets\trequired\tSecretStr\t\tx.py\n", // no such kind
		row + "b\tg\t\tplain\t\tstr\t\"\"\tx.py\n" + "a\th\t\tplain\t\tstr\t\"\"\tx.py\n",
	} {
		if _, err := parse(text); err == nil {
			t.Errorf("parse(%q) succeeded", text)
		}
	}
}
