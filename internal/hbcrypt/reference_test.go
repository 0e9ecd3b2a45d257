package hbcrypt

// A second, deliberately naive implementation of the format, written from
// the Web3 Secret Storage definition and eth_keyfile's behaviour rather than
// from this package: PBKDF2 and CTR are spelled out by hand, the JSON is a
// generic tree. Tests check that each implementation reads what the other
// writes.

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"
	"golang.org/x/crypto/sha3"
)

// refPBKDF2 computes the first (and, for 32 bytes, only) block of
// PBKDF2-HMAC-SHA256 as RFC 8018 section 5.2 defines it.
func refPBKDF2(password string, salt []byte, c int) []byte {
	prf := hmac.New(sha256.New, []byte(password))
	prf.Write(salt)
	prf.Write([]byte{0, 0, 0, 1})
	u := prf.Sum(nil)
	t := bytes.Clone(u)
	for i := 1; i < c; i++ {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		for j := range t {
			t[j] ^= u[j]
		}
	}
	return t
}

// refCTR encrypts counter blocks one by one, the counter being the IV read
// as a big-endian integer and incremented modulo 2^128.
func refCTR(key, iv, in []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	counter := new(big.Int).SetBytes(iv)
	modulus := new(big.Int).Lsh(big.NewInt(1), 128)
	out := make([]byte, len(in))
	var ctrBlock, stream [16]byte
	for off := 0; off < len(in); off += 16 {
		counter.FillBytes(ctrBlock[:])
		block.Encrypt(stream[:], ctrBlock[:])
		for i := off; i < len(in) && i < off+16; i++ {
			out[i] = in[i] ^ stream[i-off]
		}
		counter.Add(counter, big.NewInt(1))
		counter.Mod(counter, modulus)
	}
	return out
}

func refKeccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// refEncrypt builds a keyfile tree with PBKDF2. The IV is written exactly as
// given, so tests can hand-make short IVs.
func refEncrypt(password string, salt, iv []byte, c int, plaintext []byte) map[string]any {
	dk := refPBKDF2(password, salt, c)
	ct := refCTR(dk[:16], iv, plaintext)
	return map[string]any{
		"crypto": map[string]any{
			"cipher":       "aes-128-ctr",
			"cipherparams": map[string]any{"iv": hex.EncodeToString(iv)},
			"ciphertext":   hex.EncodeToString(ct),
			"kdf":          "pbkdf2",
			"kdfparams": map[string]any{
				"c": c, "dklen": 32, "prf": "hmac-sha256", "salt": hex.EncodeToString(salt),
			},
			"mac": hex.EncodeToString(refKeccak(dk[16:32], ct)),
		},
		"version": 3,
		"alias":   "",
	}
}

// refEncryptScrypt is refEncrypt with scrypt instead of PBKDF2.
func refEncryptScrypt(password string, salt, iv []byte, n, r, p int, plaintext []byte) map[string]any {
	dk, err := scrypt.Key([]byte(password), salt, n, r, p, 32)
	if err != nil {
		panic(err)
	}
	ct := refCTR(dk[:16], iv, plaintext)
	return map[string]any{
		"crypto": map[string]any{
			"cipher":       "aes-128-ctr",
			"cipherparams": map[string]any{"iv": hex.EncodeToString(iv)},
			"ciphertext":   hex.EncodeToString(ct),
			"kdf":          "scrypt",
			"kdfparams": map[string]any{
				"n": n, "r": r, "p": p, "dklen": 32, "salt": hex.EncodeToString(salt),
			},
			"mac": hex.EncodeToString(refKeccak(dk[16:32], ct)),
		},
		"version": 3,
	}
}

// encodeTree turns a keyfile tree into a value (hex of its JSON).
func encodeTree(t testing.TB, tree any) string {
	t.Helper()
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// refDecrypt reads a value the way eth_keyfile does: hex, JSON, keys
// lower-cased, then KDF, MAC and CTR.
func refDecrypt(password, value string) ([]byte, error) {
	raw, err := hex.DecodeString(value)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	tree = refLowerKeys(tree)
	if tree["version"] != 3.0 {
		return nil, errors.New("not version 3")
	}
	crypto := tree["crypto"].(map[string]any)
	params := crypto["kdfparams"].(map[string]any)
	salt := refHex(params["salt"])
	var dk []byte
	switch crypto["kdf"] {
	case "pbkdf2":
		dk = refPBKDF2(password, salt, int(params["c"].(float64)))
	case "scrypt":
		dk, err = scrypt.Key([]byte(password), salt,
			int(params["n"].(float64)), int(params["r"].(float64)), int(params["p"].(float64)), 32)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("kdf %v", crypto["kdf"])
	}
	ct := refHex(crypto["ciphertext"])
	if !hmac.Equal(refKeccak(dk[16:32], ct), refHex(crypto["mac"])) {
		return nil, errors.New("MAC mismatch")
	}
	return refCTR(dk[:16], refHex(crypto["cipherparams"].(map[string]any)["iv"]), ct), nil
}

func refLowerKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = refLowerKeys(sub)
		}
		out[strings.ToLower(k)] = v
	}
	return out
}

