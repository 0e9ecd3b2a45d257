package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// secretPlain is the plaintext most tests encrypt; no error may quote it.
const secretPlain = "connector: binance\nsecrets:\n  binance_api_key: SECRET-API-KEY-1234\n"

// newKey returns a fresh X25519 identity and Identities holding only it.
func newKey(t testing.TB) (*age.X25519Identity, *Identities) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, &Identities{List: []age.Identity{id}, Origin: "test", Recipients: []string{id.Recipient().String()}}
}

// encryptBinary returns unarmored age ciphertext, as `age -e` writes it.
func encryptBinary(t testing.TB, plain []byte, rs ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// armorBytes wraps a binary age file in ASCII armor.
func armorBytes(t testing.TB, bin []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := armor.NewWriter(&buf)
	w.Write(bin)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustEncrypt(t testing.TB, plain []byte, rs ...age.Recipient) []byte {
	t.Helper()
	ct, err := Encrypt(plain, rs)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// sshKey returns a new ssh-ed25519 private key in OpenSSH PEM form and
// its public key in authorized_keys form.
func sshKey(t testing.TB) (private []byte, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test@nectar")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkSafe fails when an error message shows any of secrets.
func checkSafe(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(secrets, "SECRET-API-KEY") {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error shows secret material %q: %v", s, err)
		}
	}
	if m := secretKeyRE.FindString(err.Error()); m != "" {
		t.Fatalf("error shows an age secret key %q: %v", m, err)
	}
}

var secretKeyRE = regexp.MustCompile(`AGE-SECRET-KEY-1[0-9A-Z]{8}`)

// isClassified reports whether err is one Decrypt documents.
func isClassified(err error) bool {
	var nfy *NotForYouError
	return errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, ErrNoIdentity) || errors.As(err, &nfy)
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	me, ids := newKey(t)
	other, _ := newKey(t)
	sshPriv, sshPub := sshKey(t)
	sshIDs, err := parseIdentities(sshPriv, "ssh test key")
	if err != nil {
		t.Fatal(err)
	}
	sshRecipients, err := ParseRecipients([]string{sshPub})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		plain []byte
		to    []age.Recipient
		ids   *Identities
	}{
		{"empty", nil, []age.Recipient{me.Recipient()}, ids},
		{"one byte", []byte("x"), []age.Recipient{me.Recipient()}, ids},
		{"credential", []byte(secretPlain), []age.Recipient{me.Recipient()}, ids},
		{"utf-8 and binary", []byte("pässwörd\x00\xff\n"), []age.Recipient{me.Recipient()}, ids},
		{"exactly one chunk", bytes.Repeat([]byte{'a'}, 64<<10), []age.Recipient{me.Recipient()}, ids},
		{"several chunks", bytes.Repeat([]byte("0123456789"), 30000), []age.Recipient{me.Recipient()}, ids},
		{"second of two recipients", []byte(secretPlain), []age.Recipient{other.Recipient(), me.Recipient()}, ids},
		{"ssh-ed25519 recipient", []byte(secretPlain), sshRecipients, sshIDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			armored := mustEncrypt(t, tt.plain, tt.to...)
			if !bytes.HasPrefix(armored, []byte(armor.Header+"\n")) {
				t.Fatalf("Encrypt does not armor: %.40q", armored)
			}
			inputs := map[string][]byte{
				"armored":                  armored,
				"binary":                   encryptBinary(t, tt.plain, tt.to...),
				"armored with whitespace":  append(append([]byte("\n  \n"), armored...), "\n\n"...),
				"armored with CRLF":        bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n")),
				"armored by age's library": armorBytes(t, encryptBinary(t, tt.plain, tt.to...)),
			}
			for name, in := range inputs {
				got, err := Decrypt(in, tt.ids)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(got, tt.plain) {
					t.Fatalf("%s: got %d bytes, want %d", name, len(got), len(tt.plain))
				}
			}
		})
	}
}

