package manage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/secrets"
)

func newTestFolder(t *testing.T) (Folder, *secrets.Identities) {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), "age.key")
	recipient, err := secrets.GenerateIdentity(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Init(dir, InitOptions{Fleet: "test", Recipients: []string{recipient}}); err != nil {
		t.Fatal(err)
	}
	ids, err := secrets.LoadIdentities(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return Folder{Dir: dir}, ids
}

func binanceCred() *fleet.Credential {
	return &fleet.Credential{Connector: "binance", Secrets: []fleet.SecretField{
		{Name: "binance_api_key", Value: "KEY-marker"},
		{Name: "binance_api_secret", Value: "SECRET-marker"},
	}}
}

func TestImportAccount(t *testing.T) {
	t.Parallel()
	f, ids := newTestFolder(t)
	dex := &fleet.Credential{Connector: "my_dex", Secrets: []fleet.SecretField{{Name: "token", Value: "T"}}}
	if _, err := f.ImportAccount("refused", "PASSWORD-marker", []*fleet.Credential{dex}); err == nil || !strings.Contains(err.Error(), "my_dex is not a connector of Hummingbot") {
		t.Fatalf("an unlisted connector was imported: %v", err)
	}
	settings := filepath.Join(f.Dir, fleet.SettingsFile)
	data, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, append(data, "extra_connectors: [my_dex]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := []*fleet.Credential{
		binanceCred(),
		{Connector: "my_dex", Secrets: []fleet.SecretField{{Name: "token", Value: "TOKEN-marker"}},
			Settings: []fleet.Field{{Name: "region", Value: "eu"}, {Name: "limit", Value: int64(5)}}},
	}
	written, err := f.ImportAccount("imported", "PASSWORD-marker", creds)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accounts/imported/password.age", "accounts/imported/binance.yml.age", "accounts/imported/my_dex.yml.age"}
	if !slices.Equal(written, want) {
		t.Errorf("written = %q, want %q", written, want)
	}
	fl, err := f.Load(ids)
	if err != nil {
		t.Fatal(err)
	}
	if !fl.OK() {
		t.Fatalf("the imported fleet has problems: %v", fl.Problems)
	}
	acct := fl.Accounts["imported"]
	if acct.Password.Reveal() != "PASSWORD-marker" {
		t.Errorf("password did not round-trip")
	}
	dex = acct.Credentials["my_dex"]
	if len(dex.Secrets) != 1 || dex.Secrets[0].Value.Reveal() != "TOKEN-marker" ||
		len(dex.Settings) != 2 || dex.Settings[1].Value != int64(5) {
		t.Errorf("my_dex came back as %+v", dex)
	}
	for _, p := range written {
		data, err := os.ReadFile(filepath.Join(f.Dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "marker") {
			t.Errorf("%s holds a plaintext", p)
		}
	}

	if _, err := f.ImportAccount("imported", "PASSWORD-marker", creds); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second import into the same account: %v", err)
	}
}

func TestImportAccountRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		account  string
		password string
		creds    []*fleet.Credential
		want     string
	}{
		{"bad account name", "Imported", "pw", nil, "invalid account name"},
		{"empty password", "imported", "", nil, "password is empty"},
		{"password of two lines", "imported", "pw\nmore", nil, "several lines"},
		{"password with a NUL", "imported", "pw\x00more", nil, "control character"},
		{"password not UTF-8", "imported", "pw\xe9", nil, "not valid UTF-8"},
		{"missing required field", "imported", "pw", []*fleet.Credential{
			binanceCred(),
			{Connector: "kucoin", Secrets: []fleet.SecretField{{Name: "kucoin_api_key", Value: "k"}}},
		}, "connector kucoin: missing required field kucoin_secret_key"},
		{"secret under settings", "imported", "pw", []*fleet.Credential{
			{Connector: "binance", Secrets: []fleet.SecretField{{Name: "binance_api_key", Value: "k"}},
				Settings: []fleet.Field{{Name: "binance_api_secret", Value: "s"}}},
		}, "binance_api_secret is a secret field of binance"},
		{"connector twice", "imported", "pw", []*fleet.Credential{binanceCred(), binanceCred()}, "imported twice"},
		{"bad connector name", "imported", "pw", []*fleet.Credential{{Connector: "Bin"}}, "invalid connector name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newTestFolder(t)
			_, err := f.ImportAccount(tt.account, tt.password, tt.creds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if _, err := os.Lstat(filepath.Join(f.Dir, "accounts", tt.account)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused import left accounts/%s behind", tt.account)
			}
		})
	}
}
