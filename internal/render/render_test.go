package render

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestLayout(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	res := mustRender(t, r, testFleet(), "alpha")
	inst := filepath.Join(dir, "instances", "alpha")
	if res.Dir != inst || res.Bot != "alpha" {
		t.Fatalf("Result names %s in %s", res.Bot, res.Dir)
	}

	wantFiles := []string{
		"conf/.password_verification",
		"conf/conf_client.yml",
		"conf/connectors/binance.yml",
		"conf/connectors/hyperliquid_perpetual.yml",
		"conf/connectors/my_exchange.yml",
		"conf/controllers/conf_controller.yml",
		"conf/scripts/conf_pmm.yml",
		"controllers/market_making/__init__.py",
		"controllers/market_making/pmm_v1.py",
		"scripts/simple_pmm.py",
	}
	if !slices.Equal(res.Written, wantFiles) {
		t.Errorf("Written = %q\nwant      %q", res.Written, wantFiles)
	}
	if len(res.Removed) != 0 {
		t.Errorf("Removed = %q on a first render", res.Removed)
	}
	var listed []string
	for _, f := range res.Files {
		listed = append(listed, f.Path)
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(f.Digest) {
			t.Errorf("digest of %s = %q", f.Path, f.Digest)
		}
	}
	if !slices.Equal(listed, wantFiles) {
		t.Errorf("Files = %q", listed)
	}
	if d, err := r.Digest(testFleet(), "alpha"); err != nil || d != res.Digest {
		t.Errorf("Digest() = %s, %v; Render gave %s", d, err, res.Digest)
	}

	// Every entry of the folder, with its mode: nothing more, nothing less.
	want := map[string]fs.FileMode{
		".":                           fs.ModeDir | 0o700,
		ManifestFile:                  0o600,
		"conf":                        fs.ModeDir | 0o700,
		"conf/connectors":             fs.ModeDir | 0o700,
		"conf/scripts":                fs.ModeDir | 0o700,
		"conf/controllers":            fs.ModeDir | 0o700,
		"conf/strategies":             fs.ModeDir | 0o700,
		"scripts":                     fs.ModeDir | 0o700,
		"controllers":                 fs.ModeDir | 0o700,
		"controllers/market_making":   fs.ModeDir | 0o700,
		"data":                        fs.ModeDir | 0o700,
		"logs":                        fs.ModeDir | 0o700,
		"conf/.password_verification": 0o600,
		"conf/conf_client.yml":        0o600,
		"conf/connectors/binance.yml": 0o600,
		"conf/connectors/hyperliquid_perpetual.yml": 0o600,
		"conf/connectors/my_exchange.yml":           0o600,
		"conf/controllers/conf_controller.yml":      0o600,
		"conf/scripts/conf_pmm.yml":                 0o600,
		"controllers/market_making/__init__.py":     0o600,
		"controllers/market_making/pmm_v1.py":       0o600,
		"scripts/simple_pmm.py":                     0o600,
	}
	got := snapshot(t, inst)
	for p, mode := range want {
		st, ok := got[p]
		if !ok {
			t.Errorf("%s is missing", p)
			continue
		}
		if st.mode != mode {
			t.Errorf("%s has mode %v, want %v", p, st.mode, mode)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %s", p)
		}
	}

	// Copies are byte for byte.
	if got := readFile(t, filepath.Join(inst, "controllers/market_making/pmm_v1.py")); got != "# a controller\n" {
		t.Errorf("controller copied as %q", got)
	}
	// .password_verification is the bare value, no newline, as Hummingbot
	// writes it and reads it back with unhexlify.
	pv := readFile(t, filepath.Join(inst, PasswordVerification))
	if strings.TrimSpace(pv) != pv {
		t.Errorf(".password_verification has white space around the value")
	}
	if err := testKeyring.VerifyPassword(mainPassword, pv); err != nil {
		t.Errorf(".password_verification: %v", err)
	}
	if err := testKeyring.VerifyPassword(teamPassword, pv); !errors.Is(err, hbcrypt.ErrWrongPassword) {
		t.Errorf("another password is accepted: %v", err)
	}
}

