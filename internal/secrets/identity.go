package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
)

// ErrNoIdentity means none of the places nectar looks for an identity has one.
var ErrNoIdentity = errors.New("no age identity found in --identity, $NECTAR_AGE_KEY_FILE, $NECTAR_AGE_KEY or ~/.config/nectar/age.key")

// Identities are the keys that decrypt a fleet, and where they came from.
type Identities struct {
	List       []age.Identity
	Origin     string   // e.g. "--identity /path" or "NECTAR_AGE_KEY"
	Recipients []string // the public keys of List, for messages
}

// DefaultIdentityPath is $XDG_CONFIG_HOME/nectar/age.key, or
// ~/.config/nectar/age.key.
func DefaultIdentityPath() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "nectar", "age.key"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for the default identity: %w", err)
	}
	return filepath.Join(home, ".config", "nectar", "age.key"), nil
}

// LoadIdentities finds the identities to decrypt with, from the first of
// these that is set: flagPath, $NECTAR_AGE_KEY_FILE, $NECTAR_AGE_KEY (the
// key text itself), DefaultIdentityPath (if the file exists).
func LoadIdentities(flagPath string) (*Identities, error) {
	if flagPath != "" {
		return loadFile(flagPath, "--identity "+flagPath)
	}
	if p := os.Getenv("NECTAR_AGE_KEY_FILE"); p != "" {
		return loadFile(p, "NECTAR_AGE_KEY_FILE="+p)
	}
	if k := os.Getenv("NECTAR_AGE_KEY"); k != "" {
		return parseIdentities([]byte(k), "NECTAR_AGE_KEY")
	}
	p, err := DefaultIdentityPath()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoIdentity, err)
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoIdentity
	}
	return loadFile(p, p)
}

func loadFile(path, origin string) (*Identities, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the identity (%s): %w", origin, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("identity file %s is larger than 1 MiB", path)
	}
	return parseIdentities(data, origin)
}

// parseIdentities reads age X25519 identities (one or more, with comments)
// or an unencrypted OpenSSH private key. Errors never quote the input.
func parseIdentities(data []byte, origin string) (*Identities, error) {
	ids := &Identities{Origin: origin}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		id, err := agessh.ParseIdentity(data)
		if err != nil {
			return nil, fmt.Errorf("the identity (%s) is not a usable SSH private key (passphrase-protected keys are not supported)", origin)
		}
		ids.List = append(ids.List, id)
		switch id.(type) {
		case *agessh.Ed25519Identity:
			ids.Recipients = append(ids.Recipients, "ssh-ed25519 key")
		case *agessh.RSAIdentity:
			ids.Recipients = append(ids.Recipients, "ssh-rsa key")
		}
		return ids, nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, fmt.Errorf("the identity (%s) line %d is not an age secret key (AGE-SECRET-KEY-1...)", origin, i+1)
		}
		ids.List = append(ids.List, id)
		ids.Recipients = append(ids.Recipients, id.Recipient().String())
	}
	if len(ids.List) == 0 {
		return nil, fmt.Errorf("the identity (%s) holds no key", origin)
	}
	return ids, nil
}

// NewIdentityText makes a new X25519 identity in the text form age-keygen
// writes, and returns it with its recipient.
func NewIdentityText() (text []byte, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", err
	}
	recipient = id.Recipient().String()
	text = fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), recipient, id.String())
	return text, recipient, nil
}

// GenerateIdentity writes a new identity to path (folder 0700, file 0600)
// and returns its recipient. It never overwrites an existing file.
func GenerateIdentity(path string) (string, error) {
	text, recipient, err := NewIdentityText()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%s already exists; nectar never overwrites a key", path)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return recipient, f.Close()
}
