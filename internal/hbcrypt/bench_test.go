package hbcrypt

import "testing"

// The benchmarks use the real iteration count: they measure what nectar and
// Hummingbot actually pay.

// BenchmarkDerive is the cost of one PBKDF2 derivation at Iterations.
func BenchmarkDerive(b *testing.B) {
	salt := NewSalt()
	for b.Loop() {
		if _, err := runKDF("pw", Params{KDF: KDFPBKDF2, Salt: salt, Iterations: Iterations}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptCached is nectar's cost model: one salt per account, so
// one derivation serves every value.
func BenchmarkEncryptCached(b *testing.B) {
	k := NewKeyring()
	salt := NewSalt()
	if _, err := k.Encrypt("pw", salt, []byte("warm up")); err != nil {
		b.Fatal(err)
	}
	before := k.Derivations()
	for b.Loop() {
		if _, err := k.Encrypt("pw", salt, []byte("api-secret-0123456789abcdef")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(k.Derivations()-before)/float64(b.N), "derivations/op")
}

// BenchmarkEncryptPerValue is Hummingbot's cost model: a fresh salt, and so
// a fresh derivation, for every value.
func BenchmarkEncryptPerValue(b *testing.B) {
	var derivations uint64
	for b.Loop() {
		k := NewKeyring()
		if _, err := k.Encrypt("pw", NewSalt(), []byte("api-secret-0123456789abcdef")); err != nil {
			b.Fatal(err)
		}
		derivations += k.Derivations()
	}
	b.ReportMetric(float64(derivations)/float64(b.N), "derivations/op")
}

// BenchmarkDecryptCached reads back values written under a known salt.
func BenchmarkDecryptCached(b *testing.B) {
	k := NewKeyring()
	value, err := k.Encrypt("pw", NewSalt(), []byte("api-secret-0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	before := k.Derivations()
	for b.Loop() {
		if _, err := k.Decrypt("pw", value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(k.Derivations()-before)/float64(b.N), "derivations/op")
}
