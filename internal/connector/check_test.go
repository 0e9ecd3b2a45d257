package connector

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	spec, _ := Lookup("hyperliquid_perpetual")
	got := spec.Check([]Entry{
		{Name: "hyperliquid_perpetual_address", Secret: true},
		{Name: "use_vault", Secret: true},                          // a setting under secrets:
		{Name: "hyperliquid_perpetual_secret_kye", Secret: true},   // a typo: quoted
		{Name: "0xdeadbeefcafe", Value: "x"},                       // may be a secret: not quoted
		{Name: "hyperliquid_perpetual_mode", Value: "bogus"},       // a value its type refuses
		{Name: "hyperliquid_perpetual_secret_key", Value: "plain"}, // a secret under settings:
	})
	want := []struct {
		fault       Fault
		field       string
		secret      bool
		msg, hint   string
		notInString string
	}{
		{NotSecret, "use_vault", true, "use_vault is not a secret field of hyperliquid_perpetual", "move it under settings:", ""},
		{UnknownField, "hyperliquid_perpetual_secret_kye", true, "unknown field hyperliquid_perpetual_secret_kye", `did you mean "hyperliquid_perpetual_secret_key"? fields of hyperliquid_perpetual: `, ""},
		{UnknownField, "0xdeadbeefcafe", false, "its name is not shown", "fields of hyperliquid_perpetual: ", "0xdeadbeefcafe"},
		{BadValue, "hyperliquid_perpetual_mode", false, "takes one of: arb_wallet, api_wallet", "write one of: arb_wallet, api_wallet", ""},
		{NotPlain, "hyperliquid_perpetual_secret_key", false, "is a secret field of hyperliquid_perpetual but sits under settings:", "move it under secrets:", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Fault != w.fault || g.Field != w.field || g.Secret != w.secret ||
			!strings.Contains(g.Message, w.msg) || !strings.HasPrefix(g.Hint, w.hint) {
			t.Errorf("problem %d: got %+v, want %+v", i, g, w)
		}
		if w.notInString != "" && strings.Contains(g.Message+g.Hint, w.notInString) {
			t.Errorf("problem %d quotes %q: %+v", i, w.notInString, g)
		}
	}

	// Both required secrets missing: reported in the table's order, under
	// secrets:, and a field written under the wrong key still counts.
	got = spec.Check([]Entry{{Name: "hyperliquid_perpetual_address", Value: "0xabc"}})
	if len(got) != 2 || got[1].Fault != MissingField || got[1].Field != "hyperliquid_perpetual_secret_key" ||
		!got[1].Secret || got[1].Hint != "add hyperliquid_perpetual_secret_key under secrets:" {
		t.Errorf("missing field: got %+v", got)
	}
	if got := spec.Check([]Entry{
		{Name: "hyperliquid_perpetual_address", Secret: true},
		{Name: "hyperliquid_perpetual_secret_key", Secret: true},
		{Name: "use_vault", Value: "yes"},
	}); len(got) != 0 {
		t.Errorf("a valid credential: got %+v", got)
	}
}
