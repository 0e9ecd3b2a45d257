// Package hbcrypt reads and writes Hummingbot's encrypted secret values.
//
// Hummingbot stores every secret field of a connector file, and the
// conf/.password_verification file, as the hex encoding of a JSON document
// in the Web3 Secret Storage version 3 layout (an Ethereum "keyfile"):
//
//	key        = PBKDF2-HMAC-SHA256(password, salt, c=1,000,000, 32 bytes)
//	ciphertext = AES-128-CTR(key[:16], IV as a 128-bit big-endian counter, plaintext)
//	mac        = Keccak-256(key[16:32] || ciphertext)
//
// Writing follows what current Hummingbot writes, byte for byte (see
// [Keyring.Encrypt]). Reading accepts what Hummingbot's reader (the Python
// eth_keyfile package) accepts in practice: PBKDF2 or scrypt, JSON keys in
// any letter case, with or without "alias", "id" or "address", and IVs
// written with their leading zero bytes dropped.
//
// Deriving a key costs about 0.2 s, so a [Keyring] derives each (password,
// salt) key once per process and keeps it in memory. nectar picks one salt
// per account so that all of an account's values share one derivation;
// Hummingbot itself picks a fresh salt for every value, which reads back
// correctly but pays one derivation per value.
package hbcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/sha3"
)

const (
	// Iterations is the PBKDF2 iteration count Hummingbot writes and
	// [Keyring.Encrypt] always uses.
	Iterations = 1_000_000

	// SaltSize is the salt length in bytes Hummingbot writes and [NewSalt]
	// returns. [Keyring.Encrypt] refuses shorter salts.
	SaltSize = 16

	// VerificationWord is the plaintext of conf/.password_verification.
	VerificationWord = "HummingBot"

	// MaxValueSize caps the length of a value given to [Keyring.Decrypt]
	// or [Inspect]. Real values are well under 2 KiB; the cap keeps a
	// hostile file from making us parse megabytes of JSON.
	MaxValueSize = 64 << 10

	// MaxPlaintextSize caps what [Keyring.Encrypt] accepts, so that every
	// value it writes stays under MaxValueSize (hex of JSON of hex is about
	// four bytes per plaintext byte, plus some 600 bytes of framing).
	MaxPlaintextSize = 8 << 10

	// maxSaltSize keeps Encrypt's output under MaxValueSize too.
	maxSaltSize = 64
)

// ErrWrongPassword is returned when a value's MAC does not match the key
// derived from the password. A value whose ciphertext or MAC was altered
// fails the same check and cannot be told apart from a wrong password, so
// the message names both causes.
var ErrWrongPassword = errors.New("wrong password or corrupted value")

// FormatError reports a value that is not a well-formed Hummingbot secret
// value, or that uses a cipher, KDF or KDF parameters this package does not
// accept. It never quotes a password or a plaintext.
type FormatError struct {
	// Field is the dotted, lower-case path of the offending JSON field,
	// such as "crypto.kdfparams.c"; it is empty when the value as a whole
	// is at fault (bad hex, bad JSON, too long).
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return "malformed Hummingbot secret value: " + e.Reason
	}
	return "malformed Hummingbot secret value: field " + e.Field + ": " + e.Reason
}

