// Package secrets is nectar's use of age: finding the identity that decrypts
// a fleet, parsing the recipients a fleet is encrypted to, and encrypting and
// decrypting the fleet's small secret files.
//
// Every error here is safe to print: none holds key material or plaintext,
// and none quotes the file it is about, since a damaged or misplaced file
// may hold either.
package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// MaxFileSize caps the age files Decrypt reads and the plaintexts it
// returns. A fleet's age file holds one password or one credential.
const MaxFileSize = 1 << 20

// Decrypt's failures other than *NotForYouError. Each error Decrypt returns
// wraps one of them, with details after a colon.
var (
	// ErrTruncated means the input ends early: inside the header, before
	// the payload's last chunk, or without the armor's END line.
	ErrTruncated = errors.New("age file is truncated")
	// ErrCorrupt means the input is not an age file, or it was modified:
	// a malformed header or armor, or a header MAC or payload that does not
	// authenticate.
	ErrCorrupt = errors.New("age file is corrupt")
	// ErrTooLarge means the input or its plaintext is over MaxFileSize.
	ErrTooLarge = errors.New("age file is too large")
)

const (
	streamNonceSize = 16 // the payload starts with a 16-byte nonce
	streamTagSize   = 16 // and holds at least one chunk, which has a tag
)

// IsAgeFile reports whether data starts like an age file, binary (any
// version) or ASCII-armored. It says nothing about whether the rest is valid.
func IsAgeFile(data []byte) bool {
	return isArmored(data) || bytes.HasPrefix(data, []byte(agePrefix))
}

// isArmored reports whether data starts with the armor's BEGIN line, after
// the leading whitespace age's armor reader also skips.
func isArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header))
}

// Encrypt returns ASCII-armored age ciphertext of plaintext, encrypted to
// every recipient. Armor diffs and reviews better in git than binary. It
// refuses a result Decrypt would refuse for its size.
func Encrypt(plaintext []byte, recipients []age.Recipient) ([]byte, error) {
	if len(plaintext) > MaxFileSize {
		return nil, fmt.Errorf("%w: the plaintext is %d bytes, over the %d-byte limit", ErrTooLarge, len(plaintext), MaxFileSize)
	}
	if len(recipients) == 0 {
		return nil, errors.New("cannot encrypt: no recipients")
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("cannot encrypt: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("cannot encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("cannot encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("cannot encrypt: %w", err)
	}
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("%w: the encrypted file would be %d bytes, over the %d-byte limit", ErrTooLarge, buf.Len(), MaxFileSize)
	}
	return buf.Bytes(), nil
}

// Decrypt decrypts an age file, armored or binary, with ids. It reads and
// authenticates the whole payload before returning, so a truncated or
// modified file is an error and never a partial plaintext.
//
// Errors: *NotForYouError when no identity in ids opens the file; otherwise
// an error wrapping ErrTruncated, ErrCorrupt or ErrTooLarge, or
// ErrNoIdentity when ids holds no identity.
func Decrypt(ciphertext []byte, ids *Identities) ([]byte, error) {
	return decrypt(ciphertext, ids, MaxFileSize, MaxFileSize)
}

// decrypt is Decrypt with its limits as arguments. The plaintext limit can
// only be reached in tests: a plaintext is always smaller than its age file.
func decrypt(data []byte, ids *Identities, maxInput, maxPlain int) ([]byte, error) {
	if len(data) > maxInput {
		return nil, fmt.Errorf("%w: the file is %d bytes, over the %d-byte limit", ErrTooLarge, len(data), maxInput)
	}
	if ids == nil || len(ids.List) == 0 {
		return nil, fmt.Errorf("%w: no identity to decrypt with", ErrNoIdentity)
	}
	bin, err := dearmor(data)
	if err != nil {
		return nil, err
	}
	hdr, err := parseHeader(bin)
	if err != nil {
		return nil, err
	}
	if len(bin)-hdr.Len < streamNonceSize+streamTagSize {
		return nil, fmt.Errorf("%w: the payload ends after %d of at least %d bytes", ErrTruncated, len(bin)-hdr.Len, streamNonceSize+streamTagSize)
	}

	r, err := age.Decrypt(bytes.NewReader(bin), ids.List...)
	if err != nil {
		if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
			return nil, &NotForYouError{
				Stanzas:        describeStanzas(hdr.Stanzas),
				YourRecipients: ids.Recipients,
				Origin:         ids.Origin,
			}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the payload ends before its nonce", ErrTruncated)
		}
		// The header parsed, so this is a recipient stanza one of our
		// identities found malformed, or a header MAC that does not match.
		return nil, fmt.Errorf("%w: the header does not authenticate (its MAC or a recipient stanza was changed)", ErrCorrupt)
	}

	plain, err := io.ReadAll(io.LimitReader(r, int64(maxPlain)+1))
	if err != nil {
		clear(plain)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the payload ends before its last chunk", ErrTruncated)
		}
		return nil, fmt.Errorf("%w: the payload does not authenticate (the file was changed, or cut short inside a chunk)", ErrCorrupt)
	}
	if len(plain) > maxPlain {
		clear(plain)
		return nil, fmt.Errorf("%w: the plaintext is over the %d-byte limit", ErrTooLarge, maxPlain)
	}
	return plain, nil
}

