package fleet

import (
	"slices"
	"strings"
	"testing"
)

// On Hummingbot's own image nectar knows offline which scripts and
// controllers the image ships, so a config that needs one it lacks (and
// the fleet lacks) is refused at load; on any other image only the engine
// can tell, and the load trusts it.
func TestNeedsCheckedAgainstTheOfficialImage(t *testing.T) {
	for _, tt := range []struct {
		name, image, script string
		want                string // "" for no problem
	}{
		{"built-in script", "hummingbot/hummingbot:2.16.0", "v2_with_controllers.py", ""},
		{"fleet script", "hummingbot/hummingbot:2.16.0", "simple_pmm.py", ""},
		{"missing script", "hummingbot/hummingbot:version-2.16.0", "no_such.py",
			"conf/scripts/conf_pmm.yml:1:19: script_file_name names scripts/no_such.py, which neither the fleet nor image hummingbot/hummingbot:version-2.16.0 has"},
		{"another image", "me/my-hummingbot:1", "no_such.py", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := baseFleet()
			fs["conf/scripts/conf_pmm.yml"] = "script_file_name: " + tt.script + "\n"
			fs["bots/alpha.yml"] = strings.Replace(fs["bots/alpha.yml"], "headless: true\n", "headless: true\nimage: "+tt.image+"\n", 1)
			dir := t.TempDir()
			fs.write(t, dir)
			f := loadDir(t, dir)
			var got []string
			for _, p := range f.BotProblems("alpha") {
				got = append(got, p.Error())
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("problems: %q", got)
			case tt.want != "" && !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tt.want) }):
				t.Errorf("problems %q, want one with %q", got, tt.want)
			}
			if tt.want == "" {
				if n := f.Bots["alpha"].Needs; len(n) != 1 || n[0].Path != "scripts/"+tt.script {
					t.Errorf("Needs = %+v", n)
				}
			}
		})
	}
}

// A controller bot needs the image's runner script and its controller; a
// controller config used by several bots is reported once.
func TestControllerBotNeeds(t *testing.T) {
	fs := baseFleet()
	fs["conf/controllers/pmm_1.yml"] = "id: pmm_1\ncontroller_name: nope\ncontroller_type: market_making\n"
	fs["bots/delta.yml"] = "account: master\nconfig: pmm_1.yml\n"
	dir := t.TempDir()
	fs.write(t, dir)
	f := loadDir(t, dir)
	var paths []string
	for _, n := range f.Bots["gamma"].Needs {
		paths = append(paths, n.Path)
	}
	if !slices.Equal(paths, []string{"scripts/v2_with_controllers.py", "controllers/market_making/nope.py"}) {
		t.Errorf("Needs = %q", paths)
	}
	n := 0
	for _, p := range f.Problems {
		if strings.Contains(p.Message, "controllers/market_making/nope.py") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d problems name the missing controller, want 1: %v", n, f.Problems)
	}
}

// A connector Hummingbot's table lacks is refused with the close names,
// unless nectar.yaml lists it under extra_connectors; a known one listed
// there is a mistake; a secret-typed field Hummingbot keeps in plaintext is
// welcome under secrets:.
func TestConnectorsNectarKnows(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(files)
		want  string
		clean bool
	}{
		{"typo", func(fs files) {
			fs["accounts/team/binanse.yml.age"] = "connector: binanse\nsecrets:\n  binance_api_key: a\n"
		}, "accounts/team/binanse.yml.age:1:12: binanse is not a connector of Hummingbot 2.16.0", false},
		{"typo hint", func(fs files) {
			fs["accounts/team/binanse.yml.age"] = "connector: binanse\nsecrets:\n  binance_api_key: a\n"
		}, "did you mean binance", false},
		{"not listed", func(fs files) {
			fs["nectar.yaml"] = strings.Replace(fs["nectar.yaml"], "extra_connectors: [myexchange]\n", "", 1)
		}, "myexchange is not a connector of Hummingbot 2.16.0", false},
		{"known one listed", func(fs files) {
			fs["nectar.yaml"] = strings.Replace(fs["nectar.yaml"], "[myexchange]", "[myexchange, kucoin]", 1)
		}, "nectar.yaml:2:32: kucoin is a connector of Hummingbot 2.16.0, not an extra one", false},
		{"plaintext secret under secrets", func(fs files) {
			fs["accounts/team/lighter.yml.age"] = "connector: lighter\nsecrets:\n  lighter_api_private_key: k\n  lighter_account_limit: '5'\n" +
				"settings:\n  lighter_l1_address: '0x1'\n  lighter_api_key_index: 2\n"
		}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := baseFleet()
			tt.edit(fs)
			dir := t.TempDir()
			fs.write(t, dir)
			f := loadDir(t, dir)
			var got []string
			for _, p := range f.Problems {
				got = append(got, p.String())
			}
			if tt.clean && len(got) > 0 {
				t.Errorf("problems: %q", got)
			}
			if tt.want != "" && !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("problems %q, want one with %q", got, tt.want)
			}
		})
	}
}
