package hbcrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

var testSalt = []byte("nectar-test-salt")

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	plaintexts := [][]byte{
		nil,
		[]byte("HummingBot"),
		[]byte("x"),
		bytes.Repeat([]byte("b"), 15),
		bytes.Repeat([]byte("b"), 16),
		bytes.Repeat([]byte("b"), 17),
		{0x00, 0xff, 0xfe, 0x80}, // not UTF-8: values are bytes
		bytes.Repeat([]byte{0xc3}, MaxPlaintextSize),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		plaintexts = append(plaintexts, []byte(randomText(rng, rng.IntN(120))))
	}

	k := newTestKeyring(nil)
	for _, password := range []string{"", "a", "pässwörd 🔑", strings.Repeat("long", 100)} {
		for _, p := range plaintexts {
			salt := testSalt
			if len(p) == MaxPlaintextSize {
				salt = bytes.Repeat([]byte{1}, maxSaltSize) // the largest value Encrypt writes
			}
			value, err := k.Encrypt(password, salt, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(value) > MaxValueSize {
				t.Fatalf("a %d-byte plaintext gave a %d-byte value, over MaxValueSize", len(p), len(value))
			}
			got, err := k.Decrypt(password, value)
			if err != nil {
				t.Fatalf("Decrypt(Encrypt(%q)): %v", p, err)
			}
			if !bytes.Equal(got, p) {
				t.Fatalf("Decrypt(Encrypt(%q)) = %q", p, got)
			}
		}
	}
	if n := k.Derivations(); n != 8 {
		t.Errorf("Derivations = %d, want 8 (one per password and salt)", n)
	}
}

// randomText returns n random code points from all of Unicode.
func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		r := rune(rng.IntN(utf8.MaxRune + 1))
		if utf8.ValidRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestEncryptIsRandomized(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(nil)
	a, _ := k.Encrypt("pw", testSalt, []byte("same"))
	b, _ := k.Encrypt("pw", testSalt, []byte("same"))
	if a == b {
		t.Fatal("two encryptions of one plaintext are identical; the IV must be fresh")
	}
}

// Hummingbot writes the IV as int_to_big_endian(iv): leading zero bytes
// vanish. Writing must do the same, and reading must put them back.
func TestIVLeadingZeros(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, iv, written string
	}{
		{"none", "9a0000000000000000000000000000ff", "9a0000000000000000000000000000ff"},
		{"one zero byte", "00f1e2d3c4b5a6978800112233445566", "f1e2d3c4b5a6978800112233445566"},
		{"two zero bytes", "0000e2d3c4b5a6978800112233445566", "e2d3c4b5a6978800112233445566"},
		{"zero nibble is kept", "0ff1e2d3c4b5a6978800112233445566", "0ff1e2d3c4b5a6978800112233445566"},
		{"fifteen zero bytes", "00000000000000000000000000000001", "01"},
		{"all zero", "00000000000000000000000000000000", "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newTestKeyring(bytes.NewReader(mustHex(t, tt.iv)))
			value, err := k.Encrypt("pw", testSalt, []byte("secret across blocks: 0123456789"))
			if err != nil {
				t.Fatal(err)
			}
			if got := ivField(t, value); got != tt.written {
				t.Errorf("iv written as %q, want %q", got, tt.written)
			}
			got, err := k.Decrypt("pw", value)
			if err != nil || string(got) != "secret across blocks: 0123456789" {
				t.Errorf("Decrypt = %q, %v", got, err)
			}
			v, err := parse(value)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(v.iv[:]) != tt.iv {
				t.Errorf("iv read back as %x, want %s", v.iv, tt.iv)
			}
		})
	}
}

func ivField(t *testing.T, value string) string {
	t.Helper()
	var tree struct {
		Crypto struct {
			CipherParams struct{ IV string } `json:"cipherparams"`
		} `json:"crypto"`
	}
	if err := json.Unmarshal(mustHex(t, value), &tree); err != nil {
		t.Fatal(err)
	}
	return tree.Crypto.CipherParams.IV
}

