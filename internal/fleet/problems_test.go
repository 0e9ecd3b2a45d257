package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var sprintf = fmt.Sprintf

// want is one problem a broken fleet must report.
type want struct {
	file string
	line int    // 0: any line
	msg  string // substring of the message
	hint string // substring of the hint, if any
}

func TestProblems(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name   string
		change func(files)
		setup  func(t *testing.T, dir string) // after the files are written
		want   []want
		// others lists bots that must stay free of problems.
		others []string
		// absent lists text no problem may hold.
		absent []string
	}{
		{
			name:   "malformed YAML",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconnectors: [binance\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "invalid YAML"}},
			others: []string{"beta", "gamma"},
		},
		{
			name:   "unknown key",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nacount: master\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: `unknown key "acount"`, hint: `did you mean "account"`}},
			others: []string{"beta", "gamma"},
		},
		{
			name:   "unknown key in nectar.yaml defaults",
			change: func(f files) { f["nectar.yaml"] += "  imagee: x\n" },
			want:   []want{{file: "nectar.yaml", line: 12, msg: `unknown key "imagee" under defaults`, hint: `did you mean "image"`}},
			// The bots that take their image from the defaults are not at
			// fault while nectar.yaml cannot be read.
			absent: []string{"no image for bot"},
		},
		{
			// Decoding skips an unknown key, so the file's other checks
			// still run: one validate run shows both problems.
			name:   "unknown key beside a missing account",
			change: func(f files) { f["bots/alpha.yml"] = "account: nobody\nimagee: x\n" },
			want: []want{
				{file: "bots/alpha.yml", line: 2, msg: `unknown key "imagee"`},
				{file: "bots/alpha.yml", line: 1, msg: `account "nobody" does not exist`},
			},
			others: []string{"beta"},
		},
		{
			name:   "a quoted '<<' key",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nclient_config:\n  \"<<\": y\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: "'<<' cannot be a key"}},
			others: []string{"beta"},
		},
		{
			name:   "wrong type",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nhold: [yes]\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "hold must be boolean, not array"}},
			others: []string{"beta"},
		},
		{
			name:   "wrong enum",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nstate: paused\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "state must be one of: running, stopped"}},
		},
		{
			name:   "value not in the form the schema asks",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nresources:\n  memory: 1 GB\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: `resources.memory: "1 GB" is not in the expected form`, hint: "e.g. 1g or 512m"}},
		},
		{
			name:   "upper-case bot name",
			change: func(f files) { f["bots/Delta.yml"] = "account: master\n" },
			want:   []want{{file: "bots/Delta.yml", msg: "upper-case"}},
			others: []string{"alpha", "beta"},
		},
		{
			name:   "upper-case account folder",
			change: func(f files) { f["accounts/Main/password.age"] = "x\n" },
			want:   []want{{file: "accounts/Main", msg: "upper-case"}},
		},
		{
			name:   "account reference with a path",
			change: func(f files) { f["bots/alpha.yml"] = "account: ../x\n" },
			want:   []want{{file: "bots/alpha.yml", line: 1, msg: "path separator"}},
		},
		{
			name:   "name longer than 63",
			change: func(f files) { f["bots/"+long+".yml"] = "account: master\n" },
			want:   []want{{file: "bots/" + long + ".yml", msg: "longer than 63"}},
		},
		{
			name:   "empty account name",
			change: func(f files) { f["bots/alpha.yml"] = "account: ''\n" },
			want:   []want{{file: "bots/alpha.yml", line: 1, msg: "name is empty"}},
		},
		{
			name:   "empty bot file name",
			change: func(f files) { f["bots/.yml"] = "account: master\n" },
			want:   []want{{file: "bots/.yml", msg: "name is empty"}},
		},
		{
			name: "credential file name differs from connector",
			change: func(f files) {
				f["accounts/master/kucoin.yml.age"] = f["accounts/master/binance.yml.age"]
			},
			want: []want{{file: "accounts/master/kucoin.yml.age", line: 1, msg: `connector "binance" does not match the file name (kucoin)`, hint: "rename the file"}},
		},
		{
			name: "secret field under settings",
			change: func(f files) {
				f["accounts/master/binance.yml.age"] = "connector: binance\nsecrets:\n  binance_api_key: K\nsettings:\n  binance_api_secret: S\n"
			},
			want:   []want{{file: "accounts/master/binance.yml.age", line: 5, msg: "binance_api_secret is a secret field of binance but sits under settings", hint: "move it under secrets"}},
			others: []string{"beta"},
		},
		{
			name: "plain field under secrets",
			change: func(f files) {
				f["accounts/master/hyperliquid_perpetual.yml.age"] = "connector: hyperliquid_perpetual\nsecrets:\n" +
					"  hyperliquid_perpetual_address: a\n  hyperliquid_perpetual_secret_key: b\n  use_vault: 'no'\n"
			},
			want: []want{{file: "accounts/master/hyperliquid_perpetual.yml.age", line: 5, msg: "use_vault is not a secret field", hint: "move it under settings"}},
		},
		{
			name: "unknown field of a known connector",
			change: func(f files) {
				f["accounts/master/binance.yml.age"] = "connector: binance\nsecrets:\n  binance_api_key: K\n  binance_api_secret: S\n  binance_passphrase: P\n"
			},
			want: []want{{file: "accounts/master/binance.yml.age", line: 5, msg: "unknown field for connector binance", hint: "binance_api_key, binance_api_secret"}},
		},
		{
			name: "setting value Hummingbot would refuse",
			change: func(f files) {
				f["accounts/master/hyperliquid_perpetual.yml.age"] = "connector: hyperliquid_perpetual\nsecrets:\n" +
					"  hyperliquid_perpetual_address: a\n  hyperliquid_perpetual_secret_key: b\nsettings:\n" +
					"  hyperliquid_perpetual_mode: vault_wallet\n  use_vault: maybe\n"
			},
			want: []want{
				{file: "accounts/master/hyperliquid_perpetual.yml.age", line: 6, msg: "setting hyperliquid_perpetual_mode of hyperliquid_perpetual takes one of: arb_wallet, api_wallet", hint: "write one of: arb_wallet, api_wallet"},
				{file: "accounts/master/hyperliquid_perpetual.yml.age", line: 7, msg: "setting use_vault of hyperliquid_perpetual takes yes or no"},
			},
		},
		{
			name: "misspelt field of a known connector",
			change: func(f files) {
				f["accounts/master/binance.yml.age"] = "connector: binance\nsecrets:\n  binance_api_key: K\n  binance_api_secert: S\n"
			},
			want: []want{
				{file: "accounts/master/binance.yml.age", line: 4, msg: "unknown field binance_api_secert for connector binance", hint: `did you mean "binance_api_secret"? fields of binance`},
				{file: "accounts/master/binance.yml.age", msg: "missing required field binance_api_secret"},
			},
		},
		{
			name: "missing required field",
			change: func(f files) {
				f["accounts/master/binance.yml.age"] = "connector: binance\nsecrets:\n  binance_api_key: K\n"
			},
			want: []want{{file: "accounts/master/binance.yml.age", msg: "missing required field binance_api_secret", hint: "add binance_api_secret under secrets:"}},
		},
		{
			name:   "missing account",
			change: func(f files) { f["bots/alpha.yml"] = "account: nobody\n" },
			want:   []want{{file: "bots/alpha.yml", line: 1, msg: `account "nobody" does not exist`, hint: "nectar account create nobody"}},
			others: []string{"beta", "gamma"},
		},
		{
			name:   "missing connector",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconnectors:\n  - binance\n  - okx\n" },
			want:   []want{{file: "bots/alpha.yml", line: 4, msg: "account master has no credential for connector okx", hint: "nectar cred add master okx"}},
		},
		{
			name:   "misspelt connector of the account",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconnectors: [binanse]\nconfig: conf_pmm.yml\n" },
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "account master has no credential for connector binanse",
				hint: "did you mean binance? account master has a credential for it"}},
		},
		{
			name: "connector of the account cut short",
			change: func(f files) {
				f["bots/alpha.yml"] = "account: master\nconnectors: [hyperliquid_perp]\nconfig: conf_pmm.yml\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "account master has no credential for connector hyperliquid_perp",
				hint: "did you mean hyperliquid_perpetual?"}},
		},
		{
			name:   "connector Hummingbot lacks, nothing close in the account",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconnectors: [okex]\nconfig: conf_pmm.yml\n" },
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "account master has no credential for connector okex",
				hint: "okex is not a connector of Hummingbot 2.16.0: did you mean okx?"}},
		},
		{
			name: "a key with nothing after its colon, its keys not indented",
			change: func(f files) {
				f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\nresources:\ncpus: \"1\"\n"
			},
			want: []want{
				{file: "bots/alpha.yml", line: 3, msg: "resources must be object, not null", hint: "indent the keys that belong under it"},
				{file: "bots/alpha.yml", line: 4, msg: `unknown key "cpus"`},
			},
		},
		{
			name:   "missing script_config",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nscript_config: nope.yml\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "script config nope.yml not found in conf/scripts/"}},
		},
		{
			name:   "script: is refused, with what to write instead",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nscript: nope.py\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "script: is no longer used", hint: "script_file_name: nope.py in conf/scripts/<name>.yml) and set config: <name>.yml"}},
		},
		{
			name:   "missing config",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconfig: nope.yml\n" },
			want:   []want{{file: "bots/alpha.yml", line: 2, msg: "config nope.yml not found in conf/scripts/, conf/controllers/ or conf/strategies/"}},
		},
		{
			name:   "no config for a bot launched with hbot",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\n" },
			want:   []want{{file: "bots/alpha.yml", line: 1, msg: "bot alpha names no config", hint: "launch: classic"}},
		},
		{
			name: "a config name in two folders",
			change: func(f files) {
				f["conf/strategies/conf_pmm.yml"] = "strategy: pure_market_making\n"
				f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "config conf_pmm.yml is in conf/scripts/ and conf/strategies/", hint: "rename one"}},
		},
		{
			name: "config and script_config both",
			change: func(f files) {
				f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\nscript_config: conf_pmm.yml\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 3, msg: "config and script_config both set"}},
		},
		{
			name:   "classic launch of a controller config",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nlaunch: classic\nconfig: pmm_1.yml\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: "launch: classic cannot run a controller config", hint: "v2_with_controllers.py"}},
		},
		{
			name: "a controller whose loader would overwrite a script config",
			change: func(f files) {
				f["conf/scripts/pmm_1.yml"] = "script_file_name: simple_pmm.py\n"
				f["conf/controllers/pmm.1.yml"] = "id: pmm\n"
				f["bots/alpha.yml"] = "account: master\nconfig: pmm.1.yml\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "hbot writes the script config that starts controller config pmm.1.yml to conf/scripts/pmm_1.yml"}},
		},
		{
			name: "an image before 2.16 launched with hbot",
			change: func(f files) {
				f["bots/alpha.yml"] = "account: master\nimage: hummingbot/hummingbot:version-2.15.0\nconfig: conf_pmm.yml\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 2, msg: "image hummingbot/hummingbot:version-2.15.0 is Hummingbot 2.15, which has no hbot launcher", hint: "set launch: classic"}},
		},
		{
			name:   "stop timeout out of bounds",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\nstop_timeout: 0s\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: "stop_timeout 0s is out of bounds"}},
		},
		{
			name:   "stop timeout not a duration",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\nstop_timeout: 90\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: "stop_timeout"}},
		},
		{
			name: "a bot may not set HBOT_PASSWORD",
			change: func(f files) {
				f["bots/alpha.yml"] = "account: master\nconfig: conf_pmm.yml\nenv: {HBOT_PASSWORD: x}\n"
			},
			want: []want{{file: "bots/alpha.yml", line: 3, msg: "env may not set HBOT_PASSWORD"}},
		},
		{
			name: "age file encrypted to another key",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "accounts/master/binance.yml.age", encrypt(t, "connector: binance\n", testKeys.other.Recipient()))
			},
			want:   []want{{file: "accounts/master/binance.yml.age", msg: "cannot decrypt", hint: "--identity"}},
			others: []string{"beta"},
		},
		{
			name: "truncated age file",
			setup: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "accounts/master/password.age")
				data, _ := os.ReadFile(p)
				writeFile(t, dir, "accounts/master/password.age", data[:len(data)/2])
			},
			want:   []want{{file: "accounts/master/password.age", msg: "cannot decrypt", hint: "restore the file"}},
			others: []string{"beta"},
		},
		{
			name: "tampered age file",
			setup: func(t *testing.T, dir string) {
				ct := encrypt(t, "pw\n", testKeys.mine.Recipient())
				// Flip a character inside the armored payload.
				lines := strings.Split(string(ct), "\n")
				b := []byte(lines[len(lines)-3])
				b[5] ^= 1
				if b[5] == '\n' || b[5] == '=' {
					b[5] = 'A'
				}
				lines[len(lines)-3] = string(b)
				writeFile(t, dir, "accounts/team/password.age", []byte(strings.Join(lines, "\n")))
			},
			want:   []want{{file: "accounts/team/password.age", msg: "cannot decrypt"}},
			others: []string{"alpha", "gamma"},
		},
		{
			name:   "file over 1 MiB",
			change: func(f files) { f["scripts/big.py"] = strings.Repeat("#", MaxFileSize+1) },
			want:   []want{{file: "scripts/big.py", msg: "larger than"}},
		},
		{
			name: "symlink leaving the fleet root",
			setup: func(t *testing.T, dir string) {
				outside := filepath.Join(t.TempDir(), "secret.py")
				os.WriteFile(outside, []byte("x"), 0o644)
				if err := os.Symlink(outside, filepath.Join(dir, "scripts", "evil.py")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../../../etc/passwd", filepath.Join(dir, "conf", "scripts", "up.yml")); err != nil {
					t.Fatal(err)
				}
			},
			want: []want{
				{file: "conf/scripts/up.yml", msg: "symlink points outside the fleet root"},
				{file: "scripts/evil.py", msg: "symlink points outside the fleet root"},
			},
		},
		{
			name:   "two bots differing only in case",
			change: func(f files) { f["bots/Alpha.yml"] = "account: master\n" },
			want: []want{
				{file: "bots/Alpha.yml", msg: "upper-case"},
				{file: "bots/Alpha.yml", msg: "differs from bots/alpha.yml only in letter case"},
			},
		},
		{
			name:   "nectar.yaml missing",
			change: func(f files) { delete(f, "nectar.yaml") },
			want:   []want{{file: "nectar.yaml", msg: "nectar.yaml not found", hint: "nectar init"}},
		},
		{
			name:   "nectar.yaml without recipients",
			change: func(f files) { f["nectar.yaml"] = "fleet: test\ndefaults: {image: x}\n" },
			want:   []want{{file: "nectar.yaml", line: 1, msg: `missing required key "recipients"`, hint: "age public keys"}},
		},
		{
			name:   "nectar.yaml with an empty recipient list",
			change: func(f files) { f["nectar.yaml"] = "fleet: test\nrecipients: []\n" },
			want:   []want{{file: "nectar.yaml", line: 2, msg: "recipients must list at least 1", hint: "nectar keygen"}},
		},
		{
			name:   "nectar.yaml with a bad recipient",
			change: func(f files) { f["nectar.yaml"] = "fleet: test\nrecipients:\n  - age1notakey\n" },
			want:   []want{{file: "nectar.yaml", line: 3, msg: "recipient 1 is not a valid age recipient"}},
		},
		{
			name:   "env sets the password",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\nenv:\n  CONFIG_PASSWORD: x\n" },
			want:   []want{{file: "bots/alpha.yml", line: 3, msg: "env may not set CONFIG_PASSWORD", hint: "password.age"}},
		},
		{
			name:   "plaintext credential in an account folder",
			change: func(f files) { f["accounts/master/okx.yml"] = "connector: okx\n" },
			want:   []want{{file: "accounts/master/okx.yml", msg: "plaintext file in an account folder", hint: "nectar cred add master"}},
		},
		{
			name:   "account without a password",
			change: func(f files) { delete(f, "accounts/team/password.age") },
			want:   []want{{file: "accounts/team/password.age", msg: "has no password.age", hint: "nectar account create team"}},
			others: []string{"alpha", "gamma"},
		},
		{
			name:   "two YAML documents",
			change: func(f files) { f["bots/alpha.yml"] = "account: master\n---\naccount: team\n" },
			want:   []want{{file: "bots/alpha.yml", msg: "more than one YAML document"}},
		},
		{
			name: "invalid YAML inside a credential hides the text",
			change: func(f files) {
				f["accounts/master/binance.yml.age"] = "connector: binance\nsecrets:\n  binance_api_key: \"SECRETVALUE\n"
			},
			want: []want{{file: "accounts/master/binance.yml.age", msg: "invalid YAML in the credential", hint: "nectar cred edit master binance"}},
		},
		{
			name:   "conf_client.yml in conf",
			change: func(f files) { f["conf/conf_client.yml"] = "x: 1\n" },
			want:   []want{{file: "conf/conf_client.yml", msg: "unexpected file in conf/", hint: "client_config"}},
		},
		{
			name: "no image anywhere",
			change: func(f files) {
				f["nectar.yaml"] = strings.Replace(f["nectar.yaml"], "  image: hummingbot/hummingbot:2.16.0\n", "", 1)
			},
			want: []want{{file: "bots/alpha.yml", msg: "no image for bot alpha", hint: "defaults.image"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := baseFleet()
			if tt.change != nil {
				tt.change(f)
			}
			dir := t.TempDir()
			f.write(t, dir)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			fl := loadDir(t, dir)
			for _, w := range tt.want {
				if !hasProblem(fl.Problems, w) {
					t.Errorf("missing problem %+v\ngot:\n%s", w, dump(fl.Problems))
				}
			}
			for _, p := range fl.Problems {
				if strings.Contains(p.String(), "SECRETVALUE") || strings.Contains(p.String(), "correct horse") {
					t.Errorf("problem leaks a secret: %s", p)
				}
			}
			for _, p := range fl.Problems {
				for _, a := range tt.absent {
					if strings.Contains(p.String(), a) {
						t.Errorf("unwanted problem: %s", p)
					}
				}
			}
			for _, b := range tt.others {
				if ps := fl.BotProblems(b); len(ps) > 0 {
					t.Errorf("bot %s disturbed by another file's problem: %s", b, dump(ps))
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func hasProblem(ps []Problem, w want) bool {
	for _, p := range ps {
		if p.File == w.file && (w.line == 0 || p.Line == w.line) &&
			strings.Contains(p.Message, w.msg) && strings.Contains(p.Hint, w.hint) {
			return true
		}
	}
	return false
}

func dump(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}