func TestDecryptVectorsFromAgeCLI(t *testing.T) {
	ids, err := parseIdentities(readTestdata(t, "cli.key"), "testdata/cli.key")
	if err != nil {
		t.Fatal(err)
	}
	sshIDs, err := parseIdentities(readTestdata(t, "ssh_ed25519"), "testdata/ssh_ed25519")
	if err != nil {
		t.Fatal(err)
	}
	const want = "connector: binance\nsecrets:\n  binance_api_key: k\n"
	tests := []struct {
		file string
		ids  *Identities
	}{
		{"cli-binary.age", ids},
		{"cli-armored.age", ids},
		{"cli-ssh-and-x25519.age", sshIDs},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Decrypt(readTestdata(t, tt.file), tt.ids)
			if err != nil || string(got) != want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestDecryptErrors(t *testing.T) {
	me, ids := newKey(t)
	plain := []byte(secretPlain)
	binary := encryptBinary(t, plain, me.Recipient())
	armored := mustEncrypt(t, plain, me.Recipient())
	headerLen := bytes.Index(binary, []byte("\n---")) + 1
	headerLen += bytes.IndexByte(binary[headerLen:], '\n') + 1
	footer := bytes.LastIndex(armored, []byte(armor.Footer))
	big := encryptBinary(t, bytes.Repeat([]byte{'z'}, 3*64<<10+100), me.Recipient())
	const chunk = 64<<10 + 16

	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"only whitespace", []byte(" \n"), ErrCorrupt},
		{"plaintext YAML", []byte(secretPlain), ErrCorrupt},
		{"an identity file", readTestdata(t, "cli.key"), ErrCorrupt},
		{"age v2", []byte("age-encryption.org/v2\n-> X 1\nAAAA\n--- x\n"), ErrCorrupt},
		{"cut inside the intro", binary[:10], ErrTruncated},
		{"cut after the intro", binary[:len("age-encryption.org/v1\n")], ErrTruncated},
		{"cut inside a stanza", binary[:40], ErrTruncated},
		{"cut inside the MAC line", binary[:headerLen-5], ErrTruncated},
		{"cut after the header", binary[:headerLen], ErrTruncated},
		{"cut inside the nonce", binary[:headerLen+8], ErrTruncated},
		{"cut after the nonce", binary[:headerLen+16], ErrTruncated},
		{"cut inside the payload", binary[:len(binary)-20], ErrCorrupt},
		{"cut the last byte", binary[:len(binary)-1], ErrCorrupt},
		{"cut at a chunk boundary", big[:len(big)-(len(big)-headerLenOf(t, big)-16)%chunk], ErrTruncated},
		{"trailing data", append(bytes.Clone(binary), 0), ErrCorrupt},
		{"payload byte flipped", flip(binary, len(binary)-10), ErrCorrupt},
		{"nonce byte flipped", flip(binary, headerLen+3), ErrCorrupt},
		{"header MAC flipped", flip(binary, headerLen-10), ErrCorrupt},
		{"intro flipped", flip(binary, 3), ErrCorrupt},
		{"armor cut inside BEGIN", armored[:12], ErrTruncated},
		{"armor cut mid body", armored[:len(armored)/2], ErrTruncated},
		{"armor cut before END", armored[:footer], ErrTruncated},
		{"armor cut inside END", armored[:footer+10], ErrTruncated},
		{"armor body byte changed", bytes.Replace(armored, []byte("\n"), []byte("\n!"), 2), ErrCorrupt},
		{"armor with data after END", append(bytes.Clone(armored), "trailer\n"...), ErrCorrupt},
		{"armor wrapping a non-age file", armorBytes(t, []byte(secretPlain)), ErrCorrupt},
		{"input over 1 MiB", append(bytes.Clone(binary), make([]byte, MaxFileSize)...), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt(tt.in, ids)
			if got != nil {
				t.Fatalf("returned %d plaintext bytes with error %v", len(got), err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			checkSafe(t, err, me.String())
		})
	}
}

// headerLenOf returns the length of the header of a binary age file.
func headerLenOf(t testing.TB, bin []byte) int {
	t.Helper()
	h, err := parseHeader(bin)
	if err != nil {
		t.Fatal(err)
	}
	return h.Len
}

// TestDecryptEveryPrefixAndFlip cuts a file at every length and flips every
// bit of every byte: Decrypt must fail each time, with a documented error,
// and never return a plaintext.
func TestDecryptEveryPrefixAndFlip(t *testing.T) {
	me, ids := newKey(t)
	binary := encryptBinary(t, []byte(secretPlain), me.Recipient())
	armored := mustEncrypt(t, []byte(secretPlain), me.Recipient())
	for name, file := range map[string][]byte{"binary": binary, "armored": armored} {
		t.Run(name+" prefixes", func(t *testing.T) {
			for n := range len(file) {
				got, err := Decrypt(file[:n], ids)
				if n == len(file)-1 && name == "armored" {
					// Only the newline after the END line is gone: still valid.
					if string(got) != secretPlain {
						t.Fatalf("without the final newline: %v", err)
					}
					continue
				}
				if got != nil || err == nil {
					t.Fatalf("cut at %d: got %d bytes, err %v", n, len(got), err)
				}
				// A prefix is never NotForYouError: our stanza comes first.
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("cut at %d: err = %v", n, err)
				}
			}
		})
	}
	t.Run("binary bit flips", func(t *testing.T) {
		for i := range binary {
			for bit := range 8 {
				c := bytes.Clone(binary)
				c[i] ^= 1 << bit
				got, err := Decrypt(c, ids)
				if got != nil || err == nil || !isClassified(err) {
					t.Fatalf("byte %d bit %d: got %d bytes, err %v", i, bit, len(got), err)
				}
			}
		}
	})
}

