package fleet

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// The walk alone: what it lists is what the checks read, so each list is
// pinned here, refused files included.
func TestWalkInventory(t *testing.T) {
	big := &fstest.MapFile{Data: []byte(strings.Repeat("x", MaxFileSize+1))}
	fsys := fstest.MapFS{
		"nectar.yaml":                     {Data: []byte("fleet: t\n")},
		"accounts/master/password.age":    {Data: []byte("x")},
		"accounts/master/binance.yml.age": {Data: []byte("x")},
		"accounts/master/kucoin.yml.age":  big,
		"accounts/master/Bad.yml.age":     {Data: []byte("x")},
		"accounts/Team/password.age":      {Data: []byte("x")},
		"bots/alpha.yml":                  {Data: []byte("account: master\n")},
		"bots/Alpha.yml":                  {Data: []byte("account: master\n")},
		"bots/beta.yml":                   big,
		"bots/notes.txt":                  {Data: []byte("x")},
		"bots/.gitkeep":                   {Data: nil},
		"scripts/a.py":                    {Data: []byte("x")},
		"conf/scripts/c.yml":              {Data: []byte("x: 1\n")},
		"conf/conf_client.yml":            {Data: []byte("x: 1\n")},
	}
	inv := walk(fsys)
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}
	check("accounts", inv.accounts, []string{"master"})
	check("credentials", inv.credentials["master"], []string{"binance", "kucoin"})
	check("misnamed", inv.misnamed["master"], []string{"accounts/master/Bad.yml.age"})
	check("bots", inv.bots, []string{"bots/alpha.yml", "bots/beta.yml"})
	check("bot-like", inv.botLike, []string{"bots/Alpha.yml", "bots/alpha.yml", "bots/beta.yml"})
	check("shared", inv.shared, []string{"conf/scripts/c.yml", "scripts/a.py"})
	if !inv.refused["bots/beta.yml"] || !inv.refused["accounts/master/kucoin.yml.age"] || inv.refused["bots/alpha.yml"] {
		t.Errorf("refused: %v", inv.refused)
	}
	if !inv.regular["accounts/master/password.age"] || inv.regular["bots/beta.yml"] || inv.regular["conf/conf_client.yml"] {
		t.Errorf("regular: %v", inv.regular)
	}
	var msgs []string
	for _, p := range inv.problems {
		msgs = append(msgs, p.File+": "+p.Message)
	}
	for _, w := range []string{
		`accounts/Team: bad account name "Team"`,
		"accounts/master/Bad.yml.age: bad connector name",
		"accounts/master/kucoin.yml.age: file is larger than",
		`bots/Alpha.yml: bad bot name "Alpha"`,
		"bots/beta.yml: file is larger than",
		"bots/notes.txt: unexpected file in bots/",
		"conf/conf_client.yml: unexpected file in conf/",
	} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, w) }) {
			t.Errorf("no problem %q in:\n%s", w, strings.Join(msgs, "\n"))
		}
	}
	if len(msgs) != 7 {
		t.Errorf("%d problems, want 7:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
}
