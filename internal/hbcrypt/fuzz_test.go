package hbcrypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzDecrypt feeds arbitrary values to the reader. It must never panic, and
// must fail only with a *FormatError or ErrWrongPassword.
func FuzzDecrypt(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.value)
	}
	f.Add(loadPasswordVerification(f))
	f.Add(encodeTree(f, testTree()))
	f.Add(encodeTree(f, refEncryptScrypt("pw", testSalt, []byte{1}, 2, 1, 1, []byte("s"))))
	f.Add(hex.EncodeToString([]byte(`{"crypto": {}, "version": 3}`)))
	f.Add("")
	f.Add("7b7d")

	f.Fuzz(func(t *testing.T, value string) {
		params, err := Inspect(value)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Inspect failed with %T %v, want a *FormatError", err, err)
			}
			return
		}
		// Only pay for cheap derivations; the seeds' real counts are
		// covered by the vector tests.
		cheap := (params.KDF == KDFPBKDF2 && params.Iterations <= 1000) ||
			(params.KDF == KDFScrypt && params.N*params.R*params.P <= 1<<12)
		if !cheap {
			return
		}
		_, err = NewKeyring().Decrypt("pw", value)
		if err != nil && !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("Decrypt of a value Inspect accepted failed with %v", err)
		}
	})
}

// FuzzRoundTrip checks that any plaintext under any IV survives Encrypt and
// Decrypt, and that the reference implementation agrees.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("HummingBot"), make([]byte, 16))
	f.Add([]byte{}, bytes.Repeat([]byte{0xff}, 16))
	f.Add(bytes.Repeat([]byte{0}, 100), []byte("\x00\x00\x01abcdefghijklm"))

	f.Fuzz(func(t *testing.T, plaintext, iv []byte) {
		if len(iv) < 16 || len(plaintext) > MaxPlaintextSize {
			return
		}
		k := newTestKeyring(bytes.NewReader(iv))
		value, err := k.Encrypt("pw", testSalt, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.Decrypt("pw", value)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("Decrypt = %x, %v; want %x", got, err, plaintext)
		}
		ref, err := refDecrypt("pw", value)
		if err != nil || !bytes.Equal(ref, plaintext) {
			t.Fatalf("reference Decrypt = %x, %v; want %x", ref, err, plaintext)
		}
	})
}
