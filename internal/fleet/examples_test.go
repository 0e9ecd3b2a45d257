package fleet

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nectarhq/nectar/internal/secrets"
)

const exampleDir = "../../examples/quickstart"

func exampleIdentities(t testing.TB) *secrets.Identities {
	t.Helper()
	ids, err := secrets.LoadIdentities("../../examples/demo-identity.key")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The bundled example must always be a valid fleet: the README and the
// demo start from it.
func TestExampleFleetIsValid(t *testing.T) {
	root, err := os.OpenRoot(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	f := Load(root.FS(), Options{Identities: exampleIdentities(t)})
	if !f.OK() {
		t.Fatalf("examples/quickstart has problems:\n%s", dump(f.Problems))
	}
	if len(f.Accounts) != 2 || len(f.Bots) != 3 {
		t.Errorf("accounts %d, bots %d", len(f.Accounts), len(f.Bots))
	}
	if got := f.Bots["xemm-eth"].Connectors; len(got) != 2 {
		t.Errorf("xemm-eth connectors %v, want both of master_account's", got)
	}
}

// FuzzBot feeds arbitrary bot files to the loader: it must never panic,
// and a bot file's problems must stay that bot's own.
func FuzzBot(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(exampleDir, "bots", "*.yml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("account: &a master\nenv: {A: *a}\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte("account: master\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstestFleet(map[string][]byte{"bots/fuzz.yml": data, "bots/other.yml": []byte("account: master\nlaunch: classic\n")})
		fl := Load(fsys, Options{})
		if _, ok := fl.Bots["fuzz"]; !ok {
			t.Fatal("a bot file must always be listed, broken or not")
		}
		if ps := fl.BotProblems("other"); len(ps) > 0 {
			t.Fatalf("another bot's file disturbed bot other: %v", ps)
		}
	})
}

// FuzzCredential feeds arbitrary credential plaintexts to the parser: it
// must never panic, never return a credential with problems, and never
// quote a secret value in a problem. Each input gets a marked secret value
// in front of the fuzzed text, so the check knows what must stay hidden.
func FuzzCredential(f *testing.F) {
	ids := exampleIdentities(f)
	seeds, _ := filepath.Glob(filepath.Join(exampleDir, "accounts", "*", "*.yml.age"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		plain, err := secrets.Decrypt(data, ids)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain, "v")
	}
	f.Add([]byte("  binance_api_secret: \"unterminated\n"), "x")
	f.Add([]byte("settings: {binance_api_key: x}\n"), "y")
	f.Fuzz(func(t *testing.T, data []byte, secret string) {
		const marker = "ZZMARKER"
		doc := "connector: binance\nsecrets:\n  binance_api_key: " + strconv.Quote(marker+secret) + "\n" + string(data)
		cred, problems := ParseCredential("acct", "binance", []byte(doc))
		if cred != nil && len(problems) > 0 {
			t.Fatal("a credential with problems was returned")
		}
		for _, p := range problems {
			if strings.Contains(p.String(), marker) {
				t.Fatalf("problem quotes a secret value: %s", p)
			}
		}
		if cred == nil {
			// Also parse the fuzzed text alone.
			ParseCredential("acct", "binance", data)
		}
	})
}

// FuzzSettings feeds arbitrary nectar.yaml files to the loader: it must
// never panic, and a file that fails must leave the fleet not OK with at
// least one problem naming nectar.yaml.
func FuzzSettings(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(exampleDir, "nectar.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("fleet: t\nrecipients: []\n"))
	f.Add([]byte("fleet: t\nrecipients: [x]\ndefaults: {image: x, env: {CONFIG_PASSWORD: y}}\n"))
	f.Add([]byte("fleet: &a t\nprune: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstestFleet(map[string][]byte{"bots/a.yml": []byte("account: master\n")})
		fsys.(fstest.MapFS)["nectar.yaml"] = &fstest.MapFile{Data: data}
		fl := Load(fsys, Options{})
		if !fl.SettingsOK() {
			named := false
			for _, p := range fl.Problems {
				named = named || p.File == "nectar.yaml"
			}
			if !named {
				t.Fatalf("settings failed without a problem in nectar.yaml: %v", fl.Problems)
			}
		}
	})
}
