package secrets

import (
	"crypto/rsa"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// RecipientError says which entry of a recipient list is bad, and why.
type RecipientError struct {
	Index  int    // position in the list, from 0
	Reason string // never quotes the entry: it may be a misplaced secret key
}

func (e *RecipientError) Error() string {
	return fmt.Sprintf("recipient %d: %s", e.Index+1, e.Reason)
}

// ParseRecipients parses age X25519 recipients (age1...), age post-quantum
// recipients (age1pq1...) and SSH public keys (ssh-ed25519 and ssh-rsa, in
// authorized_keys form, comment allowed). A bad entry is a *RecipientError.
func ParseRecipients(list []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(list))
	for i, s := range list {
		r, reason := parseRecipient(strings.TrimSpace(s))
		if reason != "" {
			return nil, &RecipientError{Index: i, Reason: reason}
		}
		out = append(out, r)
	}
	return out, nil
}

// parseRecipient returns the recipient s encodes, or why it is none.
func parseRecipient(s string) (age.Recipient, string) {
	switch {
	case s == "":
		return nil, "it is empty"
	case strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-"), strings.HasPrefix(strings.ToUpper(s), "AGE-PLUGIN-"),
		strings.Contains(s, "PRIVATE KEY"):
		return nil, "it is a secret key, which must never be listed; list its public key (age-keygen -y FILE prints it)"
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, "it is not a valid age1pq1... key (wrong length or checksum)"
		}
		return r, ""
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			// A second bech32 separator may mean a plugin's recipient,
			// age1NAME1..., or just a typo: say both.
			if strings.LastIndexByte(s, '1') > len("age") {
				return nil, "it is not a valid age1... key (wrong length or checksum); if it is an age plugin's recipient, nectar does not support plugins"
			}
			return nil, "it is not a valid age1... key (wrong length or checksum)"
		}
		return r, ""
	case strings.HasPrefix(s, "ssh-"), strings.HasPrefix(s, "ecdsa-"), strings.HasPrefix(s, "sk-"):
		return parseSSHRecipient(s)
	}
	return nil, "it is not an age public key (age1...) or an SSH public key (ssh-ed25519 or ssh-rsa)"
}

func parseSSHRecipient(s string) (age.Recipient, string) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, "it is not a valid SSH public key (expected TYPE BASE64 [COMMENT] on one line)"
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
	case ssh.KeyAlgoRSA:
		if cpk, ok := pub.(ssh.CryptoPublicKey); ok {
			if rk, ok := cpk.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
				return nil, fmt.Sprintf("it is a %d-bit RSA key; age needs at least 2048 bits", rk.N.BitLen())
			}
		}
	default:
		return nil, fmt.Sprintf("it is an %s SSH key; age supports ssh-ed25519 and ssh-rsa keys only", pub.Type())
	}
	r, err := agessh.ParseRecipient(s)
	if err != nil {
		return nil, "it is an SSH public key age cannot use"
	}
	return r, ""
}
