package fleet

import (
	"strings"
	"testing"
)

// A secret pasted as a key of a credential (under secrets:, settings: or
// at the top) is never quoted by a problem; the problem still points at
// its line.
func TestCredentialKeysNeverQuoted(t *testing.T) {
	const marker = "PASTEDSECRET"
	tests := []struct {
		name string
		text string
		line int
	}{
		{"under secrets", "connector: binance\nsecrets:\n  binance_api_key: a1234\n  PASTEDSECRET1xyz: x\n  binance_api_secret: b1234\nsettings: {}\n", 4},
		{"under settings", "connector: binance\nsecrets:\n  binance_api_key: a1234\n  binance_api_secret: b1234\nsettings:\n  PASTEDSECRET2xyz: 1\n", 6},
		{"at the top", "connector: binance\nPASTEDSECRET3xyz: 1\nsecrets:\n  binance_api_key: a1234\n  binance_api_secret: b1234\n", 2},
		{"given twice", "connector: binance\nsecrets:\n  binance_api_key: a1234\n  PASTEDSECRET4xyz: 1\n  PASTEDSECRET4xyz: 2\n  binance_api_secret: b1234\n", 5},
		{"a key without a value", "connector: binance\nsecrets:\n  binance_api_key: a1234\n  PASTEDSECRET5xyz\n  binance_api_secret: b1234\n", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := ParseCredential("a", "binance", []byte(tt.text))
			if len(ps) == 0 {
				t.Fatal("no problem reported")
			}
			found := false
			for _, p := range ps {
				if strings.Contains(p.String(), marker) {
					t.Errorf("problem quotes the key: %s", p)
				}
				found = found || p.Line == tt.line
			}
			if !found {
				t.Errorf("no problem at line %d: %v", tt.line, ps)
			}
		})
	}
}
