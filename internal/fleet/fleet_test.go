package fleet

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/nectarhq/nectar/internal/secrets"
)

// testKeys are the identities the test fleets are encrypted to, made once.
var testKeys = func() struct{ mine, other *age.X25519Identity } {
	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	return struct{ mine, other *age.X25519Identity }{a, b}
}()

func myIdentities() *secrets.Identities {
	return &secrets.Identities{
		List:       []age.Identity{testKeys.mine},
		Origin:     "test",
		Recipients: []string{testKeys.mine.Recipient().String()},
	}
}

// encrypt returns armored age ciphertext of plain for r.
func encrypt(t testing.TB, plain string, r age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(plain))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	return buf.Bytes()
}

// files describes a fleet: path → content. Paths ending in .age hold the
// plaintext, encrypted to testKeys.mine when written.
type files map[string]string

func baseFleet() files {
	return files{
		"nectar.yaml": "fleet: test\nextra_connectors: [myexchange]\nrecipients:\n  - " + testKeys.mine.Recipient().String() + "\n" +
			"defaults:\n  image: hummingbot/hummingbot:2.16.0\n  network: host\n  env: {TZ: UTC, LEVEL: 1}\n" +
			"  client_config:\n    kill_switch_mode: {}\n    gateway: {gateway_api_host: localhost, gateway_api_port: '15888'}\n",
		"accounts/master/password.age":    "correct horse battery staple\n",
		"accounts/master/binance.yml.age": "connector: binance\nsecrets:\n  binance_api_key: KEY\n  binance_api_secret: SECRET\n",
		"accounts/master/hyperliquid_perpetual.yml.age": "connector: hyperliquid_perpetual\nsecrets:\n" +
			"  hyperliquid_perpetual_address: '0xabc'\n  hyperliquid_perpetual_secret_key: sk\nsettings:\n  use_vault: false\n",
		"accounts/team/password.age":       "pw2\n",
		"accounts/team/kucoin.yml.age":     "connector: kucoin\nsecrets:\n  kucoin_api_key: a\n  kucoin_secret_key: b\n  kucoin_passphrase: c\n",
		"accounts/team/myexchange.yml.age": "connector: myexchange\nsecrets:\n  token: t\nsettings:\n  anything: [1, 2]\n",
		"bots/alpha.yml": "account: master\nconnectors: [binance]\nscript_config: conf_pmm.yml\nheadless: true\n" +
			"env: {LEVEL: debug}\nclient_config:\n  gateway: {gateway_api_port: '15999'}\n",
		"bots/beta.yml":                    "account: team\nstate: stopped\nimage: hummingbot/hummingbot:2.15.0\nlaunch: classic\nresources: {cpus: 0.5, memory: 512m}\n",
		"bots/gamma.yml":                   "account: master\nhold: true\nconfig: pmm_1.yml\nstop_timeout: 2m\n",
		"scripts/simple_pmm.py":            "print('hi')\n",
		"controllers/market_making/pmm.py": "x = 1\n",
		"conf/scripts/conf_pmm.yml":        "script_file_name: simple_pmm.py\n",
		"conf/controllers/pmm_1.yml":       "id: pmm_1\ncontroller_name: pmm\ncontroller_type: market_making\n",
		"README.md":                        "notes\n",
		"bots/.gitkeep":                    "",
	}
}