// dearmor returns the binary age file in data, removing the ASCII armor if
// there is one. Errors never quote the armor: age's own do.
func dearmor(data []byte) ([]byte, error) {
	if !isArmored(data) {
		start := bytes.TrimLeft(data, " \t\r\n")
		if len(start) > 0 && bytes.HasPrefix([]byte(armor.Header), start) {
			return nil, fmt.Errorf("%w: the file ends inside the armor's BEGIN line", ErrTruncated)
		}
		return data, nil
	}
	// age's armor reader reports a missing END line as corruption when the
	// cut falls inside a line; a file without one is simply incomplete.
	if !bytes.Contains(data, []byte(armor.Footer)) {
		return nil, fmt.Errorf("%w: the armor has no END line", ErrTruncated)
	}
	bin, err := io.ReadAll(armor.NewReader(bytes.NewReader(data)))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the armor ends early", ErrTruncated)
		}
		return nil, fmt.Errorf("%w: the armor is malformed (bad base64, a line over 64 columns, or data after the END line)", ErrCorrupt)
	}
	return bin, nil
}

// NotForYouError means a file is encrypted only to recipients whose
// identities we do not hold.
type NotForYouError struct {
	// Stanzas describe the file's recipient stanzas, in order: the stanza
	// type ("X25519", "scrypt", ...), and for SSH stanzas the key tag they
	// carry, e.g. "ssh-ed25519 tag Xq3v2A" (the first 4 bytes of the SHA-256
	// of the SSH public key). An X25519 stanza does not record which key
	// it is for, so nothing can say which age1... recipients a file has.
	Stanzas []string
	// YourRecipients are the public keys of the identities we tried.
	YourRecipients []string
	// Origin says where those identities came from, as Identities.Origin.
	Origin string
}

// maxListedStanzas bounds how many stanzas Error lists: a header may hold
// a thousand.
const maxListedStanzas = 8

func (e *NotForYouError) Error() string {
	var b strings.Builder
	n := len(e.Stanzas)
	keys := make([]string, len(e.YourRecipients))
	for i, r := range e.YourRecipients {
		keys[i] = describeRecipient(r)
	}
	yours := "your key "
	if len(keys) > 1 {
		yours = "your keys "
	}
	yours += strings.Join(keys, ", ")

	if n == 1 && e.Stanzas[0] == "scrypt" {
		b.WriteString("encrypted with a passphrase (scrypt), not to ")
		if len(keys) == 0 {
			b.WriteString("a key")
		} else {
			b.WriteString(yours)
		}
	} else {
		fmt.Fprintf(&b, "encrypted to %d recipient%s (", n, plural(n))
		for i, s := range e.Stanzas {
			if i == maxListedStanzas {
				fmt.Fprintf(&b, ", and %d more", n-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s)
		}
		switch {
		case len(keys) == 0:
			b.WriteString("), and no key of yours")
		case n == 1:
			b.WriteString("), not " + yours)
		default:
			b.WriteString("), none of them " + yours)
		}
	}
	if e.Origin != "" {
		fmt.Fprintf(&b, " (from %s)", e.Origin)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describeStanzas names each stanza for NotForYouError.Stanzas. Stanza
// types and arguments are public (they hold no key material), but a
// hostile file could make them long, so they are cut short.
func describeStanzas(stanzas []stanza) []string {
	out := make([]string, len(stanzas))
	for i, s := range stanzas {
		d := shorten(s.Type, 32)
		if (s.Type == "ssh-ed25519" || s.Type == "ssh-rsa") && len(s.Args) > 0 {
			d += " tag " + shorten(s.Args[0], 12)
		}
		out[i] = d
	}
	return out
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
