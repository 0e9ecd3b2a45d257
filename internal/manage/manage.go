// Package manage changes a fleet folder on a person's behalf: it scaffolds
// a fleet, creates and deletes accounts, adds, edits and removes
// credentials, and re-encrypts everything to new recipients. Plaintext
// secrets only ever live in memory here; what reaches disk is age
// ciphertext, written atomically.
package manage

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/secrets"
)

// Folder is a fleet source on local disk.
type Folder struct {
	Dir string
}

// Load reads the whole fleet. ids may be nil to skip decryption.
func (f Folder) Load(ids *secrets.Identities) (*fleet.Fleet, error) {
	root, err := os.OpenRoot(f.Dir)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("cannot open the fleet folder: %w", err),
			"pass the fleet folder with --source, or run the command inside it")
	}
	// The loaded fleet keeps no open handle: callers here only need the
	// parsed state, so the root is closed once loading is done.
	defer root.Close()
	fl := fleet.Load(root.FS(), fleet.Options{Identities: ids})
	fl.FS = os.DirFS(f.Dir)
	return fl, nil
}

// settings loads the fleet and insists that nectar.yaml is sound, since
// every encrypted file must go to its recipients.
func (f Folder) settings() (*fleet.Fleet, []age.Recipient, error) {
	fl, err := f.Load(nil)
	if err != nil {
		return nil, nil, err
	}
	if !fl.SettingsOK() {
		var errs []error
		for _, p := range fl.Problems {
			if p.File == fleet.SettingsFile || p.File == "" {
				errs = append(errs, hint.Wrap(p, p.Hint))
			}
		}
		return nil, nil, errors.Join(errs...)
	}
	rs, err := secrets.ParseRecipients(fl.Recipients)
	if err != nil {
		return nil, nil, err
	}
	return fl, rs, nil
}

func (f Folder) path(parts ...string) string {
	return filepath.Join(append([]string{f.Dir}, parts...)...)
}

func (f Folder) accountDir(name string) string { return f.path(fleet.AccountsDir, name) }

func (f Folder) credentialFile(account, conn string) string {
	return filepath.Join(f.accountDir(account), conn+fleet.CredentialSuffix)
}

// CheckName returns a helpful error when name is not a valid name of the
// given kind (account, connector).
func CheckName(kind, name string) error {
	if fleet.ValidName(name) {
		return nil
	}
	return hint.New(fmt.Sprintf("invalid %s name %q", kind, name), kind+" names use "+fleet.NameRule)
}

func (f Folder) writeEncrypted(path string, plain []byte, rs []age.Recipient) error {
	ct, err := secrets.Encrypt(plain, rs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, ct, 0o600)
}

// NewPassword returns a random Hummingbot config password: 192 bits,
// printable, and free of characters shells or YAML treat specially.
func NewPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateAccount makes accounts/NAME/password.age holding a new random
// password. An account folder that exists without a password gets one; an
// account that has one is left alone.
func (f Folder) CreateAccount(name string) error {
	if err := CheckName("account", name); err != nil {
		return err
	}
	_, rs, err := f.settings()
	if err != nil {
		return err
	}
	pwFile := filepath.Join(f.accountDir(name), fleet.PasswordFile)
	if _, err := os.Lstat(pwFile); err == nil {
		return hint.New(fmt.Sprintf("account %s already exists", name),
			"add credentials with `nectar cred add "+name+" <connector>`")
	}
	pw, err := NewPassword()
	if err != nil {
		return err
	}
	return f.writeEncrypted(pwFile, []byte(pw+"\n"), rs)
}

// DeleteAccount removes an account's folder. While bots use the account it
// refuses and names them, unless force is set.
func (f Folder) DeleteAccount(name string, force bool) error {
	if err := CheckName("account", name); err != nil {
		return err
	}
	fl, err := f.Load(nil)
	if err != nil {
		return err
	}
	if _, ok := fl.Accounts[name]; !ok {
		return accountMissing(fl, name)
	}
	if users := fl.BotsUsingAccount(name); len(users) > 0 && !force {
		return hint.New(fmt.Sprintf("account %s is used by bot(s): %s", name, strings.Join(users, ", ")),
			"point those bots at another account or delete them first; --force deletes the account anyway and leaves them Stalled")
	}
	if err := os.RemoveAll(f.accountDir(name)); err != nil {
		return err
	}
	return atomicfile.SyncDir(f.path(fleet.AccountsDir))
}