// mutate returns a copy of a keyfile tree changed by f.
func mutate(tree map[string]any, f func(m map[string]any)) map[string]any {
	var c map[string]any
	b, _ := json.Marshal(tree)
	_ = json.Unmarshal(b, &c)
	f(c)
	return c
}

func sub(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func renameKeys(m map[string]any, rename func(string) string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if s, ok := v.(map[string]any); ok {
			v = renameKeys(s, rename)
		}
		out[rename(k)] = v
	}
	return out
}

// testTree is a valid keyfile for password "pw" and plaintext "secret",
// made by the reference implementation.
func testTree() map[string]any {
	return refEncrypt("pw", testSalt, mustHexNoT("c0ffee00112233445566778899aabbcc"), 8, []byte("secret"))
}

func mustHexNoT(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecryptAcceptedForms(t *testing.T) {
	t.Parallel()
	base := testTree()
	valid := encodeTree(t, base)
	tests := []struct {
		name  string
		value string
	}{
		{"as written", valid},
		{"upper-case keys", encodeTree(t, renameKeys(base, strings.ToUpper))},
		{"mixed-case keys", encodeTree(t, renameKeys(base, func(s string) string {
			mixed := map[string]string{"crypto": "Crypto", "cipher": "CIPHER", "kdfparams": "KdfParams", "version": "Version", "mac": "mAC"}
			if m, ok := mixed[s]; ok {
				return m
			}
			return s
		}))},
		{"no alias", encodeTree(t, mutate(base, func(m map[string]any) { delete(m, "alias") }))},
		{"id and address", encodeTree(t, mutate(base, func(m map[string]any) {
			m["id"] = "3198bc9c-6672-5ab3-d995-4942343ae5b6"
			m["address"] = "008aeeda4d805471df9b2a5b0f38a0c3bcba786b"
		}))},
		{"upper-case hex inside", encodeTree(t, mutate(base, func(m map[string]any) {
			c := sub(m, "crypto")
			c["mac"] = strings.ToUpper(c["mac"].(string))
			c["ciphertext"] = strings.ToUpper(c["ciphertext"].(string))
		}))},
		{"0x prefixes", encodeTree(t, mutate(base, func(m map[string]any) {
			c := sub(m, "crypto")
			c["mac"] = "0x" + c["mac"].(string)
			sub(c, "kdfparams")["salt"] = "0X" + sub(c, "kdfparams")["salt"].(string)
			sub(c, "cipherparams")["iv"] = "0x" + sub(c, "cipherparams")["iv"].(string)
		}))},
		{"upper-case cipher name", encodeTree(t, mutate(base, func(m map[string]any) { sub(m, "crypto")["cipher"] = "AES-128-CTR" }))},
		{"upper-case outer hex", strings.ToUpper(valid)},
		{"surrounding white space", " \t" + valid + "\r\n"},
		{"scrypt", encodeTree(t, refEncryptScrypt("pw", testSalt, mustHex(t, "0102"), 4, 1, 1, []byte("secret")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := NewKeyring().Decrypt("pw", tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "secret" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestDecryptMalformed(t *testing.T) {
	t.Parallel()
	base := testTree()
	valid := encodeTree(t, base)
	hexOf := func(s string) string { return hex.EncodeToString([]byte(s)) }
	with := func(f func(m map[string]any)) string { return encodeTree(t, mutate(base, f)) }
	crypto := func(m map[string]any) map[string]any { return sub(m, "crypto") }
	kdfParams := func(m map[string]any) map[string]any { return sub(m, "crypto", "kdfparams") }
	scryptWith := func(n, r, p any) string {
		return with(func(m map[string]any) {
			crypto(m)["kdf"] = "scrypt"
			crypto(m)["kdfparams"] = map[string]any{"n": n, "r": r, "p": p, "dklen": 32, "salt": "00"}
		})
	}
	// A raw JSON text can express what a map cannot: duplicates, odd numbers.
	rawWith := func(old, new string) string {
		raw := string(mustHex(t, valid))
		if !strings.Contains(raw, old) {
			t.Fatalf("test setup: %q not in %s", old, raw)
		}
		return hexOf(strings.Replace(raw, old, new, 1))
	}

	tests := []struct {
		name, value, field string
	}{
		{"empty", "", ""},
		{"only white space", " \n", ""},
		{"not hex", "zz" + valid[2:], ""},
		{"odd length hex", valid[:len(valid)-1], ""},
		{"truncated hex", valid[:len(valid)/2], ""},
		{"too long", strings.Repeat("00", MaxValueSize/2+1), ""},
		{"not JSON", hexOf("hello"), ""},
		{"JSON array", hexOf(`[1, 2]`), ""},
		{"trailing data", hexOf(string(mustHex(t, valid)) + " {}"), ""},
		{"invalid UTF-8", hexOf("{\"crypto\": \"\xff\"}"), ""},
		{"missing version", with(func(m map[string]any) { delete(m, "version") }), "version"},
		{"version 1", with(func(m map[string]any) { m["version"] = 1 }), "version"},
		{"version as string", with(func(m map[string]any) { m["version"] = "3" }), "version"},
		{"missing crypto", with(func(m map[string]any) { delete(m, "crypto") }), "crypto"},
		{"crypto not an object", with(func(m map[string]any) { m["crypto"] = "x" }), "crypto"},
		{"duplicate key by case", rawWith(`"version":3`, `"version":3,"VERSION":3`), "version"},
		{"missing cipher", with(func(m map[string]any) { delete(crypto(m), "cipher") }), "crypto.cipher"},
		{"unsupported cipher", with(func(m map[string]any) { crypto(m)["cipher"] = "aes-256-gcm" }), "crypto.cipher"},
		{"cipher not a string", with(func(m map[string]any) { crypto(m)["cipher"] = 128 }), "crypto.cipher"},
		{"missing iv", with(func(m map[string]any) { delete(sub(m, "crypto", "cipherparams"), "iv") }), "crypto.cipherparams.iv"},
		{"iv of 17 bytes", with(func(m map[string]any) { sub(m, "crypto", "cipherparams")["iv"] = strings.Repeat("ab", 17) }), "crypto.cipherparams.iv"},
		{"iv odd length", with(func(m map[string]any) { sub(m, "crypto", "cipherparams")["iv"] = "abc" }), "crypto.cipherparams.iv"},
		{"ciphertext not hex", with(func(m map[string]any) { crypto(m)["ciphertext"] = "secret" }), "crypto.ciphertext"},
		{"mac too short", with(func(m map[string]any) { crypto(m)["mac"] = "abcd" }), "crypto.mac"},
		{"unsupported kdf", with(func(m map[string]any) { crypto(m)["kdf"] = "argon2id" }), "crypto.kdf"},
		{"kdf in upper case", with(func(m map[string]any) { crypto(m)["kdf"] = "PBKDF2" }), "crypto.kdf"},
		{"missing kdfparams", with(func(m map[string]any) { delete(crypto(m), "kdfparams") }), "crypto.kdfparams"},
		{"unsupported prf", with(func(m map[string]any) { kdfParams(m)["prf"] = "hmac-sha512" }), "crypto.kdfparams.prf"},
		{"dklen 16", with(func(m map[string]any) { kdfParams(m)["dklen"] = 16 }), "crypto.kdfparams.dklen"},
		{"c zero", with(func(m map[string]any) { kdfParams(m)["c"] = 0 }), "crypto.kdfparams.c"},
		{"c negative", with(func(m map[string]any) { kdfParams(m)["c"] = -5 }), "crypto.kdfparams.c"},
		{"c over the cap", with(func(m map[string]any) { kdfParams(m)["c"] = maxIterations + 1 }), "crypto.kdfparams.c"},
		{"c of 10^12", with(func(m map[string]any) { kdfParams(m)["c"] = 1_000_000_000_000 }), "crypto.kdfparams.c"},
		{"c beyond int64", rawWith(`"c":8`, `"c":99999999999999999999999`), "crypto.kdfparams.c"},
		{"c as float", rawWith(`"c":8`, `"c":8.0`), "crypto.kdfparams.c"},
		{"c in exponent form", rawWith(`"c":8`, `"c":8e0`), "crypto.kdfparams.c"},
		{"c as string", rawWith(`"c":8`, `"c":"8"`), "crypto.kdfparams.c"},
		{"missing salt", with(func(m map[string]any) { delete(kdfParams(m), "salt") }), "crypto.kdfparams.salt"},
		{"scrypt n not a power of two", scryptWith(1000, 1, 1), "crypto.kdfparams.n"},
		{"scrypt n of 1", scryptWith(1, 1, 1), "crypto.kdfparams.n"},
		{"scrypt n of 2^40", scryptWith(1<<40, 1, 1), "crypto.kdfparams.n"},
		{"scrypt n over the cap", scryptWith(maxScryptN*2, 1, 1), "crypto.kdfparams.n"},
		{"scrypt memory over the cap", scryptWith(1<<18, 16, 1), "crypto.kdfparams.r"},
		{"scrypt huge r", scryptWith(1<<18, 1<<62, 1), "crypto.kdfparams.r"},
		{"scrypt r zero", scryptWith(1<<10, 0, 1), "crypto.kdfparams.r"},
		{"scrypt work over the cap", scryptWith(1<<18, 8, 4), "crypto.kdfparams.p"},
		{"scrypt huge p", scryptWith(2, 1, 1<<62), "crypto.kdfparams.p"},
		{"scrypt p missing", with(func(m map[string]any) {
			crypto(m)["kdf"] = "scrypt"
			crypto(m)["kdfparams"] = map[string]any{"n": 2, "r": 1, "dklen": 32, "salt": "00"}
		}), "crypto.kdfparams.p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := NewKeyring()
			_, err := k.Decrypt("pw", tt.value)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decrypt error = %v, want a *FormatError", err)
			}
			if errors.Is(err, ErrWrongPassword) {
				t.Fatalf("a malformed value must not look like a wrong password: %v", err)
			}
			if fe.Field != tt.field {
				t.Errorf("FormatError.Field = %q, want %q (error: %v)", fe.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), "malformed Hummingbot secret value: ") {
				t.Errorf("error %q lacks the usual prefix", err)
			}
			if _, err := Inspect(tt.value); !errors.As(err, &fe) {
				t.Errorf("Inspect error = %v, want a *FormatError", err)
			}
			if n := k.Derivations(); n != 0 {
				t.Errorf("a malformed value cost %d derivations, want 0", n)
			}
		})
	}
}

// The MAC covers the derived key and the ciphertext, so any change to
// either reads as a wrong password. It does not cover the IV, a known gap
// of the format: a changed IV decrypts, to the wrong bytes.
func TestTampering(t *testing.T) {
	t.Parallel()
	base := testTree()
	flip := func(s string) string { // change the last hex digit
		last := s[len(s)-1]
		if last == '0' {
			return s[:len(s)-1] + "1"
		}
		return s[:len(s)-1] + "0"
	}
	tests := []struct {
		name string
		f    func(m map[string]any)
	}{
		{"ciphertext", func(m map[string]any) { c := sub(m, "crypto"); c["ciphertext"] = flip(c["ciphertext"].(string)) }},
		{"ciphertext shortened", func(m map[string]any) { c := sub(m, "crypto"); c["ciphertext"] = c["ciphertext"].(string)[2:] }},
		{"mac", func(m map[string]any) { c := sub(m, "crypto"); c["mac"] = flip(c["mac"].(string)) }},
		{"salt", func(m map[string]any) { p := sub(m, "crypto", "kdfparams"); p["salt"] = flip(p["salt"].(string)) }},
		{"iteration count", func(m map[string]any) { sub(m, "crypto", "kdfparams")["c"] = 9 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewKeyring().Decrypt("pw", encodeTree(t, mutate(base, tt.f)))
			if !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("err = %v, want ErrWrongPassword", err)
			}
			if err.Error() != "wrong password or corrupted value" {
				t.Errorf("message %q should name both causes", err)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		if _, err := NewKeyring().Decrypt("PW", encodeTree(t, base)); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("err = %v, want ErrWrongPassword", err)
		}
	})
	t.Run("iv is not authenticated", func(t *testing.T) {
		t.Parallel()
		value := encodeTree(t, mutate(base, func(m map[string]any) {
			p := sub(m, "crypto", "cipherparams")
			p["iv"] = flip(p["iv"].(string))
		}))
		got, err := NewKeyring().Decrypt("pw", value)
		if err != nil || string(got) == "secret" {
			t.Fatalf("Decrypt = %q, %v; want garbage and no error", got, err)
		}
	})
}

func TestVerifyPasswordOtherWord(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(nil)
	value, err := k.Encrypt("pw", testSalt, []byte("NotHummingBot"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.VerifyPassword("pw", value); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("VerifyPassword on another word = %v, want ErrWrongPassword", err)
	}
	pv, err := k.PasswordVerification("pw", testSalt)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.VerifyPassword("pw", pv); err != nil {
		t.Fatalf("VerifyPassword = %v", err)
	}
	var fe *FormatError
	if err := k.VerifyPassword("pw", "not hex"); !errors.As(err, &fe) {
		t.Fatalf("VerifyPassword on garbage = %v, want a *FormatError", err)
	}
}

func TestEncryptErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		k         *Keyring
		salt      []byte
		plaintext []byte
		want      string
	}{
		{"no salt", newTestKeyring(nil), nil, []byte("x"), "salt is 0 bytes"},
		{"short salt", newTestKeyring(nil), make([]byte, SaltSize-1), []byte("x"), "salt is 15 bytes"},
		{"long salt", newTestKeyring(nil), make([]byte, 65), []byte("x"), "salt is 65 bytes; it must be 16 to 64"},
		{"plaintext too large", newTestKeyring(nil), testSalt, make([]byte, MaxPlaintextSize+1), "at most 8192"},
		{"random source fails", newTestKeyring(iotest.ErrReader(errors.New("no entropy"))), testSalt, []byte("x"), "cannot read a random IV: no entropy"},
		{"random source runs dry", newTestKeyring(bytes.NewReader(make([]byte, 15))), testSalt, []byte("x"), "cannot read a random IV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			value, err := tt.k.Encrypt("pw", tt.salt, tt.plaintext)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encrypt = %q, %v; want an error containing %q", value, err, tt.want)
			}
		})
	}
}

// No error may quote a password or a plaintext.
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	t.Parallel()
	const password, secret = "hunter2-password", "sk-live-secret"
	k := newTestKeyring(nil)
	good, err := k.Encrypt(password, testSalt, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	_, e := k.Decrypt("wrong-"+password, good)
	errs = append(errs, e)
	_, e = k.Decrypt(password, good[:len(good)-2])
	errs = append(errs, e)
	errs = append(errs, k.VerifyPassword(password, good))
	_, e = k.Encrypt(password, []byte("short"), []byte(secret))
	errs = append(errs, e)
	_, e = k.Encrypt(password, testSalt, []byte(strings.Repeat(secret, MaxPlaintextSize)))
	errs = append(errs, e)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), secret) {
			t.Errorf("case %d: error %q quotes a secret", i, err)
		}
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(nil)
	value, err := k.Encrypt("pw", testSalt, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Inspect(value)
	if err != nil {
		t.Fatal(err)
	}
	if p.KDF != KDFPBKDF2 || p.Iterations != testIterations || !bytes.Equal(p.Salt, testSalt) || p.N != 0 {
		t.Errorf("Inspect = %+v", p)
	}
	if k.Derivations() != 1 {
		t.Errorf("Inspect derived a key")
	}

	// Reusing the salt Inspect found costs nothing more.
	if _, err := k.Encrypt("pw", p.Salt, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if k.Derivations() != 1 {
		t.Errorf("Derivations = %d, want 1", k.Derivations())
	}
}

func TestNewSalt(t *testing.T) {
	t.Parallel()
	a, b := NewSalt(), NewSalt()
	if len(a) != SaltSize || bytes.Equal(a, b) {
		t.Fatalf("NewSalt gave %x and %x", a, b)
	}
}
