package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// ErrNoIdentity means nectar has no identity to decrypt with: none of the
// places LoadIdentities looks holds one, or the file named by --identity or
// $NECTAR_AGE_KEY_FILE does not exist.
var ErrNoIdentity = errors.New("no age identity found")

// The environment variables LoadIdentities reads.
const (
	EnvKeyFile = "NECTAR_AGE_KEY_FILE" // path of an identity file
	EnvKey     = "NECTAR_AGE_KEY"      // the identity file's text itself
)

// Identities are the keys nectar decrypts with, and where they came from.
type Identities struct {
	List []age.Identity
	// Origin names the source, for messages: "--identity PATH",
	// "NECTAR_AGE_KEY_FILE=PATH", "NECTAR_AGE_KEY" or the default path.
	Origin string
	// Recipients are the public keys of List, in order, in the form
	// ParseRecipients reads: "age1...", "age1pq1..." or "ssh-ed25519 AAAA...".
	Recipients []string
}

// DefaultIdentityPath is $XDG_CONFIG_HOME/nectar/age.key, or
// ~/.config/nectar/age.key when XDG_CONFIG_HOME is unset or not absolute
// (the XDG spec says to ignore a relative one). It is the same on every
// system, so instructions can name it.
func DefaultIdentityPath() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "nectar", "age.key"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the default identity: %w", err)
	}
	return filepath.Join(home, ".config", "nectar", "age.key"), nil
}

// LoadIdentities loads the identities from the first of these that is set:
// flagPath (the --identity flag), the file named by $NECTAR_AGE_KEY_FILE,
// the text of $NECTAR_AGE_KEY, and the file DefaultIdentityPath names if it
// exists. The first one set is used even when it is bad: falling through to
// another would decrypt with a key the user did not choose.
//
// A source holds age identities (AGE-SECRET-KEY-1..., or the post-quantum
// AGE-SECRET-KEY-PQ-1..., one a line, with # comments, as age-keygen writes
// them) or one unencrypted OpenSSH private key (ed25519 or RSA).
//
// The error wraps ErrNoIdentity when no source is set, or when the file
// flagPath or $NECTAR_AGE_KEY_FILE names does not exist (then it also wraps
// fs.ErrNotExist). Errors name the source and a line, never the key.
func LoadIdentities(flagPath string) (*Identities, error) {
	if flagPath != "" {
		return loadIdentityFile(flagPath, "--identity "+flagPath, true)
	}
	if p := os.Getenv(EnvKeyFile); p != "" {
		return loadIdentityFile(p, EnvKeyFile+"="+p, true)
	}
	if k := os.Getenv(EnvKey); k != "" {
		if looksLikePath(k) {
			return nil, fmt.Errorf("$%s holds what looks like a file name, but it takes the key itself; name a key file with $%s", EnvKey, EnvKeyFile)
		}
		return parseIdentities([]byte(k), EnvKey)
	}
	p, err := DefaultIdentityPath()
	if err != nil {
		return nil, fmt.Errorf("%w: --identity is not given, $%s and $%s are not set, and %v",
			ErrNoIdentity, EnvKeyFile, EnvKey, err)
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: --identity is not given, $%s and $%s are not set, and %s does not exist",
			ErrNoIdentity, EnvKeyFile, EnvKey, p)
	}
	return loadIdentityFile(p, p, false)
}

// looksLikePath reports whether the value of $NECTAR_AGE_KEY is a file
// name put in the wrong variable, a common slip.
func looksLikePath(v string) bool {
	v = strings.TrimSpace(v)
	return !strings.ContainsAny(v, "\n ") && !strings.HasPrefix(strings.ToUpper(v), "AGE-") &&
		(strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || strings.HasPrefix(v, ".") ||
			strings.HasSuffix(v, ".key") || strings.HasSuffix(v, ".txt"))
}

// loadIdentityFile reads and parses the identity file at path. named is
// true when the user named the file, so its absence means "no identity".
func loadIdentityFile(path, origin string, named bool) (*Identities, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && named {
		return nil, fmt.Errorf("%w: %s: the file does not exist%w", ErrNoIdentity, origin, quiet{fs.ErrNotExist})
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the age identity (%s): %w", origin, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("cannot read the age identity (%s): it is a folder, not a key file", origin)
	}
	// Bounded: --identity /dev/zero must not eat the memory.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the age identity (%s): %w", origin, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the age identity (%s) is over %d bytes; it is not a key file", origin, MaxFileSize)
	}
	return parseIdentities(data, origin)
}

// quiet wraps an error for errors.Is without adding to the message.
type quiet struct{ err error }

func (q quiet) Error() string { return "" }
func (q quiet) Unwrap() error { return q.err }

