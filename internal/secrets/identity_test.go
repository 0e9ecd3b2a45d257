package secrets

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// identityEnv points every place LoadIdentities looks into a temporary
// folder with nothing in it, and returns that folder.
func identityEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv(EnvKeyFile, "")
	t.Setenv(EnvKey, "")
	return dir
}

// writeKey writes a new identity to path and returns its text and recipient.
func writeKey(t *testing.T, path string) (text []byte, recipient string) {
	t.Helper()
	text, recipient, err := NewIdentityText()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return text, recipient
}

func TestLoadIdentitiesOrder(t *testing.T) {
	type sources struct{ flag, envFile, envKey, xdg, home bool }
	tests := []struct {
		name       string
		set        sources
		wantFrom   string // which source's key must be loaded
		wantOrigin string // a regexp; DIR is the temporary folder
	}{
		{"all four: the flag wins", sources{true, true, true, true, true}, "flag", `^--identity DIR/flag\.key$`},
		{"no flag: NECTAR_AGE_KEY_FILE", sources{false, true, true, true, true}, "envFile", `^NECTAR_AGE_KEY_FILE=DIR/env\.key$`},
		{"no file: NECTAR_AGE_KEY", sources{false, false, true, true, true}, "envKey", `^NECTAR_AGE_KEY$`},
		{"no variable: XDG_CONFIG_HOME", sources{false, false, false, true, true}, "xdg", `^DIR/xdg/nectar/age\.key$`},
		{"no XDG_CONFIG_HOME: ~/.config", sources{false, false, false, false, true}, "home", `^DIR/home/\.config/nectar/age\.key$`},
		{"flag alone", sources{flag: true}, "flag", `^--identity `},
		{"NECTAR_AGE_KEY over the default", sources{envKey: true, home: true}, "envKey", `^NECTAR_AGE_KEY$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := identityEnv(t)
			recipients := map[string]string{}
			flag := ""
			if tt.set.flag {
				flag = filepath.Join(dir, "flag.key")
				_, recipients["flag"] = writeKey(t, flag)
			}
			if tt.set.envFile {
				p := filepath.Join(dir, "env.key")
				_, recipients["envFile"] = writeKey(t, p)
				t.Setenv(EnvKeyFile, p)
			}
			if tt.set.envKey {
				text, r, err := NewIdentityText()
				if err != nil {
					t.Fatal(err)
				}
				recipients["envKey"] = r
				t.Setenv(EnvKey, string(text))
			}
			if tt.set.xdg {
				// Without the key in it, XDG_CONFIG_HOME would still win
				// over ~/.config; the home key is then never looked at.
				t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
				_, recipients["xdg"] = writeKey(t, filepath.Join(dir, "xdg", "nectar", "age.key"))
			}
			if tt.set.home {
				_, recipients["home"] = writeKey(t, filepath.Join(dir, "home", ".config", "nectar", "age.key"))
			}

			ids, err := LoadIdentities(flag)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids.List) != 1 || len(ids.Recipients) != 1 || ids.Recipients[0] != recipients[tt.wantFrom] {
				t.Errorf("loaded %q, want the %s key %s", ids.Recipients, tt.wantFrom, recipients[tt.wantFrom])
			}
			re := regexp.MustCompile(strings.ReplaceAll(tt.wantOrigin, "DIR", regexp.QuoteMeta(dir)))
			if !re.MatchString(ids.Origin) {
				t.Errorf("Origin = %q, want %s", ids.Origin, re)
			}
		})
	}
}

func TestLoadIdentitiesNone(t *testing.T) {
	dir := identityEnv(t)
	ids, err := LoadIdentities("")
	if ids != nil || !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("got %v, %v", ids, err)
	}
	for _, place := range []string{"--identity", "$NECTAR_AGE_KEY_FILE", "$NECTAR_AGE_KEY", filepath.Join(dir, "home", ".config", "nectar", "age.key")} {
		if !strings.Contains(err.Error(), place) {
			t.Errorf("message %q does not name %s", err, place)
		}
	}

	t.Run("XDG_CONFIG_HOME set, no key there", func(t *testing.T) {
		// A key under ~/.config is not used when XDG_CONFIG_HOME says
		// configuration lives elsewhere.
		writeKey(t, filepath.Join(dir, "home", ".config", "nectar", "age.key"))
		t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
		_, err := LoadIdentities("")
		if !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), filepath.Join(dir, "xdg", "nectar", "age.key")) {
			t.Fatalf("err = %v", err)
		}
	})
}

// A file the user names must exist; nectar does not fall back to another
// key. Its absence is ErrNoIdentity, so `nectar init --identity NEW` can
// make it.
func TestLoadIdentitiesNamedFileMissing(t *testing.T) {
	tests := []struct {
		name       string
		flag, env  bool
		wantOrigin string
	}{
		{"--identity", true, false, "--identity "},
		{"NECTAR_AGE_KEY_FILE", false, true, "NECTAR_AGE_KEY_FILE="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := identityEnv(t)
			writeKey(t, filepath.Join(dir, "home", ".config", "nectar", "age.key"))
			missing := filepath.Join(dir, "missing.key")
			flag := ""
			if tt.flag {
				flag = missing
			}
			if tt.env {
				t.Setenv(EnvKeyFile, missing)
			}
			ids, err := LoadIdentities(flag)
			if ids != nil || !errors.Is(err, ErrNoIdentity) || !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("got %v, %v", ids, err)
			}
			want := "no age identity found: " + tt.wantOrigin + missing + ": the file does not exist"
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	}
}

func TestLoadIdentitiesFormats(t *testing.T) {
	k1, _ := age.GenerateX25519Identity()
	k2, _ := age.GenerateX25519Identity()
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	edPriv, edPub := sshKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaOpenSSH, _ := ssh.MarshalPrivateKey(rsaKey, "")
	rsaPKCS1 := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	rsaRecipient := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(rsaPub)))

	tests := []struct {
		name string
		text string
		want []string
	}{
		{"age-keygen output", string(FormatIdentity(k1, time.Now())), []string{k1.Recipient().String()}},
		{"bare key, no newline", k1.String(), []string{k1.Recipient().String()}},
		{"several keys with comments and blank lines",
			"# mine\n\n" + k1.String() + "\n   \n# old one\n" + k2.String() + "\n",
			[]string{k1.Recipient().String(), k2.Recipient().String()}},
		{"CRLF and indentation", "# created: x\r\n  " + k1.String() + "  \r\n", []string{k1.Recipient().String()}},
		{"post-quantum key", pq.String() + "\n", []string{pq.Recipient().String()}},
		{"age CLI key file", string(readTestdata(t, "cli.key")), []string{"age1fj5xgz4k25kv89tn7y4wvnum2mhy8n29xxwwc572jzw68r4tpcgqrm4dy3"}},
		{"OpenSSH ed25519", string(edPriv), []string{edPub}},
		{"ssh-keygen ed25519", string(readTestdata(t, "ssh_ed25519")), []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkhQ10qnScrcv3NfFK6NdsDkaaFuWcUx9ForjsLLyhw"}},
		{"OpenSSH RSA", string(pem.EncodeToMemory(rsaOpenSSH)), []string{rsaRecipient}},
		{"PKCS#1 RSA", string(pem.EncodeToMemory(rsaPKCS1)), []string{rsaRecipient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := identityEnv(t)
			p := filepath.Join(dir, "key")
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			fromFile, err := LoadIdentities(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv(EnvKey, tt.text)
			fromEnv, err := LoadIdentities("")
			if err != nil {
				t.Fatal(err)
			}
			for _, ids := range []*Identities{fromFile, fromEnv} {
				if strings.Join(ids.Recipients, "|") != strings.Join(tt.want, "|") || len(ids.List) != len(tt.want) {
					t.Fatalf("%s: recipients %q, want %q", ids.Origin, ids.Recipients, tt.want)
				}
				// Every recipient is one ParseRecipients reads, and a file
				// encrypted to it decrypts with the identity.
				rs, err := ParseRecipients(ids.Recipients)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range rs {
					plain, err := Decrypt(mustEncrypt(t, []byte(secretPlain), r), ids)
					if err != nil || string(plain) != secretPlain {
						t.Fatalf("recipient %d: %v", i, err)
					}
				}
			}
		})
	}
}

func TestLoadIdentitiesBad(t *testing.T) {
	k, _ := age.GenerateX25519Identity()
	secret := k.String()
	// A checksum error in the last character keeps the rest a real key.
	last := "Q"
	if strings.HasSuffix(secret, last) {
		last = "P"
	}
	broken := secret[:len(secret)-1] + last
	edPriv, _ := sshKey(t)
	_, edPrivKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encrypted, err := ssh.MarshalPrivateKeyWithPassphrase(edPrivKey, "", []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecBlock, err := ssh.MarshalPrivateKey(ecKey, "")
	if err != nil {
		t.Fatal(err)
	}
	me, _ := newKey(t)
	encryptedIdentity := mustEncrypt(t, []byte(secret+"\n"), me.Recipient())

	tests := []struct {
		name string
		text string
		want string // in the message, after the origin
	}{
		{"empty", "", "holds no key"},
		{"comments only", "# created: now\n# public key: age1xyz\n", "holds no key"},
		{"bad checksum", "# c\n" + broken + "\n", "line 2 is a malformed age secret key"},
		{"truncated key", secret[:40] + "\n", "line 1 is a malformed age secret key"},
		{"key with trailing junk", secret + "junk\n", "line 1 is a malformed age secret key"},
		{"a recipient", "# c\n\n" + k.Recipient().String() + "\n", "line 3 is a public key (a recipient), not a secret key"},
		{"an ssh public key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkhQ10qnScrcv3NfFK6NdsDkaaFuWcUx9ForjsLLyhw\n", "line 1 is an SSH public key"},
		{"a plugin identity", "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n", "line 1 is an age plugin identity"},
		{"garbage", secret + "\nhello SECRET-API-KEY-1234\n", "line 2 is not an age secret key"},
		{"ssh key with a passphrase", string(pem.EncodeToMemory(encrypted)), "is an SSH key protected by a passphrase"},
		{"damaged ssh key", strings.Replace(string(edPriv), "b3BlbnNzaC1rZXktdjE", "b3BlbnNzaC1rZXktdjF", 1), "is not a readable SSH private key"},
		{"ecdsa ssh key", string(pem.EncodeToMemory(ecBlock)), "is an SSH key of a type age cannot use; age supports ssh-ed25519 and ssh-rsa keys"},
		{"passphrase-encrypted age identity", string(encryptedIdentity), "is an encrypted (passphrase-protected) age identity file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := identityEnv(t)
			p := filepath.Join(dir, "bad.key")
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadIdentities(p)
			if err == nil || errors.Is(err, ErrNoIdentity) {
				t.Fatalf("err = %v", err)
			}
			if want := "the age identity (--identity " + p + ") " + tt.want; !strings.Contains(err.Error(), want) {
				t.Errorf("message %q\nlacks %q", err, want)
			}
			checkSafe(t, err, secret, broken, secret[:40], "SECRET-API-KEY", "b3BlbnNzaC1rZXktdjE")

			if tt.text == "" {
				return // an empty NECTAR_AGE_KEY is an unset one
			}
			t.Setenv(EnvKey, tt.text)
			_, err = LoadIdentities("")
			if err == nil || !strings.Contains(err.Error(), "the age identity (NECTAR_AGE_KEY) "+tt.want) {
				t.Errorf("from the environment: %v", err)
			}
			checkSafe(t, err, secret, broken, secret[:40])
		})
	}
}

func TestLoadIdentitiesKeyVariableHoldsAPath(t *testing.T) {
	for _, v := range []string{"/home/op/.config/nectar/age.key", "~/age.key", "./key", "keys/prod.key"} {
		t.Run(v, func(t *testing.T) {
			identityEnv(t)
			t.Setenv(EnvKey, v)
			_, err := LoadIdentities("")
			if err == nil || !strings.Contains(err.Error(), "name a key file with $NECTAR_AGE_KEY_FILE") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestLoadIdentitiesUnreadable(t *testing.T) {
	dir := identityEnv(t)
	t.Run("a folder", func(t *testing.T) {
		_, err := LoadIdentities(dir)
		if err == nil || errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "is a folder") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the default path is a folder", func(t *testing.T) {
		p := filepath.Join(dir, "home", ".config", "nectar", "age.key")
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		_, err := LoadIdentities("")
		if err == nil || errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), p) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := filepath.Join(dir, "huge.key")
		if err := os.WriteFile(p, bytes.Repeat([]byte("#\n"), MaxFileSize), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadIdentities(p)
		if err == nil || !strings.Contains(err.Error(), "over 1048576 bytes") {
			t.Fatalf("err = %v", err)
		}
	})
	if os.Geteuid() != 0 { // root reads any file
		t.Run("no permission", func(t *testing.T) {
			p := filepath.Join(dir, "locked.key")
			writeKey(t, p)
			os.Chmod(p, 0)
			_, err := LoadIdentities(p)
			if err == nil || errors.Is(err, ErrNoIdentity) || !errors.Is(err, fs.ErrPermission) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestDefaultIdentityPath(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"XDG_CONFIG_HOME", "/xdg", "/home/u", "/xdg/nectar/age.key"},
		{"no XDG_CONFIG_HOME", "", "/home/u", "/home/u/.config/nectar/age.key"},
		{"relative XDG_CONFIG_HOME is ignored", "rel/dir", "/home/u", "/home/u/.config/nectar/age.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultIdentityPath()
			if err != nil || got != filepath.FromSlash(tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

var identityTextRE = regexp.MustCompile(`^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n# public key: (age1[02-9ac-hj-np-z]{58})\n(AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58})\n$`)

func TestNewIdentityText(t *testing.T) {
	text, recipient, err := NewIdentityText()
	if err != nil {
		t.Fatal(err)
	}
	m := identityTextRE.FindStringSubmatch(string(text))
	if m == nil {
		t.Fatalf("not in age-keygen's form:\n%s", text)
	}
	if m[2] != recipient {
		t.Errorf("public key line %s, recipient %s", m[2], recipient)
	}
	id, err := age.ParseX25519Identity(m[3])
	if err != nil || id.Recipient().String() != recipient {
		t.Errorf("the secret key is not the recipient's: %v", err)
	}
	other, _, _ := NewIdentityText()
	if bytes.Equal(text, other) {
		t.Error("two identities are the same")
	}
}

func TestFormatIdentity(t *testing.T) {
	id, err := age.ParseX25519Identity("AGE-SECRET-KEY-1XRXTA2U40LR0NURKMHE7ANUYX40GDMD4PE7C5GGZXNSKXV6E0LXSJPEA5J")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 22, 8, 50, 0, 0, time.UTC)
	// testdata/cli.key was written by age-keygen for this key at this time.
	if got, want := FormatIdentity(id, created), readTestdata(t, "cli.key"); !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant (age-keygen)\n%s", got, want)
	}
}

func TestGenerateIdentity(t *testing.T) {
	t.Run("new folders and modes", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "a", "b", "age.key")
		recipient, err := GenerateIdentity(p)
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]fs.FileMode{p: 0o600, filepath.Dir(p): 0o700, filepath.Join(dir, "a"): 0o700} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
			}
		}
		text, _ := os.ReadFile(p)
		if m := identityTextRE.FindStringSubmatch(string(text)); m == nil || m[2] != recipient {
			t.Errorf("file is not in age-keygen's form for %s:\n%s", recipient, text)
		}
		ids, err := LoadIdentities(p)
		if err != nil || ids.Recipients[0] != recipient {
			t.Fatalf("%v, %v", ids, err)
		}
	})
	t.Run("never overwrites", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "age.key")
		if err := os.WriteFile(p, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := GenerateIdentity(p)
		if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "never overwrites") {
			t.Fatalf("err = %v", err)
		}
		if got, _ := os.ReadFile(p); string(got) != "precious" {
			t.Fatalf("file changed to %q", got)
		}
	})
	t.Run("dash is a file name", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if _, err := GenerateIdentity("-"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("-"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := GenerateIdentity(""); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("existing folder keeps its mode", func(t *testing.T) {
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		if _, err := GenerateIdentity(filepath.Join(dir, "k")); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(dir); st.Mode().Perm() != 0o755 {
			t.Errorf("folder mode changed to %v", st.Mode().Perm())
		}
	})
}
