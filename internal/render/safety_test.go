package render

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/crypto/sha3"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// No password and no secret reaches any file nectar writes: connector
// files, manifests, the key file, anything under the state folder.
func TestNoPlaintextOnDisk(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	for _, bot := range []string{"alpha", "beta"} {
		mustRender(t, r, f, bot)
	}
	f.Accounts["main"].Password = "rotated-PASSWORD-marker"
	mustRender(t, r, f, "alpha")
	secrets := append(plantedSecrets, "rotated-PASSWORD-marker")
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			for _, form := range []string{s, hex.EncodeToString([]byte(s))} {
				if bytes.Contains(data, []byte(form)) || strings.Contains(p, s) {
					t.Errorf("%s holds %q", p, s)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("only %d files were searched", n)
	}
}

// The rendered values open with Hummingbot's algorithm written out from
// its definition (PBKDF2-HMAC-SHA256, AES-128-CTR, Keccak-256 MAC), without
// hbcrypt. It costs one real derivation.
func TestIndependentDecrypt(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	mustRender(t, r, testFleet(), "alpha")
	inst := filepath.Join(dir, "instances/alpha")
	values := map[string]string{
		"HummingBot": readFile(t, filepath.Join(inst, PasswordVerification)),
	}
	conn, _ := fields(t, readFile(t, filepath.Join(inst, ConnectorsDir, "binance.yml")))
	values["binance-SECRET-marker"] = conn["binance_api_secret"]

	var key []byte
	for want, value := range values {
		raw, err := hex.DecodeString(value)
		must(t, err)
		var kf struct {
			Crypto struct {
				Cipher       string
				CipherParams struct{ IV string }
				CipherText   string
				KDF          string
				KDFParams    struct {
					C     int
					DKLen int
					PRF   string
					Salt  string
				}
				MAC string
			}
			Version int
		}
		must(t, json.Unmarshal(raw, &kf))
		c := kf.Crypto
		if c.Cipher != "aes-128-ctr" || c.KDF != "pbkdf2" || c.KDFParams.PRF != "hmac-sha256" || c.KDFParams.DKLen != 32 || kf.Version != 3 {
			t.Fatalf("unexpected parameters %+v", kf)
		}
		if key == nil {
			salt, _ := hex.DecodeString(c.KDFParams.Salt)
			key, err = pbkdf2.Key(sha256.New, mainPassword, salt, c.KDFParams.C, 32)
			must(t, err)
		}
		ct, _ := hex.DecodeString(c.CipherText)
		mac := sha3.NewLegacyKeccak256()
		mac.Write(key[16:32])
		mac.Write(ct)
		if got := hex.EncodeToString(mac.Sum(nil)); got != c.MAC {
			t.Fatalf("MAC of %q does not match", want)
		}
		iv, _ := hex.DecodeString(c.CipherParams.IV)
		iv = append(make([]byte, 16-len(iv)), iv...) // Hummingbot drops leading zero bytes
		block, _ := aes.NewCipher(key[:16])
		plain := make([]byte, len(ct))
		cipher.NewCTR(block, iv).XORKeyStream(plain, ct)
		if string(plain) != want {
			t.Errorf("decrypts to %q, want %q", plain, want)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	r, _ := newTestRenderer(t, nil)
	base, err := r.Digest(testFleet(), "alpha")
	must(t, err)
	tests := []struct {
		name    string
		edit    func(f *fleet.Fleet)
		changed bool
	}{
		{"same input", func(f *fleet.Fleet) {}, false},
		{"credential lines reordered", func(f *fleet.Fleet) {
			s := f.Accounts["main"].Credentials["binance"].Secrets
			s[0], s[1] = s[1], s[0]
		}, false},
		{"other account's password", func(f *fleet.Fleet) { f.Accounts["team"].Password = "x" }, false},
		{"bot state", func(f *fleet.Fleet) { f.Bots["alpha"].State = fleet.StateStopped }, false},
		{"password", func(f *fleet.Fleet) { f.Accounts["main"].Password = "new" }, true},
		{"secret value", func(f *fleet.Fleet) {
			f.Accounts["main"].Credentials["binance"].Secrets[0].Value = "other"
		}, true},
		{"setting value", func(f *fleet.Fleet) {
			f.Accounts["main"].Credentials["hyperliquid_perpetual"].Settings[0].Value = true
		}, true},
		{"connector dropped", func(f *fleet.Fleet) { f.Bots["alpha"].Connectors = []string{"binance"} }, true},
		{"client config", func(f *fleet.Fleet) { f.Bots["alpha"].ClientConfig["log_level"] = "DEBUG" }, true},
		{"shared file content", func(f *fleet.Fleet) {
			f.FS.(fstest.MapFS)["scripts/simple_pmm.py"] = &fstest.MapFile{Data: []byte("changed")}
		}, true},
		{"shared file removed", func(f *fleet.Fleet) { f.Shared = f.Shared[1:] }, true},
	}
	for _, tt := range tests {
		f := cloneFleet(testFleet())
		tt.edit(f)
		d, err := r.Digest(f, "alpha")
		must(t, err)
		if (d != base) != tt.changed {
			t.Errorf("%s: digest changed = %v, want %v", tt.name, d != base, tt.changed)
		}
	}
	if d, _ := r.Digest(testFleet(), "beta"); d == base {
		t.Error("two bots share a digest")
	}
	// Another state key gives other digests: they are HMACs, not hashes.
	other, err := New(Options{Dir: t.TempDir()})
	must(t, err)
	if d, _ := other.Digest(testFleet(), "alpha"); d == base {
		t.Error("the digest does not depend on the state key")
	}
}

func TestRenderRefusesIncompleteInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bot  string
		edit func(f *fleet.Fleet)
		want string
	}{
		{"unknown bot", "gamma", func(f *fleet.Fleet) {}, "bot gamma is not in the fleet"},
		{"missing account", "alpha", func(f *fleet.Fleet) { delete(f.Accounts, "main") }, "account main does not exist"},
		{"password not decrypted", "alpha", func(f *fleet.Fleet) { f.Accounts["main"].Password = "" }, "account main has no usable password"},
		{"credential not decrypted", "alpha", func(f *fleet.Fleet) { delete(f.Accounts["main"].Credentials, "binance") }, "credential binance of account main is missing"},
		{"field named connector", "alpha", func(f *fleet.Fleet) {
			c := f.Accounts["main"].Credentials["my_exchange"]
			c.Settings = append(c.Settings, fleet.Field{Name: "connector", Value: "x"})
		}, "field connector appears twice"},
		{"shared file unreadable", "alpha", func(f *fleet.Fleet) { f.Shared = append(f.Shared, "scripts/missing.py") }, "scripts/missing.py"},
		{"shared file outside the shared folders", "alpha", func(f *fleet.Fleet) { f.Shared = append(f.Shared, "data/x") }, "outside scripts/"},
		{"bot name that is a path", "../x", func(f *fleet.Fleet) { f.Bots["../x"] = f.Bots["alpha"] }, "not a valid bot name"},
		{"connector name that is a path", "alpha", func(f *fleet.Fleet) {
			f.Bots["alpha"].Connectors = []string{"../../x"}
		}, "not a valid connector name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, dir := newTestRenderer(t, nil)
			f := cloneFleet(testFleet())
			tt.edit(f)
			_, err := r.Render(f, tt.bot, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for _, s := range plantedSecrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes a secret: %v", err)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "instances", tt.bot)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused render created the instance folder")
			}
		})
	}
}