func TestNotForYou(t *testing.T) {
	me, ids := newKey(t)
	other, _ := newKey(t)
	sshPriv, sshPub := sshKey(t)
	sshIDs, err := parseIdentities(sshPriv, "--identity ~/.ssh/id_ed25519")
	if err != nil {
		t.Fatal(err)
	}
	sshRs, _ := ParseRecipients([]string{sshPub})
	otherSSHPriv, otherSSHPub := sshKey(t)
	otherSSHRs, _ := ParseRecipients([]string{otherSSHPub})
	otherSSHIDs, _ := parseIdentities(otherSSHPriv, "x")
	scrypt, err := age.NewScryptRecipient("a passphrase")
	if err != nil {
		t.Fatal(err)
	}
	scrypt.SetWorkFactor(10)
	cliSSH, err := parseIdentities(readTestdata(t, "ssh_ed25519"), "x")
	if err != nil {
		t.Fatal(err)
	}
	cliSSHTag := strings.TrimPrefix(describeRecipient(cliSSH.Recipients[0]), "ssh-ed25519 tag ")

	tests := []struct {
		name        string
		file        []byte
		ids         *Identities
		wantStanzas []string
		wantMsg     []string
	}{
		{
			name:        "two X25519 recipients",
			file:        mustEncrypt(t, []byte(secretPlain), other.Recipient(), other.Recipient()),
			ids:         ids,
			wantStanzas: []string{"X25519", "X25519"},
			wantMsg:     []string{"encrypted to 2 recipients (X25519, X25519), none of them your key " + me.Recipient().String() + " (from test)"},
		},
		{
			name:        "age CLI file to two other keys",
			file:        readTestdata(t, "cli-not-for-you.age"),
			ids:         ids,
			wantStanzas: []string{"X25519", "X25519"},
			wantMsg:     []string{"encrypted to 2 recipients (X25519, X25519)"},
		},
		{
			name:        "ssh key file read with an age key",
			file:        readTestdata(t, "cli-ssh-and-x25519.age"),
			ids:         ids,
			wantStanzas: []string{"X25519", "ssh-ed25519 tag " + cliSSHTag},
			wantMsg:     []string{"(X25519, ssh-ed25519 tag " + cliSSHTag + ")"},
		},
		{
			name:        "another ssh key",
			file:        mustEncrypt(t, []byte(secretPlain), otherSSHRs...),
			ids:         sshIDs,
			wantStanzas: []string{describeRecipient(otherSSHIDs.Recipients[0])},
			wantMsg: []string{
				"encrypted to 1 recipient (" + describeRecipient(otherSSHIDs.Recipients[0]) + "), not your key " +
					describeRecipient(sshIDs.Recipients[0]) + " (from --identity ~/.ssh/id_ed25519)",
			},
		},
		{
			name:        "age key file read with an ssh key",
			file:        mustEncrypt(t, []byte(secretPlain), me.Recipient()),
			ids:         sshIDs,
			wantStanzas: []string{"X25519"},
		},
		{
			name:        "ssh file read with an age key",
			file:        mustEncrypt(t, []byte(secretPlain), sshRs...),
			ids:         ids,
			wantStanzas: []string{describeRecipient(sshIDs.Recipients[0])},
		},
		{
			name:        "passphrase",
			file:        mustEncrypt(t, []byte(secretPlain), scrypt),
			ids:         ids,
			wantStanzas: []string{"scrypt"},
			wantMsg:     []string{"encrypted with a passphrase (scrypt), not to your key " + me.Recipient().String() + " (from test)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt(tt.file, tt.ids)
			if got != nil {
				t.Fatal("returned a plaintext")
			}
			nfy, ok := errors.AsType[*NotForYouError](err)
			if !ok {
				t.Fatalf("err = %v, want *NotForYouError", err)
			}
			if fmt.Sprint(nfy.Stanzas) != fmt.Sprint(tt.wantStanzas) {
				t.Errorf("Stanzas = %q, want %q", nfy.Stanzas, tt.wantStanzas)
			}
			if fmt.Sprint(nfy.YourRecipients) != fmt.Sprint(tt.ids.Recipients) || nfy.Origin != tt.ids.Origin {
				t.Errorf("YourRecipients, Origin = %q, %q", nfy.YourRecipients, nfy.Origin)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q\nlacks %q", err, want)
				}
			}
			checkSafe(t, err, me.String())
		})
	}
}

