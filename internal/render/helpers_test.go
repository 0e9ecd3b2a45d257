package render

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// Every test renders with the same state key and Keyring, so an account's
// salt is the same in every test and each (account, password) pair costs one
// PBKDF2 derivation at Hummingbot's real 1,000,000 iterations for the whole
// test binary (hbcrypt offers no way to lower the count from outside).
var (
	testKey     = bytes.Repeat([]byte{0x42}, keySize)
	testKeyring = hbcrypt.NewKeyring()
)

// newTestRenderer returns a Renderer over a fresh folder, with the shared
// test key and the given Keyring (the shared one when nil).
func newTestRenderer(t testing.TB, k *hbcrypt.Keyring) (*Renderer, string) {
	t.Helper()
	dir := t.TempDir()
	return openTestRenderer(t, dir, k), dir
}

func openTestRenderer(t testing.TB, dir string, k *hbcrypt.Keyring) *Renderer {
	t.Helper()
	keyFile := filepath.Join(dir, "render.key")
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(testKey)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if k == nil {
		k = testKeyring
	}
	r, err := New(Options{Dir: filepath.Join(dir, "instances"), KeyFile: keyFile, Keyring: k})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Values planted in the test fleet; none may ever appear in a rendered file.
const (
	mainPassword = "main-PASSWORD-marker"
	teamPassword = "team-PASSWORD-marker"
)

var plantedSecrets = []string{
	mainPassword, teamPassword,
	"binance-KEY-marker", "binance-SECRET-marker",
	"0xHL-ADDRESS-marker", "hl-SECRET-KEY-marker",
	"kucoin-KEY-marker", "kucoin-SECRET-marker", "kucoin-PASS-marker",
	"custom-TOKEN-marker ключ 🔑",
}

// testFleet is a small fleet built in memory:
//
//	account main: binance, hyperliquid_perpetual (with settings), my_exchange (unknown)
//	account team: kucoin
//	bot alpha (main): binance, hyperliquid_perpetual, my_exchange; client_config set
//	bot beta (team): kucoin
//	shared files: a script, a nested controller, a script config, a controller config
func testFleet() *fleet.Fleet {
	shared := fstest.MapFS{
		"scripts/simple_pmm.py":                 {Data: []byte("# a script\nprint('pmm')\n")},
		"controllers/market_making/pmm_v1.py":   {Data: []byte("# a controller\n")},
		"conf/scripts/conf_pmm.yml":             {Data: []byte("script_file_name: simple_pmm.py\n")},
		"conf/controllers/conf_controller.yml":  {Data: []byte("controller_name: pmm_v1\n")},
		"nectar.yaml":                           {Data: []byte("not read by render\n")},
		"accounts/main/password.age":            {Data: []byte("not read by render\n")},
		"bots/alpha.yml":                        {Data: []byte("not read by render\n")},
		"controllers/market_making/__init__.py": {Data: []byte("")},
	}
	f := &fleet.Fleet{
		Name: "test",
		FS:   shared,
		Shared: []string{
			"conf/controllers/conf_controller.yml",
			"conf/scripts/conf_pmm.yml",
			"controllers/market_making/__init__.py",
			"controllers/market_making/pmm_v1.py",
			"scripts/simple_pmm.py",
		},
		Accounts: map[string]*fleet.Account{
			"main": {
				Name:       "main",
				Password:   mainPassword,
				Connectors: []string{"binance", "hyperliquid_perpetual", "my_exchange"},
				Credentials: map[string]*fleet.Credential{
					"binance": {Account: "main", Connector: "binance", Secrets: []fleet.SecretField{
						// Out of the table's order on purpose.
						{Name: "binance_api_secret", Value: "binance-SECRET-marker"},
						{Name: "binance_api_key", Value: "binance-KEY-marker"},
					}},
					"hyperliquid_perpetual": {Account: "main", Connector: "hyperliquid_perpetual",
						Secrets: []fleet.SecretField{
							{Name: "hyperliquid_perpetual_address", Value: "0xHL-ADDRESS-marker"},
							{Name: "hyperliquid_perpetual_secret_key", Value: "hl-SECRET-KEY-marker"},
						},
						Settings: []fleet.Field{
							{Name: "use_vault", Value: false},
							{Name: "hyperliquid_perpetual_mode", Value: "arb_wallet"},
						}},
					"my_exchange": {Account: "main", Connector: "my_exchange",
						Secrets: []fleet.SecretField{{Name: "token", Value: "custom-TOKEN-marker ключ 🔑"}},
						Settings: []fleet.Field{
							{Name: "region", Value: "eu"},
							{Name: "ratio", Value: 1.0},
							{Name: "answer", Value: "yes"},
							{Name: "pairs", Value: []any{"BTC-USDT", int64(3)}},
						}},
				},
			},
			"team": {
				Name:       "team",
				Password:   teamPassword,
				Connectors: []string{"kucoin"},
				Credentials: map[string]*fleet.Credential{
					"kucoin": {Account: "team", Connector: "kucoin", Secrets: []fleet.SecretField{
						{Name: "kucoin_api_key", Value: "kucoin-KEY-marker"},
						{Name: "kucoin_secret_key", Value: "kucoin-SECRET-marker"},
						{Name: "kucoin_passphrase", Value: "kucoin-PASS-marker"},
					}},
				},
			},
		},
		Bots: map[string]*fleet.Bot{
			"alpha": {
				Name: "alpha", Account: "main", State: fleet.StateRunning,
				Connectors: []string{"binance", "hyperliquid_perpetual", "my_exchange"},
				ClientConfig: map[string]any{
					"kill_switch_mode": map[string]any{"kill_switch_rate": int64(10)},
					"log_level":        "INFO",
				},
			},
			"beta": {Name: "beta", Account: "team", State: fleet.StateRunning, Connectors: []string{"kucoin"}},
		},
	}
	return f
}

// cloneFleet copies what tests change (bots, accounts, credentials lists),
// so table cases do not see each other's edits.
func cloneFleet(f *fleet.Fleet) *fleet.Fleet {
	c := *f
	c.Shared = slices.Clone(f.Shared)
	c.Bots = map[string]*fleet.Bot{}
	for n, b := range f.Bots {
		bc := *b
		bc.Connectors = slices.Clone(b.Connectors)
		bc.ClientConfig = maps.Clone(b.ClientConfig)
		c.Bots[n] = &bc
	}
	c.Accounts = map[string]*fleet.Account{}
	for n, a := range f.Accounts {
		ac := *a
		ac.Credentials = map[string]*fleet.Credential{}
		for cn, cr := range a.Credentials {
			crc := *cr
			crc.Secrets = slices.Clone(cr.Secrets)
			crc.Settings = slices.Clone(cr.Settings)
			ac.Credentials[cn] = &crc
		}
		c.Accounts[n] = &ac
	}
	return &c
}

func mustRender(t testing.TB, r *Renderer, f *fleet.Fleet, bot string) *Result {
	t.Helper()
	res, err := r.Render(f, bot, nil)
	if err != nil {
		t.Fatalf("Render(%s): %v", bot, err)
	}
	return res
}

// fileStamp identifies one version of a file on disk: a rewrite through a
// temporary file and rename changes the inode, an in-place write the
// modification time.
type fileStamp struct {
	ino   uint64
	mtime time.Time
	size  int64
	mode  fs.FileMode
}

// snapshot stamps every entry under dir, folders included.
func snapshot(t testing.TB, dir string) map[string]fileStamp {
	t.Helper()
	out := map[string]fileStamp{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := fileStamp{mtime: info.ModTime(), size: info.Size(), mode: info.Mode()}
		if sys, ok := info.Sys().(*syscall.Stat_t); ok {
			st.ino = sys.Ino
		}
		out[filepath.ToSlash(rel)] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changedEntries lists the paths whose stamps differ between two snapshots.
func changedEntries(before, after map[string]fileStamp) []string {
	var out []string
	for p, b := range before {
		if a, ok := after[p]; !ok || a != b {
			out = append(out, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// fields parses a connector file's "name: value" lines (blank lines and the
// banner skipped) into a map and the order of names.
func fields(t testing.TB, text string) (map[string]string, []string) {
	t.Helper()
	m := map[string]string{}
	var order []string
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q is not name: value", line)
		}
		m[k] = v
		order = append(order, k)
	}
	return m, order
}
