// Package secrets handles nectar's age encryption: finding the identity
// that decrypts a fleet, parsing recipients, and encrypting and decrypting
// files with size caps and errors that say what went wrong without ever
// showing key material or plaintext.
package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
)

// MaxFileSize caps age files and their plaintexts: a fleet's age files
// hold one password or one credential each.
const MaxFileSize = 1 << 20

// Errors Decrypt returns, besides *NotForYouError.
var (
	ErrTruncated = errors.New("the file is truncated")
	ErrCorrupt   = errors.New("the file is corrupted or not an age file")
	ErrTooLarge  = fmt.Errorf("the file is larger than %d bytes (1 MiB)", MaxFileSize)
)

// NotForYouError says a file was not encrypted to any identity we hold.
type NotForYouError struct {
	// Stanzas are the recipient types in the file's header, e.g. X25519.
	// age does not record which X25519 key a stanza is for, so this is
	// as much as the file tells.
	Stanzas        []string
	YourRecipients []string
	Origin         string
}

func (e *NotForYouError) Error() string {
	mine := strings.Join(e.YourRecipients, ", ")
	if mine == "" {
		mine = "(none)"
	}
	return fmt.Sprintf("encrypted to %d recipient(s) (%s), none of them your key %s (from %s)",
		len(e.Stanzas), strings.Join(e.Stanzas, ", "), mine, e.Origin)
}

const armorHeader = "-----BEGIN AGE ENCRYPTED FILE-----"

func isArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armorHeader))
}

// IsAgeFile reports whether data starts like an age file, binary or armored.
func IsAgeFile(data []byte) bool {
	return isArmored(data) || bytes.HasPrefix(data, []byte("age-encryption.org/v1\n"))
}

// ParseRecipients parses age1... X25519 recipients and ssh-ed25519 or
// ssh-rsa public keys.
func ParseRecipients(list []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(list))
	for i, s := range list {
		s = strings.TrimSpace(s)
		var r age.Recipient
		var err error
		switch {
		case strings.HasPrefix(s, "age1"):
			r, err = age.ParseX25519Recipient(s)
		case strings.HasPrefix(s, "ssh-"):
			r, err = agessh.ParseRecipient(s)
		default:
			err = errors.New("not an age1... key or an ssh-ed25519/ssh-rsa public key")
		}
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Encrypt returns ASCII-armored age ciphertext of plaintext, which diffs
// and reviews better than binary in a git repository.
func Encrypt(plaintext []byte, recipients []age.Recipient) ([]byte, error) {
	if len(plaintext) > MaxFileSize {
		return nil, ErrTooLarge
	}
	if len(recipients) == 0 {
		return nil, errors.New("no recipients to encrypt to")
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("failed to encrypt: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decrypt decrypts an armored or binary age file. It reads the payload to
// its end before returning anything, so a truncated or tampered file is an
// error, never a partial plaintext.
func Decrypt(ciphertext []byte, ids *Identities) ([]byte, error) {
	if len(ciphertext) > MaxFileSize {
		return nil, ErrTooLarge
	}
	if ids == nil || len(ids.List) == 0 {
		return nil, ErrNoIdentity
	}
	var src io.Reader = bytes.NewReader(ciphertext)
	if isArmored(ciphertext) {
		src = armor.NewReader(src)
	} else if !bytes.HasPrefix(ciphertext, []byte("age-encryption.org/")) {
		if len(ciphertext) > 0 && bytes.HasPrefix([]byte("age-encryption.org/v1\n"), ciphertext) {
			return nil, ErrTruncated
		}
		return nil, ErrCorrupt
	}
	r, err := age.Decrypt(src, ids.List...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, &NotForYouError{Stanzas: nm.StanzaTypes, YourRecipients: ids.Recipients, Origin: ids.Origin}
		}
		return nil, classify(err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, classify(err)
	}
	if len(plain) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return plain, nil
}

// classify maps age's errors onto ours. A short input shows up as an
// unexpected EOF somewhere in the chain; anything else is corruption.
func classify(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w (%v)", ErrTruncated, err)
	}
	return fmt.Errorf("%w (%v)", ErrCorrupt, err)
}