// parseIdentities parses an identity file's text. Its errors name origin
// and a line number; they never quote the text, which holds secret keys.
func parseIdentities(data []byte, origin string) (*Identities, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("the age identity (%s) %s", origin, fmt.Sprintf(format, args...))
	}
	switch {
	case bytes.Contains(data, []byte(armor.Header)):
		return nil, bad("is an encrypted (passphrase-protected) age identity file; nectar cannot prompt for its passphrase, so decrypt it to a file readable only by you with `age -d`")
	case bytes.Contains(data, []byte("PRIVATE KEY-----")):
		return parseSSHIdentity(data, origin)
	}

	ids := &Identities{Origin: origin}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line) // also drops the CR of CRLF files
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var (
			id        age.Identity
			recipient string
			err       error
		)
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			var k *age.HybridIdentity
			if k, err = age.ParseHybridIdentity(line); err == nil {
				id, recipient = k, k.Recipient().String()
			}
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			var k *age.X25519Identity
			if k, err = age.ParseX25519Identity(line); err == nil {
				id, recipient = k, k.Recipient().String()
			}
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, bad("line %d is an age plugin identity; nectar supports age secret keys and SSH keys only", i+1)
		case strings.HasPrefix(line, "age1"):
			return nil, bad("line %d is a public key (a recipient), not a secret key; use the identity file age-keygen wrote", i+1)
		case strings.HasPrefix(line, "ssh-"):
			return nil, bad("line %d is an SSH public key; use the private key file instead", i+1)
		default:
			return nil, bad("line %d is not an age secret key (AGE-SECRET-KEY-1...)", i+1)
		}
		if err != nil {
			// age's message may describe the key's characters; ours does not.
			return nil, bad("line %d is a malformed age secret key (bad length or checksum)", i+1)
		}
		ids.List = append(ids.List, id)
		ids.Recipients = append(ids.Recipients, recipient)
	}
	if len(ids.List) == 0 {
		return nil, bad("holds no key")
	}
	return ids, nil
}

// parseSSHIdentity reads an unencrypted OpenSSH (or PEM) private key.
func parseSSHIdentity(data []byte, origin string) (*Identities, error) {
	key, err := ssh.ParseRawPrivateKey(data)
	if _, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		return nil, fmt.Errorf("the age identity (%s) is an SSH key protected by a passphrase; nectar cannot prompt for it, so give nectar a copy without one (ssh-keygen -p -f COPY), readable only by you", origin)
	}
	if err != nil {
		return nil, fmt.Errorf("the age identity (%s) is not a readable SSH private key", origin)
	}
	var (
		id  age.Identity
		pub any
	)
	switch k := key.(type) {
	case *ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(*k)
		pub = k.Public()
	case ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(k)
		pub = k.Public()
	case *rsa.PrivateKey:
		id, err = agessh.NewRSAIdentity(k)
		pub = k.Public()
	default:
		return nil, fmt.Errorf("the age identity (%s) is an SSH key of a type age cannot use; age supports ssh-ed25519 and ssh-rsa keys", origin)
	}
	if err != nil {
		return nil, fmt.Errorf("the age identity (%s) is an SSH key age cannot use", origin)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("the age identity (%s) is an SSH key age cannot use", origin)
	}
	recipient := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(sshPub)), "\n")
	return &Identities{List: []age.Identity{id}, Origin: origin, Recipients: []string{recipient}}, nil
}

// sshTag is the key tag age's ssh-ed25519 and ssh-rsa stanzas carry: the
// first 4 bytes of the SHA-256 of the public key in SSH wire format.
func sshTag(pub ssh.PublicKey) string {
	sum := sha256.Sum256(pub.Marshal())
	return rawBase64.EncodeToString(sum[:4])
}

// describeRecipient renders a recipient for NotForYouError: age keys as
// they are; SSH keys as their type and tag, the only thing a stanza says
// about the key it is for.
func describeRecipient(r string) string {
	if !strings.HasPrefix(r, "ssh-") {
		return r
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(r))
	if err != nil {
		return shorten(r, 40)
	}
	return pub.Type() + " tag " + sshTag(pub)
}

// FormatIdentity returns id in the text form age-keygen writes: a
// "# created:" line, a "# public key:" line and the secret key line.
func FormatIdentity(id *age.X25519Identity, created time.Time) []byte {
	return fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		created.Format(time.RFC3339), id.Recipient(), id)
}

// NewIdentityText makes a new X25519 identity and returns it as
// FormatIdentity writes it, with its recipient. keygen without -o prints it.
func NewIdentityText() (text []byte, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", fmt.Errorf("cannot make an age identity: %w", err)
	}
	return FormatIdentity(id, time.Now()), id.Recipient().String(), nil
}

// GenerateIdentity writes a new X25519 identity to path, as NewIdentityText
// makes it, and returns its recipient. Missing folders are made with mode
// 0700 and the file with 0600. It never overwrites a file: when path exists
// the error wraps fs.ErrExist. The file is synced before it returns, as it
// may be the only key to a fleet's secrets.
func GenerateIdentity(path string) (recipient string, err error) {
	if path == "" {
		return "", errors.New("cannot write a new age identity: no path given")
	}
	text, recipient, err := NewIdentityText()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot write a new age identity: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("cannot write a new age identity to %s: %w; nectar never overwrites a key", path, fs.ErrExist)
	}
	if err != nil {
		return "", fmt.Errorf("cannot write a new age identity: %w", err)
	}
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("cannot write a new age identity to %s: %w", path, err)
	}
	// Make the new name durable too; not every system can sync a folder.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return recipient, nil
}
