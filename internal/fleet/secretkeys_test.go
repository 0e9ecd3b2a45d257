package fleet

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
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

func TestHummingbotVersion(t *testing.T) {
	tests := []struct {
		image string
		want  imageVersion
		ok    bool
	}{
		{"hummingbot/hummingbot:version-2.16.0", imageVersion{2, 16}, true},
		{"hummingbot/hummingbot:2.15.0", imageVersion{2, 15}, true},
		{"registry.local:5000/hummingbot/hummingbot:v1.27", imageVersion{1, 27}, true},
		{"hummingbot/hummingbot:latest", imageVersion{}, false},
		{"hummingbot/hummingbot", imageVersion{}, false},
		{"registry.local:5000/hummingbot/hummingbot", imageVersion{}, false},
		{"mycorp/bot:2.1.0", imageVersion{}, false},
		{"hummingbot/hummingbot@sha256:abcd", imageVersion{}, false},
	}
	for _, tt := range tests {
		got, ok := hummingbotVersion(tt.image)
		if got != tt.want || ok != tt.ok {
			t.Errorf("hummingbotVersion(%q) = %v, %v; want %v, %v", tt.image, got, ok, tt.want, tt.ok)
		}
	}
}

// A link into accounts/ spelt in another case is refused too: on a
// case-insensitive file system it reaches the same folder.
func TestLinkIntoAccountsAnyCase(t *testing.T) {
	fsys := fstestFleet(map[string][]byte{"Accounts/master/password.age": []byte("x")}).(fstest.MapFS)
	fsys["scripts/pw.py"] = &fstest.MapFile{Data: []byte("../Accounts/master/password.age"), Mode: fs.ModeSymlink | 0o777}
	fl := Load(fsys, Options{})
	for _, p := range fl.Problems {
		if p.File == "scripts/pw.py" && strings.Contains(p.Message, "symlink leads into accounts/") {
			return
		}
	}
	t.Errorf("the link was not refused: %v", fl.Problems)
}