func TestNotForYouErrorMessage(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = "X25519"
	}
	tests := []struct {
		name string
		err  NotForYouError
		want string
	}{
		{
			"one key",
			NotForYouError{Stanzas: []string{"X25519"}, YourRecipients: []string{"age1me"}, Origin: "NECTAR_AGE_KEY"},
			"encrypted to 1 recipient (X25519), not your key age1me (from NECTAR_AGE_KEY)",
		},
		{
			"several keys",
			NotForYouError{Stanzas: []string{"X25519", "ssh-rsa tag AbCdEf"}, YourRecipients: []string{"age1a", "age1b"}, Origin: "--identity k"},
			"encrypted to 2 recipients (X25519, ssh-rsa tag AbCdEf), none of them your keys age1a, age1b (from --identity k)",
		},
		{
			"long list",
			NotForYouError{Stanzas: many, YourRecipients: []string{"age1me"}},
			"encrypted to 12 recipients (X25519, X25519, X25519, X25519, X25519, X25519, X25519, X25519, and 4 more), none of them your key age1me",
		},
		{
			"passphrase",
			NotForYouError{Stanzas: []string{"scrypt"}, YourRecipients: []string{"age1me"}, Origin: "o"},
			"encrypted with a passphrase (scrypt), not to your key age1me (from o)",
		},
		{
			"ssh key of yours",
			NotForYouError{Stanzas: []string{"X25519"}, YourRecipients: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkhQ10qnScrcv3NfFK6NdsDkaaFuWcUx9ForjsLLyhw c"}},
			"encrypted to 1 recipient (X25519), not your key ssh-ed25519 tag i60QpA",
		},
		{
			"no keys",
			NotForYouError{Stanzas: []string{"X25519"}},
			"encrypted to 1 recipient (X25519), and no key of yours",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecryptNoIdentity(t *testing.T) {
	me, _ := newKey(t)
	ct := mustEncrypt(t, []byte("x"), me.Recipient())
	for _, ids := range []*Identities{nil, {Origin: "empty"}} {
		if _, err := Decrypt(ct, ids); !errors.Is(err, ErrNoIdentity) {
			t.Errorf("ids %v: err = %v", ids, err)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	me, ids := newKey(t)
	t.Run("input over MaxFileSize", func(t *testing.T) {
		in := append([]byte(armor.Header+"\n"), bytes.Repeat([]byte("A"), MaxFileSize)...)
		if _, err := Decrypt(in, ids); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("plaintext over the limit", func(t *testing.T) {
		// An input under MaxFileSize always holds less plaintext than that,
		// so the plaintext check is exercised with a smaller limit.
		ct := encryptBinary(t, bytes.Repeat([]byte{'p'}, 5000), me.Recipient())
		got, err := decrypt(ct, ids, MaxFileSize, 4999)
		if got != nil || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %d bytes, err = %v", len(got), err)
		}
		if got, err := decrypt(ct, ids, MaxFileSize, 5000); err != nil || len(got) != 5000 {
			t.Fatalf("at the limit: %d bytes, %v", len(got), err)
		}
	})
	t.Run("Encrypt plaintext over MaxFileSize", func(t *testing.T) {
		if _, err := Encrypt(make([]byte, MaxFileSize+1), []age.Recipient{me.Recipient()}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Encrypt result over MaxFileSize", func(t *testing.T) {
		// Armor grows the file by a third: this plaintext fits the limit
		// but its age file would not, and Decrypt would refuse it.
		_, err := Encrypt(make([]byte, 900<<10), []age.Recipient{me.Recipient()})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("largest file Encrypt writes is read back", func(t *testing.T) {
		plain := make([]byte, 750<<10)
		ct, err := Encrypt(plain, []age.Recipient{me.Recipient()})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decrypt(ct, ids); err != nil || len(got) != len(plain) {
			t.Fatalf("%d bytes, %v", len(got), err)
		}
	})
}

func TestEncryptErrors(t *testing.T) {
	hybrid, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	classic, _ := newKey(t)
	tests := []struct {
		name string
		rs   []age.Recipient
	}{
		{"no recipients", nil},
		{"post-quantum mixed with classic", []age.Recipient{hybrid.Recipient(), classic.Recipient()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ct, err := Encrypt([]byte(secretPlain), tt.rs); err == nil || ct != nil {
				t.Fatalf("got %d bytes, err %v", len(ct), err)
			}
		})
	}
}

func TestIsAgeFile(t *testing.T) {
	me, _ := newKey(t)
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"armored", mustEncrypt(t, []byte("x"), me.Recipient()), true},
		{"armored after blank lines", append([]byte("\n\n"), mustEncrypt(t, []byte("x"), me.Recipient())...), true},
		{"binary", encryptBinary(t, []byte("x"), me.Recipient()), true},
		{"binary, another version", []byte("age-encryption.org/v2\n"), true},
		{"empty", nil, false},
		{"YAML", []byte(secretPlain), false},
		{"PEM", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"), false},
		{"identity", readTestdata(t, "cli.key"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsAgeFile(tt.in); got != tt.want {
				t.Errorf("IsAgeFile = %v, want %v", got, tt.want)
			}
		})
	}
}

// The identity types ParseIdentities returns for SSH keys must be agessh's,
// so age tries native identities first and SSH ones after.
func TestSSHIdentityType(t *testing.T) {
	priv, _ := sshKey(t)
	ids, err := parseIdentities(priv, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ids.List[0].(*agessh.Ed25519Identity); !ok {
		t.Fatalf("identity is a %T", ids.List[0])
	}
}
