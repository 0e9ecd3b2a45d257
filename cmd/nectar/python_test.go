package main

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHummingbotFormatInPython checks nectar's Hummingbot files against a
// second implementation of the format in Python (testdata/python), built
// on OpenSSL's PBKDF2 and PyCryptodome, the library Hummingbot's keyfile
// code uses: what `nectar render` writes decrypts there field by field, and
// a credentials folder written there the way Hummingbot writes one comes
// through `nectar import` and `nectar render` with every value intact.
func TestHummingbotFormatInPython(t *testing.T) {
	py := requirePyCryptodome(t)
	work := t.TempDir()
	home := filepath.Join(work, "home")
	fleetDir := filepath.Join(work, "fleet")
	env := isolatedEnv(home)
	nectar := func(stdin string, args ...string) {
		t.Helper()
		nectarIn(t, work, env, stdin, append([]string{"--source", fleetDir}, args...)...)
	}
	nectar("", "init", fleetDir)
	nectar("", "account", "create", "main")
	// The private connector below is one Hummingbot's table lacks, let
	// through as an operator would.
	settings := filepath.Join(fleetDir, "nectar.yaml")
	data, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, append(data, "extra_connectors: [my_private_exchange]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}

	// Values a user could paste, unicode and YAML-awkward ones among them,
	// and a few drawn at random from a wide range of code points.
	rng := rand.New(rand.NewPCG(7, 11))
	want := map[string]map[string]string{
		"binance.yml": {"binance_api_key": "kÉy-ключ-🔑", "binance_api_secret": randomText(rng)},
		"kucoin.yml": {"kucoin_api_key": "# not a comment", "kucoin_secret_key": randomText(rng),
			"kucoin_passphrase": `pass: "word" \ 'x'`},
		"hyperliquid_perpetual.yml": {"hyperliquid_perpetual_address": "0x" + strings.Repeat("ab", 20),
			"hyperliquid_perpetual_secret_key": randomText(rng), "hyperliquid_perpetual_mode": "api_wallet", "use_vault": "false"},
	}
	for file, fields := range want {
		conn := strings.TrimSuffix(file, ".yml")
		var yaml strings.Builder
		yaml.WriteString("connector: " + conn + "\nsecrets:\n")
		var settings []string
		for field, value := range fields {
			q, _ := json.Marshal(value) // a JSON string is a YAML double-quoted scalar
			if field == "hyperliquid_perpetual_mode" || field == "use_vault" {
				settings = append(settings, "  "+field+": "+value+"\n")
				continue
			}
			yaml.WriteString("  " + field + ": " + string(q) + "\n")
		}
		if len(settings) > 0 {
			yaml.WriteString("settings:\n" + strings.Join(settings, ""))
		}
		nectar(yaml.String(), "cred", "add", "main", conn)
	}
	writeBot(t, fleetDir, "b1", "account: main\nlaunch: classic\n")
	out := filepath.Join(work, "out")
	nectar("", "render", "--out", out, "b1")

	password := strings.TrimSpace(decryptFile(t, filepath.Join(home, ".config", "nectar", "age.key"),
		filepath.Join(fleetDir, "accounts", "main", "password.age")))
	got := pythonDecrypt(t, py, filepath.Join(out, "b1"), password)
	checkDecrypted(t, got, want)

	// The other way: a folder as Hummingbot writes it (a salt and an IV
	// per value, IVs with leading zero bytes written short; c lowered so
	// the test is quick, nectar reads c from each value).
	hbPassword := "pässwörd ✓ 42"
	spec := map[string]any{
		"password": hbPassword,
		"c":        2000,
		"connectors": map[string]any{
			"binance": [][]any{{"binance_api_key", true, "imported-ключ"}, {"binance_api_secret", true, randomText(rng)}},
			"hyperliquid_perpetual": [][]any{
				{"hyperliquid_perpetual_mode", false, "arb_wallet"}, {"use_vault", false, "false"},
				{"hyperliquid_perpetual_address", true, "0x" + strings.Repeat("cd", 20)},
				{"hyperliquid_perpetual_secret_key", true, randomText(rng)},
			},
			// A connector nectar does not know: its encrypted values are secrets.
			"my_private_exchange": [][]any{{"my_private_exchange_token", true, "tøken"}, {"my_private_exchange_region", false, "eu"}},
		},
	}
	hbDir := filepath.Join(work, "hummingbot", "credentials", "imported")
	input, _ := json.Marshal(spec)
	python(t, py, string(input), "write", hbDir)
	nectar(hbPassword+"\n", "import", hbDir, "--account", "imported", "--password-stdin")
	writeBot(t, fleetDir, "b2", "account: imported\nlaunch: classic\n")
	nectar("", "render", "--out", out, "b2")

	wantImported := map[string]map[string]string{}
	for conn, fields := range spec["connectors"].(map[string]any) {
		m := map[string]string{}
		for _, f := range fields.([][]any) {
			m[f[0].(string)] = f[2].(string)
		}
		wantImported[conn+".yml"] = m
	}
	checkDecrypted(t, pythonDecrypt(t, py, filepath.Join(out, "b2"), hbPassword), wantImported)
}

// checkDecrypted compares what Python read from an instance folder with
// the values given: .password_verification and every connector file.
func checkDecrypted(t *testing.T, got map[string]map[string]string, want map[string]map[string]string) {
	t.Helper()
	if v := got[".password_verification"][""]; v != "HummingBot" {
		t.Errorf(".password_verification decrypts to %q", v)
	}
	delete(got, ".password_verification")
	if len(got) != len(want) {
		t.Errorf("connector files %v, want %v", slicesOfKeys(got), slicesOfKeys(want))
	}
	for file, fields := range want {
		g := got[file]
		delete(g, "connector")
		if !maps.Equal(g, fields) {
			t.Errorf("%s:\n got %q\nwant %q", file, g, fields)
		}
	}
}

func slicesOfKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// pythonDecrypt returns every value of an instance folder as the Python
// implementation reads it; .password_verification's under the key "".
func pythonDecrypt(t *testing.T, py, dir, password string) map[string]map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(python(t, py, password+"\n", "decrypt", dir)), &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for k, v := range raw {
		if k == ".password_verification" {
			var s string
			_ = json.Unmarshal(v, &s)
			out[k] = map[string]string{"": s}
			continue
		}
		m := map[string]string{}
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatal(err)
		}
		out[k] = m
	}
	return out
}

func python(t *testing.T, py, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", "python", "hbformat.py")}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hbformat.py %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// requirePyCryptodome finds a Python 3 with PyCryptodome (Debian's
// python3-pycryptodome, which .ci/run installs).
func requirePyCryptodome(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import Cryptodome").Run() == nil {
			return py
		}
	}
	if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
		t.Fatal("no python3 with PyCryptodome (Debian: python3-pycryptodome), and this run may not skip tests that need it")
	}
	t.Skip("no python3 with PyCryptodome (Debian: python3-pycryptodome)")
	return ""
}

// randomText is 12 code points drawn from the whole of Unicode but
// surrogates and controls.
func randomText(rng *rand.Rand) string {
	var b strings.Builder
	for b.Len() == 0 || len([]rune(b.String())) < 12 {
		r := rune(rng.IntN(0x10FFFF-0x20) + 0x20)
		if (r >= 0xD800 && r <= 0xDFFF) || (r >= 0x7F && r < 0xA0) || r == 0xFEFF {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeBot(t *testing.T, fleetDir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fleetDir, "bots", name+".yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
