package hbcrypt

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestKeyringDerivesOncePerKey(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(nil)
	otherSalt := []byte("another-16-bytes")
	steps := []struct {
		name     string
		password string
		salt     []byte
		want     uint64 // Derivations after the step
	}{
		{"first use", "pw", testSalt, 1},
		{"same key", "pw", testSalt, 1},
		{"other salt", "pw", otherSalt, 2},
		{"other password", "pw2", testSalt, 3},
		{"first key again", "pw", testSalt, 3},
	}
	for _, s := range steps {
		var values []string
		for i := range 20 {
			v, err := k.Encrypt(s.password, s.salt, fmt.Appendf(nil, "secret %d", i))
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, v)
		}
		for i, v := range values {
			got, err := k.Decrypt(s.password, v)
			if err != nil || string(got) != fmt.Sprintf("secret %d", i) {
				t.Fatalf("%s: Decrypt = %q, %v", s.name, got, err)
			}
		}
		if n := k.Derivations(); n != s.want {
			t.Fatalf("%s: Derivations = %d, want %d", s.name, n, s.want)
		}
	}

	// A wrong password's key is derived once too: retrying it is free.
	v, _ := k.Encrypt("pw", testSalt, []byte("x"))
	for range 3 {
		if _, err := k.Decrypt("nope", v); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := k.Derivations(); n != 4 {
		t.Fatalf("Derivations = %d after a repeated wrong password, want 4", n)
	}
}

// Parameters that differ only in where bytes sit must not share a cache
// entry.
func TestKeyringIndexIsUnambiguous(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(nil)
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}}
	var values []string
	for _, p := range pairs {
		salt := []byte(p[0] + "-0123456789abcdef")
		v, err := k.Encrypt(p[1], salt, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	if n := k.Derivations(); n != 2 {
		t.Fatalf("Derivations = %d, want 2", n)
	}
	for i, v := range values {
		if _, err := k.Decrypt(pairs[i][1], v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeyringConcurrent(t *testing.T) {
	t.Parallel()
	// Slow enough that the goroutines pile up behind the first derivation.
	k := &Keyring{testIterations: 20_000}
	salts := [][]byte{[]byte("salt-number-0000"), []byte("salt-number-0001"), []byte("salt-number-0002")}
	const perSalt = 40

	var wg sync.WaitGroup
	errs := make(chan error, len(salts)*perSalt)
	for _, salt := range salts {
		for i := range perSalt {
			wg.Go(func() {
				want := fmt.Sprintf("value %d", i)
				v, err := k.Encrypt("pw", salt, []byte(want))
				if err != nil {
					errs <- err
					return
				}
				got, err := k.Decrypt("pw", v)
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("Decrypt = %q, %v", got, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := k.Derivations(); n != uint64(len(salts)) {
		t.Errorf("Derivations = %d for %d goroutines over %d salts, want %d", n, len(salts)*perSalt, len(salts), len(salts))
	}
}

func TestKeyringZeroValue(t *testing.T) {
	t.Parallel()
	var k Keyring
	k.testIterations = testIterations // the zero value itself would use the real count
	v, err := k.Encrypt("pw", testSalt, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Decrypt("pw", v); err != nil || string(got) != "x" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if (&Keyring{}).iterations() != Iterations {
		t.Fatal("a Keyring not set up by a test must write the real iteration count")
	}
}

// A failed derivation is not cached, and whoever waited on it sees the error.
func TestKeyringFailedDerivation(t *testing.T) {
	t.Parallel()
	k := NewKeyring()
	bad := Params{KDF: "nonsense", Salt: testSalt}
	for want := uint64(1); want <= 2; want++ {
		if _, err := k.derive("pw", bad); err == nil {
			t.Fatal("derive succeeded with an unknown KDF")
		}
		if n := k.Derivations(); n != want {
			t.Fatalf("Derivations = %d, want %d", n, want)
		}
	}
	if len(k.keys) != 0 {
		t.Fatalf("the cache holds %d failed entries", len(k.keys))
	}
}

func TestKeyringCacheIsBounded(t *testing.T) {
	t.Parallel()
	k := &Keyring{testIterations: 1}
	first := Params{KDF: KDFPBKDF2, Salt: []byte("salt-first"), Iterations: 1}
	if _, err := k.derive("pw", first); err != nil {
		t.Fatal(err)
	}
	for i := range maxCachedKeys {
		p := Params{KDF: KDFPBKDF2, Salt: fmt.Appendf(nil, "salt-%d", i), Iterations: 1}
		if _, err := k.derive("pw", p); err != nil {
			t.Fatal(err)
		}
		if len(k.keys) > maxCachedKeys {
			t.Fatalf("cache holds %d keys, over the bound %d", len(k.keys), maxCachedKeys)
		}
	}
	before := k.Derivations()
	if _, err := k.derive("pw", first); err != nil {
		t.Fatal(err)
	}
	if k.Derivations() != before+1 {
		t.Fatal("the first key survived a full cache; the bound is not enforced")
	}
}