func accountMissing(fl *fleet.Fleet, name string) error {
	names := make([]string, 0, len(fl.Accounts))
	for n := range fl.Accounts {
		names = append(names, n)
	}
	slices.Sort(names)
	h := "create it with `nectar account create " + name + "`"
	if len(names) > 0 {
		h += "; accounts: " + strings.Join(names, ", ")
	}
	return hint.New(fmt.Sprintf("account %s does not exist", name), h)
}

// AddCredential validates a credential's plaintext and writes it encrypted
// as accounts/ACCOUNT/CONNECTOR.yml.age. An existing credential is only
// replaced with replace set.
func (f Folder) AddCredential(account, conn string, plain []byte, replace bool) error {
	if err := CheckName("account", account); err != nil {
		return err
	}
	if err := CheckName("connector", conn); err != nil {
		return err
	}
	fl, rs, err := f.settings()
	if err != nil {
		return err
	}
	if _, ok := fl.Accounts[account]; !ok {
		return accountMissing(fl, account)
	}
	path := f.credentialFile(account, conn)
	if _, err := os.Lstat(path); err == nil && !replace {
		return hint.New(fmt.Sprintf("account %s already has a %s credential", account, conn),
			fmt.Sprintf("change it with `nectar cred edit %s %s`, or remove it first with `nectar cred rm`", account, conn))
	}
	if _, problems := fleet.ParseCredential(account, conn, plain); len(problems) > 0 {
		return problemsError(problems)
	}
	return f.writeEncrypted(path, plain, rs)
}

// problemsError turns validation problems into one error whose hints the
// CLI prints.
func problemsError(ps []fleet.Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = hint.Wrap(p, p.Hint)
	}
	return errors.Join(errs...)
}

// RemoveCredential deletes one credential file.
func (f Folder) RemoveCredential(account, conn string) error {
	if err := CheckName("account", account); err != nil {
		return err
	}
	if err := CheckName("connector", conn); err != nil {
		return err
	}
	path := f.credentialFile(account, conn)
	if _, err := os.Lstat(path); err != nil {
		return hint.New(fmt.Sprintf("account %s has no %s credential", account, conn),
			"list them with `nectar cred list "+account+"`")
	}
	return atomicfile.Remove(path)
}

// ReadCredential decrypts one credential file.
func (f Folder) ReadCredential(account, conn string, ids *secrets.Identities) ([]byte, error) {
	path := f.credentialFile(account, conn)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, hint.New(fmt.Sprintf("account %s has no %s credential", account, conn),
			fmt.Sprintf("add one with `nectar cred add %s %s`", account, conn))
	}
	if err != nil {
		return nil, err
	}
	plain, err := secrets.Decrypt(data, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.rel(path), err)
	}
	return plain, nil
}

func (f Folder) rel(path string) string {
	r, err := filepath.Rel(f.Dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// Rekey re-encrypts every age file of the fleet to nectar.yaml's current
// recipients. It decrypts everything first and writes nothing unless every
// file decrypted, so a half-rekeyed fleet cannot happen through a missing
// key. It returns the files written.
func (f Folder) Rekey(ids *secrets.Identities) ([]string, error) {
	_, rs, err := f.settings()
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(f.path(fleet.AccountsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".age") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	plains := make([][]byte, len(files))
	var errs []error
	for i, p := range files {
		data, err := os.ReadFile(p)
		if err == nil {
			plains[i], err = secrets.Decrypt(data, ids)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.rel(p), err))
		}
	}
	if len(errs) > 0 {
		return nil, hint.Wrap(errors.Join(errs...), "nothing was changed; rekey needs an identity that can read every file (--identity)")
	}
	written := make([]string, 0, len(files))
	for i, p := range files {
		if err := f.writeEncrypted(p, plains[i], rs); err != nil {
			return written, err
		}
		written = append(written, f.rel(p))
	}
	return written, nil
}