func TestOnlyTheBotsConnectors(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	f.Bots["alpha"].Connectors = []string{"binance"}
	mustRender(t, r, f, "alpha")
	mustRender(t, r, f, "beta")
	for bot, want := range map[string][]string{"alpha": {"binance.yml"}, "beta": {"kucoin.yml"}} {
		entries, err := os.ReadDir(filepath.Join(dir, "instances", bot, "conf", "connectors"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s has connectors %q, want %q", bot, names, want)
		}
	}
}

// The connector file's layout is Hummingbot's; each secret is a keyfile
// value that decrypts to the credential's plaintext. hbcrypt draws IVs from
// crypto/rand with no hook reachable from here, so the golden file holds
// the layout with each encrypted value replaced by a placeholder, and each
// value is checked separately: its exact JSON shape, its salt, its content.
func TestConnectorFileGolden(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	mustRender(t, r, testFleet(), "alpha")
	mustRender(t, r, testFleet(), "beta")
	pv := readFile(t, filepath.Join(dir, "instances/alpha", PasswordVerification))
	pvParams, err := hbcrypt.Inspect(pv)
	if err != nil {
		t.Fatal(err)
	}
	shape := regexp.MustCompile(`^\{"crypto": \{"cipher": "aes-128-ctr", "cipherparams": \{"iv": "(?:[1-9a-f][0-9a-f]|0[1-9a-f])[0-9a-f]*"\}, ` +
		`"ciphertext": "(?:[0-9a-f]{2})*", "kdf": "pbkdf2", "kdfparams": \{"c": 1000000, "dklen": 32, "prf": "hmac-sha256", ` +
		`"salt": "([0-9a-f]{32})"\}, "mac": "[0-9a-f]{64}"\}, "version": 3, "alias": ""\}$`)

	tests := []struct {
		bot, connector, password string
		secrets                  map[string]string
	}{
		{"alpha", "binance", mainPassword, map[string]string{
			"binance_api_key": "binance-KEY-marker", "binance_api_secret": "binance-SECRET-marker"}},
		{"alpha", "hyperliquid_perpetual", mainPassword, map[string]string{
			"hyperliquid_perpetual_address": "0xHL-ADDRESS-marker", "hyperliquid_perpetual_secret_key": "hl-SECRET-KEY-marker"}},
		{"alpha", "my_exchange", mainPassword, map[string]string{"token": "custom-TOKEN-marker ключ 🔑"}},
		{"beta", "kucoin", teamPassword, map[string]string{
			"kucoin_api_key": "kucoin-KEY-marker", "kucoin_secret_key": "kucoin-SECRET-marker", "kucoin_passphrase": "kucoin-PASS-marker"}},
	}
	for _, tt := range tests {
		t.Run(tt.connector, func(t *testing.T) {
			text := readFile(t, filepath.Join(dir, "instances", tt.bot, ConnectorsDir, tt.connector+".yml"))
			values, _ := fields(t, text)
			masked := text
			for name, plain := range tt.secrets {
				v, ok := values[name]
				if !ok {
					t.Fatalf("field %s missing", name)
				}
				raw, err := hex.DecodeString(v)
				if err != nil {
					t.Fatalf("field %s is not hex: %v", name, err)
				}
				m := shape.FindSubmatch(raw)
				if m == nil {
					t.Fatalf("field %s is not laid out as Hummingbot writes a keyfile:\n%s", name, raw)
				}
				if tt.bot == "alpha" && string(m[1]) != hex.EncodeToString(pvParams.Salt) {
					t.Errorf("field %s has salt %s, the account's is %x", name, m[1], pvParams.Salt)
				}
				got, err := testKeyring.Decrypt(tt.password, v)
				if err != nil {
					t.Fatalf("field %s: %v", name, err)
				}
				if string(got) != plain {
					t.Errorf("field %s decrypts to %q, want %q", name, got, plain)
				}
				masked = strings.Replace(masked, v, "<encrypted "+name+">", 1)
			}
			golden := filepath.Join("testdata", tt.connector+".yml.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(masked), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if masked != string(want) {
				t.Errorf("connector file differs from %s:\n%s", golden, masked)
			}
		})
	}
}

func TestRerenderWritesNothing(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	mustRender(t, r, f, "beta")
	before := snapshot(t, dir)

	// A new process: fresh Renderer and Keyring on the same folder. It
	// must find everything in place without deriving a single key.
	k := hbcrypt.NewKeyring()
	r2 := openTestRenderer(t, dir, k)
	for _, bot := range []string{"alpha", "beta"} {
		res := mustRender(t, r2, testFleet(), bot)
		if res.Changed() {
			t.Errorf("%s: second render wrote %q, removed %q", bot, res.Written, res.Removed)
		}
	}
	if n := k.Derivations(); n != 0 {
		t.Errorf("second render derived %d keys, want 0", n)
	}
	if changed := changedEntries(before, snapshot(t, dir)); len(changed) > 0 {
		t.Errorf("second render touched %q", changed)
	}
}

func TestConnectorDropped(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	conns := filepath.Join(dir, "instances/alpha/conf/connectors")
	// Something put there by hand, or by Hummingbot's `connect`, is not
	// the fleet's either.
	if err := os.WriteFile(filepath.Join(conns, "okx.yml"), []byte("connector: okx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.Bots["alpha"].Connectors = []string{"binance", "my_exchange"}
	res := mustRender(t, r, f, "alpha")
	if want := []string{"conf/connectors/hyperliquid_perpetual.yml", "conf/connectors/okx.yml"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %q, want %q", res.Removed, want)
	}
	if len(res.Written) != 0 {
		t.Errorf("Written = %q, want nothing", res.Written)
	}
	entries, _ := os.ReadDir(conns)
	if len(entries) != 2 {
		t.Errorf("conf/connectors holds %d files, want 2", len(entries))
	}
	if res := mustRender(t, r, f, "alpha"); res.Changed() {
		t.Errorf("third render changed %q %q", res.Written, res.Removed)
	}
}

func TestDriftIsRewritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		drift func(t *testing.T, p string)
	}{
		{"connector edited", "conf/connectors/binance.yml", func(t *testing.T, p string) {
			appendTo(t, p, "\nbinance_api_key: 7b7d\n")
		}},
		{"connector deleted", "conf/connectors/binance.yml", func(t *testing.T, p string) {
			must(t, os.Remove(p))
		}},
		{"connector made world-readable", "conf/connectors/binance.yml", func(t *testing.T, p string) {
			must(t, os.Chmod(p, 0o644))
		}},
		{"connector replaced by a symlink", "conf/connectors/binance.yml", func(t *testing.T, p string) {
			target := filepath.Join(filepath.Dir(p), "..", "..", "..", "elsewhere.yml")
			must(t, os.WriteFile(target, []byte("outside\n"), 0o600))
			must(t, os.Remove(p))
			must(t, os.Symlink(target, p))
		}},
		{"verification truncated", "conf/.password_verification", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("7b"), 0o600))
		}},
		{"verification re-encrypted by someone else", "conf/.password_verification", func(t *testing.T, p string) {
			// Same password, same salt, another IV: valid for Hummingbot,
			// but not the bytes nectar wrote.
			salt, _ := hbcrypt.Inspect(readFile(t, p))
			v, err := testKeyring.PasswordVerification(mainPassword, salt.Salt)
			must(t, err)
			must(t, os.WriteFile(p, []byte(v), 0o600))
		}},
		{"script edited", "scripts/simple_pmm.py", func(t *testing.T, p string) {
			appendTo(t, p, "import os\n")
		}},
		{"controller config deleted", "conf/controllers/conf_controller.yml", func(t *testing.T, p string) {
			must(t, os.Remove(p))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, dir := newTestRenderer(t, nil)
			f := testFleet()
			first := mustRender(t, r, f, "alpha")
			inst := filepath.Join(dir, "instances", "alpha")
			p := filepath.Join(inst, filepath.FromSlash(tt.file))
			tt.drift(t, p)
			res := mustRender(t, r, f, "alpha")
			if !slices.Equal(res.Written, []string{tt.file}) || len(res.Removed) != 0 {
				t.Fatalf("Written = %q, Removed = %q; want just %s written", res.Written, res.Removed, tt.file)
			}
			if res.Digest != first.Digest {
				t.Errorf("the bot's digest changed with drift on disk")
			}
			if data, err := os.ReadFile(filepath.Join(dir, "instances", "elsewhere.yml")); err == nil && string(data) != "outside\n" {
				t.Errorf("the render wrote through a symlink")
			}
			info, err := os.Lstat(p)
			must(t, err)
			if !info.Mode().IsRegular() || info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v after the rewrite", tt.file, info.Mode())
			}
			if strings.HasSuffix(tt.file, "binance.yml") {
				values, _ := fields(t, readFile(t, p))
				got, err := testKeyring.Decrypt(mainPassword, values["binance_api_key"])
				if err != nil || string(got) != "binance-KEY-marker" {
					t.Errorf("rewritten binance_api_key = %q, %v", got, err)
				}
			}
			if res := mustRender(t, r, f, "alpha"); res.Changed() {
				t.Errorf("render after the repair changed %q %q", res.Written, res.Removed)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	beta := mustRender(t, r, f, "beta")
	firstAlpha, _ := r.Digest(f, "alpha")
	inst := filepath.Join(dir, "instances", "alpha")
	oldSalt := saltOf(t, filepath.Join(inst, PasswordVerification))

	// The rotation runs as a new process would, with its own Keyring, so
	// its derivations can be counted exactly.
	k := hbcrypt.NewKeyring()
	r = openTestRenderer(t, dir, k)
	const rotated = "rotated-PASSWORD-marker"
	f = testFleet()
	f.Accounts["main"].Password = rotated
	res := mustRender(t, r, f, "alpha")
	want := []string{
		"conf/.password_verification",
		"conf/connectors/binance.yml",
		"conf/connectors/hyperliquid_perpetual.yml",
		"conf/connectors/my_exchange.yml",
	}
	if !slices.Equal(res.Written, want) {
		t.Errorf("rotation wrote %q, want %q", res.Written, want)
	}
	if res.Digest == firstAlpha {
		t.Error("the bot's digest did not change with the password")
	}
	if n := k.Derivations(); n != 1 {
		t.Errorf("rotating one account derived %d keys, want 1", n)
	}
	pv := readFile(t, filepath.Join(inst, PasswordVerification))
	if err := k.VerifyPassword(rotated, pv); err != nil {
		t.Errorf("new password: %v", err)
	}
	if newSalt := saltOf(t, filepath.Join(inst, PasswordVerification)); bytes.Equal(newSalt, oldSalt) {
		t.Error("a new password kept the old salt")
	}
	for _, c := range []string{"binance", "hyperliquid_perpetual", "my_exchange"} {
		values, _ := fields(t, readFile(t, filepath.Join(inst, ConnectorsDir, c+".yml")))
		for name, v := range values {
			if _, err := hbcrypt.Inspect(v); err != nil {
				continue // a plaintext setting
			}
			if _, err := k.Decrypt(rotated, v); err != nil {
				t.Errorf("%s.%s under the new password: %v", c, name, err)
			}
		}
	}
	if n := k.Derivations(); n != 1 {
		t.Errorf("reading back derived %d keys in all, want 1", n)
	}
	// The other account's bot is untouched.
	if res := mustRender(t, r, f, "beta"); res.Changed() || res.Digest != beta.Digest {
		t.Errorf("beta changed with main's password: %q", res.Written)
	}
	if res := mustRender(t, r, f, "alpha"); res.Changed() {
		t.Errorf("render after rotation changed %q", res.Written)
	}
}

func saltOf(t *testing.T, p string) []byte {
	t.Helper()
	params, err := hbcrypt.Inspect(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return params.Salt
}

// data/ and logs/ belong to the bot: whatever happens to the rest, their
// content, modes and times stay exactly as they were.
func TestDataAndLogsSurvive(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	inst := filepath.Join(dir, "instances", "alpha")
	for _, p := range []string{"data/trades.sqlite", "data/sub/x.csv", "logs/logs_alpha.log", "logs/errors.log"} {
		full := filepath.Join(inst, p)
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, []byte("bot's own "+p), 0o644))
	}
	must(t, os.Chmod(filepath.Join(inst, "logs"), 0o755))
	snapData := func() map[string]fileStamp {
		out := map[string]fileStamp{}
		for _, d := range []string{"data", "logs"} {
			for p, st := range snapshot(t, filepath.Join(inst, d)) {
				out[d+"/"+p] = st
			}
		}
		return out
	}
	before := snapData()

	steps := []func(f *fleet.Fleet){
		func(f *fleet.Fleet) {}, // identical
		func(f *fleet.Fleet) { f.Accounts["main"].Password = "rotated-PASSWORD-marker" },
		func(f *fleet.Fleet) { f.Bots["alpha"].Connectors = []string{"binance"} },
		func(f *fleet.Fleet) { f.Shared = f.Shared[:1] },
		func(f *fleet.Fleet) { f.Bots["alpha"].ClientConfig = nil },
	}
	for i, step := range steps {
		step(f)
		mustRender(t, r, f, "alpha")
		if changed := changedEntries(before, snapData()); len(changed) > 0 {
			t.Fatalf("step %d touched %q", i, changed)
		}
	}
	// Even an instance folder whose manifest names files in data/ leaves
	// them alone.
	m := readManifest(inst)
	m.Files["data/trades.sqlite"] = manifestEntry{Content: "x"}
	m.Files["scripts/../data/sub/x.csv"] = manifestEntry{Content: "x"}
	must(t, writeManifest(inst, m))
	mustRender(t, r, f, "alpha")
	if changed := changedEntries(before, snapData()); len(changed) > 0 {
		t.Fatalf("a tampered manifest touched %q", changed)
	}
}

