package hbcrypt

import "io"

// NewKeyringWithIVs returns a Keyring that draws IVs from ivs instead of
// crypto/rand. It exists so other packages' tests can compare whole files
// with golden copies byte for byte. A predictable IV with a reused key
// breaks AES-CTR, so production code must never call it.
func NewKeyringWithIVs(ivs io.Reader) *Keyring {
	return &Keyring{testRand: ivs}
}
