package hbcrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// testIterations is the PBKDF2 count tests write with, so that a test costs
// microseconds per derivation rather than 0.2 s. Tests that must use the
// real count (the Hummingbot vector, the golden value, benchmarks) say so.
const testIterations = 64

func newTestKeyring(random io.Reader) *Keyring {
	return &Keyring{testRand: random, testIterations: testIterations}
}

// vector is one of the published Web3 Secret Storage test vectors in
// testdata/web3-secret-storage-v3.json.
type vector struct {
	name       string
	password   string
	expected   []byte
	derivedKey []byte
	value      string // hex of the keyfile JSON, as Hummingbot stores a secret
	want       Params // read from the keyfile with plain encoding/json
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/web3-secret-storage-v3.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name       string          `json:"name"`
			Password   string          `json:"password"`
			Expected   string          `json:"expected"`
			DerivedKey string          `json:"derived_key"`
			Keyfile    json.RawMessage `json:"keyfile"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var out []vector
	for _, v := range file.Vectors {
		var kf struct {
			Crypto struct {
				KDF       string `json:"kdf"`
				KDFParams struct {
					C, N, R, P int
					Salt       string
				} `json:"kdfparams"`
			} `json:"crypto"`
		}
		if err := json.Unmarshal(v.Keyfile, &kf); err != nil {
			t.Fatal(err)
		}
		kp := kf.Crypto.KDFParams
		out = append(out, vector{
			name:       v.Name,
			password:   v.Password,
			expected:   mustHex(t, v.Expected),
			derivedKey: mustHex(t, v.DerivedKey),
			value:      hex.EncodeToString(v.Keyfile),
			want: Params{
				KDF: kf.Crypto.KDF, Salt: mustHex(t, kp.Salt),
				Iterations: kp.C, N: kp.N, R: kp.R, P: kp.P,
			},
		})
	}
	if len(out) != 2 {
		t.Fatalf("found %d vectors, want 2", len(out))
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWeb3Vectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			k := NewKeyring()
			got, err := k.Decrypt(v.password, v.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.expected) {
				t.Errorf("Decrypt = %x, want %x", got, v.expected)
			}

			params, err := Inspect(v.value)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(params, v.want) {
				t.Errorf("Inspect = %+v, want %+v", params, v.want)
			}

			key, err := k.derive(v.password, params)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(key[:], v.derivedKey) {
				t.Errorf("derived key = %x, want %x", key, v.derivedKey)
			}
			if n := k.Derivations(); n != 1 {
				t.Errorf("Derivations = %d, want 1 (the second use should hit the cache)", n)
			}
		})
	}
}

func loadPasswordVerification(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("testdata/hummingbot-password-verification.hex")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The .password_verification that Hummingbot wrote for password "a". It is
// also the golden test for writing: given the file's salt and IV, Encrypt
// must reproduce it byte for byte, plus the "alias" that current Hummingbot
// appends.
func TestHummingbotPasswordVerification(t *testing.T) {
	t.Parallel()
	file := loadPasswordVerification(t)
	params, err := Inspect(file)
	if err != nil {
		t.Fatal(err)
	}
	if params.KDF != KDFPBKDF2 || params.Iterations != Iterations || len(params.Salt) != SaltSize {
		t.Fatalf("Inspect = %+v; Hummingbot writes pbkdf2 with c=%d and a %d-byte salt", params, Iterations, SaltSize)
	}
	var tree struct {
		Crypto struct {
			CipherParams struct{ IV string } `json:"cipherparams"`
		} `json:"crypto"`
	}
	fileJSON := mustHex(t, file)
	if err := json.Unmarshal(fileJSON, &tree); err != nil {
		t.Fatal(err)
	}
	iv := mustHex(t, tree.Crypto.CipherParams.IV)

	// One Keyring at the real iteration count: the steps share its cache.
	k := &Keyring{testRand: bytes.NewReader(iv)}

	if err := k.VerifyPassword("a", file); err != nil {
		t.Fatalf("VerifyPassword(a) = %v", err)
	}

	value, err := k.PasswordVerification("a", params.Salt)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(string(fileJSON), "}") + `, "alias": ""}`
	if got := string(mustHex(t, value)); got != want {
		t.Errorf("PasswordVerification wrote\n%s\nwant\n%s", got, want)
	}
	if value != hex.EncodeToString([]byte(want)) {
		t.Error("the value is not lower-case hex of the JSON")
	}
	if n := k.Derivations(); n != 1 {
		t.Errorf("Derivations = %d after verify and re-encrypt with one salt, want 1", n)
	}

	if err := k.VerifyPassword("b", file); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("VerifyPassword(b) = %v, want ErrWrongPassword", err)
	}
	if err := k.VerifyPassword("a", file+"\n"); err != nil {
		t.Errorf("VerifyPassword with a trailing newline = %v, want nil", err)
	}
}