// The container can write into conf/, so it can plant a symlink there; a
// render must not follow it out of the instance folder.
func TestSymlinkedFolderIsRefused(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	mustRender(t, r, f, "alpha")
	outside := filepath.Join(dir, "outside")
	must(t, os.Mkdir(outside, 0o700))
	conns := filepath.Join(dir, "instances/alpha/conf/connectors")
	must(t, os.RemoveAll(conns))
	must(t, os.Symlink(outside, conns))
	if _, err := r.Render(f, "alpha", nil); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("render wrote %d file(s) through the symlink", len(entries))
	}
}

func TestStateKey(t *testing.T) {
	t.Parallel()
	t.Run("made once, mode 0600, reused", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r1, err := New(Options{Dir: dir})
		must(t, err)
		info, err := os.Stat(filepath.Join(dir, ".nectar-render.key"))
		must(t, err)
		if info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v", info.Mode())
		}
		r2, err := New(Options{Dir: dir})
		must(t, err)
		if !bytes.Equal(r1.key, r2.key) {
			t.Error("a second Renderer made a new key")
		}
	})
	t.Run("state dir layout", func(t *testing.T) {
		t.Parallel()
		state := t.TempDir()
		r, err := New(StateDirOptions(state))
		must(t, err)
		res := mustRender(t, r, testFleet(), "beta")
		if res.Dir != filepath.Join(state, "instances", "beta") {
			t.Errorf("instance folder %s", res.Dir)
		}
		if _, err := os.Stat(filepath.Join(state, "render.key")); err != nil {
			t.Error(err)
		}
	})
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"readable by others", hex.EncodeToString(testKey), 0o644, "readable by other users"},
		{"damaged", "not hex", 0o600, "damaged"},
		{"short", "abcd", 0o600, "damaged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "k")
			must(t, os.WriteFile(keyFile, []byte(tt.content), 0o600))
			must(t, os.Chmod(keyFile, tt.mode))
			if _, err := New(Options{Dir: dir, KeyFile: keyFile}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Bots render concurrently; an account's key is derived once however many
// of its bots are rendered at the same time.
func TestConcurrentRenders(t *testing.T) {
	t.Parallel()
	k := hbcrypt.NewKeyring()
	r, _ := newTestRenderer(t, k)
	f := testFleet()
	for i := range 6 {
		name := "bot" + string(rune('a'+i))
		f.Bots[name] = &fleet.Bot{Name: name, Account: "team", Connectors: []string{"kucoin"}}
	}
	errs := make(chan error, len(f.Bots))
	for name := range f.Bots {
		if name == "alpha" {
			errs <- nil
			continue
		}
		go func() {
			_, err := r.Render(f, name, nil)
			errs <- err
		}()
	}
	for range f.Bots {
		must(t, <-errs)
	}
	if n := k.Derivations(); n != 1 {
		t.Errorf("7 bots of one account derived %d keys, want 1", n)
	}
}