func (fs files) write(t testing.TB, dir string) {
	t.Helper()
	for p, content := range fs {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		data := []byte(content)
		if strings.HasSuffix(p, ".age") {
			data = encrypt(t, content, testKeys.mine.Recipient())
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loadDir(t testing.TB, dir string) *Fleet {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return Load(root.FS(), Options{Identities: myIdentities()})
}

func TestLoadValidFleet(t *testing.T) {
	dir := t.TempDir()
	baseFleet().write(t, dir)
	f := loadDir(t, dir)
	if !f.OK() {
		t.Fatalf("problems: %v", f.Problems)
	}
	if f.Name != "test" || !f.Prune || len(f.Recipients) != 1 {
		t.Errorf("settings: %+v", f)
	}
	if got := slices.Sorted(keys(f.Accounts)); !slices.Equal(got, []string{"master", "team"}) {
		t.Errorf("accounts %v", got)
	}
	m := f.Accounts["master"]
	if m.Password.Reveal() != "correct horse battery staple" {
		t.Error("password not decrypted")
	}
	if !slices.Equal(m.Connectors, []string{"binance", "hyperliquid_perpetual"}) {
		t.Errorf("connectors %v", m.Connectors)
	}
	hl := m.Credentials["hyperliquid_perpetual"]
	if len(hl.Secrets) != 2 || hl.Secrets[0].Name != "hyperliquid_perpetual_address" || hl.Secrets[0].Value.Reveal() != "0xabc" {
		t.Errorf("secrets %v", hl.Secrets)
	}
	if len(hl.Settings) != 1 || hl.Settings[0].Value != false {
		t.Errorf("settings %v", hl.Settings)
	}

	alpha := f.Bots["alpha"]
	if alpha.State != StateRunning || alpha.Image != "hummingbot/hummingbot:2.16.0" || alpha.Network != "host" || !alpha.Headless {
		t.Errorf("alpha %+v", alpha)
	}
	if !slices.Equal(alpha.Connectors, []string{"binance"}) {
		t.Errorf("alpha connectors %v", alpha.Connectors)
	}
	if alpha.Env["TZ"] != "UTC" || alpha.Env["LEVEL"] != "debug" {
		t.Errorf("alpha env %v", alpha.Env)
	}
	gw := alpha.ClientConfig["gateway"].(map[string]any)
	if gw["gateway_api_host"] != "localhost" || gw["gateway_api_port"] != "15999" {
		t.Errorf("client_config not merged deeply: %v", alpha.ClientConfig)
	}
	if f.Defaults.ClientConfig["gateway"].(map[string]any)["gateway_api_port"] != "15888" {
		t.Error("merging changed the defaults")
	}
	beta := f.Bots["beta"]
	if beta.State != StateStopped || beta.Image != "hummingbot/hummingbot:2.15.0" || beta.Resources != (Resources{CPUs: "0.5", Memory: "512m"}) {
		t.Errorf("beta %+v", beta)
	}
	if !slices.Equal(beta.Connectors, []string{"kucoin", "myexchange"}) {
		t.Errorf("beta gets every connector of its account, got %v", beta.Connectors)
	}
	if !f.Bots["gamma"].Hold {
		t.Error("gamma not held")
	}
	// The launch and the config it runs, from the folder that holds it;
	// script_config: still reads as config.
	type launch struct {
		config string
		kind   ConfigKind
		launch string
		stop   time.Duration
	}
	for bot, want := range map[string]launch{
		"alpha": {"conf_pmm.yml", ConfigScript, LaunchHbot, DefaultStopTimeout},
		"beta":  {"", "", LaunchClassic, DefaultStopTimeout},
		"gamma": {"pmm_1.yml", ConfigController, LaunchHbot, 2 * time.Minute},
	} {
		b := f.Bots[bot]
		if got := (launch{b.Config, b.ConfigKind, b.Launch, b.StopTimeout}); got != want {
			t.Errorf("%s: launch %+v, want %+v", bot, got, want)
		}
	}
	if f.Bots["gamma"].ConfigPath() != "conf/controllers/pmm_1.yml" {
		t.Errorf("gamma's config path %q", f.Bots["gamma"].ConfigPath())
	}
	if f.MaxParallelRestarts != DefaultMaxParallelRestarts {
		t.Errorf("max_parallel_restarts %d", f.MaxParallelRestarts)
	}
	wantShared := []string{"conf/controllers/pmm_1.yml", "conf/scripts/conf_pmm.yml", "controllers/market_making/pmm.py", "scripts/simple_pmm.py"}
	if !slices.Equal(f.Shared, wantShared) {
		t.Errorf("shared %v", f.Shared)
	}
}

func keys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	for _, out := range []string{
		s.String(), s.GoString(),
		sprintf("%v %s %q %+v %#v %x", s, s, s, s, s, s),
		sprintf("%v", SecretField{Name: "k", Value: s}),
		sprintf("%+v", &Credential{Secrets: []SecretField{{"k", s}}}),
	} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") {
			t.Errorf("secret printed: %s", out)
		}
	}
}

// TestPasswordKeptAsWritten: the password is the file's one line, blanks
// and all (Hummingbot accepts a password of blanks, so an imported account
// may have one); only the line break ends it.
func TestPasswordKeptAsWritten(t *testing.T) {
	for _, pw := range []string{"   ", " pw with blanks ", "pässwörd"} {
		dir := t.TempDir()
		fl := baseFleet()
		fl["accounts/team/password.age"] = pw + "\r\n"
		fl.write(t, dir)
		f := loadDir(t, dir)
		if !f.OK() {
			t.Fatalf("%q: problems: %v", pw, f.Problems)
		}
		if got := string(f.Accounts["team"].Password); got != pw {
			t.Errorf("password %q read as %q", pw, got)
		}
	}
}