func formatErrorf(field, format string, args ...any) error {
	return &FormatError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// NewSalt returns a fresh random salt of SaltSize bytes. Since Go 1.24
// crypto/rand cannot fail (the program crashes instead), so neither can
// NewSalt.
func NewSalt() []byte {
	salt := make([]byte, SaltSize)
	rand.Read(salt)
	return salt
}

// Prepare derives and keeps the key Encrypt would use for password and
// salt, so that many keys can be derived side by side before the values
// are encrypted one by one.
func (k *Keyring) Prepare(password string, salt []byte) error {
	if len(salt) < SaltSize || len(salt) > maxSaltSize {
		return fmt.Errorf("salt is %d bytes; it must be %d to %d", len(salt), SaltSize, maxSaltSize)
	}
	_, err := k.derive(password, Params{KDF: KDFPBKDF2, Salt: salt, Iterations: k.iterations()})
	return err
}

// Encrypt encrypts plaintext with a key derived from password and salt, and
// returns the value as Hummingbot writes it: lower-case hex of the keyfile
// JSON, with a fresh random IV. The key is derived with PBKDF2 at
// [Iterations] unless this Keyring already holds it.
//
// The salt must be SaltSize to 64 bytes long; reusing one salt for many values
// is what makes the cache pay off and is safe because every value gets its
// own random IV.
func (k *Keyring) Encrypt(password string, salt []byte, plaintext []byte) (string, error) {
	if len(salt) < SaltSize || len(salt) > maxSaltSize {
		return "", fmt.Errorf("salt is %d bytes; it must be %d to %d", len(salt), SaltSize, maxSaltSize)
	}
	if len(plaintext) > MaxPlaintextSize {
		return "", fmt.Errorf("secret is %d bytes; at most %d can be encrypted", len(plaintext), MaxPlaintextSize)
	}
	p := Params{KDF: KDFPBKDF2, Salt: salt, Iterations: k.iterations()}
	key, err := k.derive(password, p)
	if err != nil {
		return "", err
	}
	var iv [aes.BlockSize]byte
	if _, err := io.ReadFull(k.random(), iv[:]); err != nil {
		return "", fmt.Errorf("cannot read a random IV: %w", err)
	}
	ciphertext := ctr(key[:16], iv, plaintext)
	v := keyfile{
		iv:         iv,
		ciphertext: ciphertext,
		mac:        macOf(key, ciphertext),
		params:     p,
	}
	return hex.EncodeToString(v.marshal()), nil
}

// Decrypt returns the plaintext of a Hummingbot secret value. It returns
// ErrWrongPassword when the MAC does not match, and a *FormatError when the
// value is malformed, longer than MaxValueSize, or asks for more work than
// nectar allows: PBKDF2 above 10,000,000 iterations, scrypt with n above
// 2^20, more than 256 MiB of memory or n·r·p above 2^22. Such values are
// refused before any derivation. Surrounding white space is ignored.
func (k *Keyring) Decrypt(password string, value string) ([]byte, error) {
	v, err := parse(value)
	if err != nil {
		return nil, err
	}
	key, err := k.derive(password, v.params)
	if err != nil {
		return nil, err
	}
	want := macOf(key, v.ciphertext)
	if subtle.ConstantTimeCompare(want[:], v.mac[:]) != 1 {
		return nil, ErrWrongPassword
	}
	return ctr(key[:16], v.iv, v.ciphertext), nil
}

// PasswordVerification returns the content of conf/.password_verification
// for password: [VerificationWord] encrypted as by [Keyring.Encrypt].
func (k *Keyring) PasswordVerification(password string, salt []byte) (string, error) {
	return k.Encrypt(password, salt, []byte(VerificationWord))
}

// VerifyPassword checks password against the content of a
// .password_verification file. It returns nil when the file decrypts to
// [VerificationWord], ErrWrongPassword when it does not (Hummingbot treats a
// file that decrypts to another word as a wrong password too), and a
// *FormatError when the file is malformed.
func (k *Keyring) VerifyPassword(password, verificationValue string) error {
	word, err := k.Decrypt(password, verificationValue)
	if err != nil {
		return err
	}
	if !bytes.Equal(word, []byte(VerificationWord)) {
		return ErrWrongPassword
	}
	return nil
}

// Inspect parses and validates a value without decrypting it and returns how
// its key is derived. nectar uses it to find an account's existing salt:
// reusing it for new values costs no derivation when the Keyring already
// holds the key and the value was written with PBKDF2 at [Iterations].
func Inspect(value string) (Params, error) {
	v, err := parse(value)
	if err != nil {
		return Params{}, err
	}
	return v.params, nil
}

// ctr applies AES-128-CTR. Go's CTR mode treats the whole 16-byte IV as one
// big-endian counter that wraps at 2^128, which is what eth_keyfile does
// (pycryptodome's Counter.new(128, allow_wraparound=True)).
func ctr(key []byte, iv [aes.BlockSize]byte, in []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("hbcrypt: " + err.Error()) // unreachable: the key is always 16 bytes
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv[:]).XORKeyStream(out, in)
	return out
}

func macOf(key [keyLen]byte, ciphertext []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(key[16:32])
	h.Write(ciphertext)
	var mac [32]byte
	h.Sum(mac[:0])
	return mac
}