func refHex(v any) []byte {
	s := strings.TrimPrefix(strings.TrimPrefix(v.(string), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The reference must itself be right before it can judge the package.
func TestReferenceAgainstVector(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		if v.name != "pbkdf2-sha256" {
			continue // the reference's scrypt is the library's; nothing to learn
		}
		if got := refPBKDF2(v.password, v.want.Salt, v.want.Iterations); !bytes.Equal(got, v.derivedKey) {
			t.Fatalf("reference PBKDF2 = %x, want %x", got, v.derivedKey)
		}
		got, err := refDecrypt(v.password, v.value)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, v.expected) {
			t.Fatalf("reference decrypts to %x, want %x", got, v.expected)
		}
	}
}

func TestReferenceReadsPackageOutput(t *testing.T) {
	t.Parallel()
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	tests := []struct {
		name      string
		iv        string // hex, 16 bytes
		plaintext string
		wantIV    string // the iv field as Hummingbot writes it
	}{
		{"plain", "8d3ce0d694ab119c4615f956dde8960c", "HummingBot", "8d3ce0d694ab119c4615f956dde8960c"},
		{"one leading zero byte", "003ce0d694ab119c4615f956dde8960c", "api-key-1", "3ce0d694ab119c4615f956dde8960c"},
		{"two leading zero bytes", "0000e0d694ab119c4615f956dde8960c", "api-key-2", "e0d694ab119c4615f956dde8960c"},
		{"leading zero nibble only", "0f3ce0d694ab119c4615f956dde8960c", "x", "0f3ce0d694ab119c4615f956dde8960c"},
		{"all zero", "00000000000000000000000000000000", "zero IV", "00"},
		{"counter wraps at 2^128", "ffffffffffffffffffffffffffffffff", strings.Repeat("wrap", 12), "ffffffffffffffffffffffffffffffff"},
		{"low half wraps", "0000000000000000ffffffffffffffff", strings.Repeat("carry", 10), "ffffffffffffffff"},
		{"empty plaintext", "11111111111111111111111111111111", "", "11111111111111111111111111111111"},
		{"unicode", "22222222222222222222222222222222", "ключ 秘密 🔑", "22222222222222222222222222222222"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iv, _ := hex.DecodeString(tt.iv)
			k := newTestKeyring(bytes.NewReader(iv))
			value, err := k.Encrypt("pw", salt, []byte(tt.plaintext))
			if err != nil {
				t.Fatal(err)
			}
			got, err := refDecrypt("pw", value)
			if err != nil {
				t.Fatalf("reference cannot read the package's value: %v", err)
			}
			if string(got) != tt.plaintext {
				t.Fatalf("reference decrypts to %q, want %q", got, tt.plaintext)
			}

			// Field by field, as a generic JSON tree.
			raw, _ := hex.DecodeString(value)
			var tree map[string]any
			if err := json.Unmarshal(raw, &tree); err != nil {
				t.Fatal(err)
			}
			dk := refPBKDF2("pw", salt, testIterations)
			ct := refCTR(dk[:16], iv, []byte(tt.plaintext))
			want := map[string]any{
				"crypto": map[string]any{
					"cipher":       "aes-128-ctr",
					"cipherparams": map[string]any{"iv": tt.wantIV},
					"ciphertext":   hex.EncodeToString(ct),
					"kdf":          "pbkdf2",
					"kdfparams": map[string]any{
						"c": float64(testIterations), "dklen": 32.0, "prf": "hmac-sha256", "salt": hex.EncodeToString(salt),
					},
					"mac": hex.EncodeToString(refKeccak(dk[16:32], ct)),
				},
				"version": 3.0,
				"alias":   "",
			}
			compareTrees(t, "", tree, want)
		})
	}
}

func compareTrees(t *testing.T, at string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("field %s%s is missing", at, k)
		case isMap(w):
			if !isMap(g) {
				t.Errorf("field %s%s = %v, want an object", at, k, g)
				continue
			}
			compareTrees(t, at+k+".", g.(map[string]any), w.(map[string]any))
		case g != w:
			t.Errorf("field %s%s = %v, want %v", at, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s%s", at, k)
		}
	}
}

func isMap(v any) bool { _, ok := v.(map[string]any); return ok }

func TestPackageReadsReferenceOutput(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")
	long := strings.Repeat("z", 1000)
	tests := []struct {
		name      string
		password  string
		tree      map[string]any
		plaintext string
	}{
		{"pbkdf2", "pw", refEncrypt("pw", salt, bytes.Repeat([]byte{0xa7}, 16), 10, []byte("secret")), "secret"},
		{"pbkdf2 wrapping counter", "pässwörd", refEncrypt("pässwörd", salt, bytes.Repeat([]byte{0xff}, 16), 3, []byte(long)), long},
		{"scrypt", "pw", refEncryptScrypt("pw", salt, bytes.Repeat([]byte{0x01}, 16), 16, 2, 3, []byte("secret")), "secret"},
		{"iv of 15 bytes", "pw", refEncrypt("pw", salt, bytes.Repeat([]byte{0x42}, 15), 10, []byte("fifteen")), "fifteen"},
		{"iv of 14 bytes", "pw", refEncrypt("pw", salt, bytes.Repeat([]byte{0x42}, 14), 10, []byte("fourteen")), "fourteen"},
		{"iv of 1 byte", "pw", refEncrypt("pw", salt, []byte{7}, 10, []byte("one")), "one"},
		{"empty iv", "pw", refEncrypt("pw", salt, nil, 10, []byte("none")), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := NewKeyring().Decrypt(tt.password, encodeTree(t, tt.tree))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.plaintext {
				t.Fatalf("got %q, want %q", got, tt.plaintext)
			}
		})
	}
}

// Sanity check of the test helper itself: the counter really is 128 bits.
func TestRefCTRWraps(t *testing.T) {
	t.Parallel()
	key := make([]byte, 16)
	iv := bytes.Repeat([]byte{0xff}, 16)
	out := refCTR(key, iv, make([]byte, 32))
	block, _ := aes.NewCipher(key)
	var zero, want [16]byte
	block.Encrypt(want[:], zero[:])
	if !bytes.Equal(out[16:], want[:]) {
		t.Fatal("second block does not use counter 0")
	}
}