func TestSharedFiles(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	inst := filepath.Join(dir, "instances", "alpha")
	// A config made inside the bot (Hummingbot's `create` command writes
	// to conf/scripts) was never nectar's and stays.
	must(t, os.WriteFile(filepath.Join(inst, "conf/scripts/made_in_bot.yml"), []byte("x: 1\n"), 0o600))

	f.Shared = slices.DeleteFunc(f.Shared, func(p string) bool {
		return strings.HasPrefix(p, "controllers/") || p == "conf/scripts/conf_pmm.yml"
	})
	res := mustRender(t, r, f, "alpha")
	want := []string{"conf/scripts/conf_pmm.yml", "controllers/market_making/__init__.py", "controllers/market_making/pmm_v1.py"}
	if !slices.Equal(res.Removed, want) || len(res.Written) != 0 {
		t.Errorf("Removed = %q (want %q), Written = %q", res.Removed, want, res.Written)
	}
	if _, err := os.Stat(filepath.Join(inst, "controllers/market_making")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the emptied folder controllers/market_making is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(inst, "controllers")); err != nil {
		t.Errorf("controllers/ itself must stay: %v", err)
	}
	if _, err := os.Stat(filepath.Join(inst, "conf/scripts/made_in_bot.yml")); err != nil {
		t.Errorf("a file nectar never wrote was removed: %v", err)
	}

	// A changed source file is copied again, and only it.
	f.FS.(fstest.MapFS)["scripts/simple_pmm.py"] = &fstest.MapFile{Data: []byte("print('v2')\n")}
	res = mustRender(t, r, f, "alpha")
	if !slices.Equal(res.Written, []string{"scripts/simple_pmm.py"}) || len(res.Removed) != 0 {
		t.Errorf("Written = %q, Removed = %q", res.Written, res.Removed)
	}
	if got := readFile(t, filepath.Join(inst, "scripts/simple_pmm.py")); got != "print('v2')\n" {
		t.Errorf("script is %q", got)
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = fh.WriteString(s)
	must(t, err)
	must(t, fh.Close())
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
