package manage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
)

// ImportAccount creates account name holding password and creds, as read
// from a Hummingbot credentials folder: accounts/NAME/password.age and one
// <connector>.yml.age per credential, each age-encrypted to the fleet's
// recipients. It refuses an account that already has files, and checks
// every credential as `nectar validate` would before writing anything; if
// a write fails, it removes what it wrote. It returns the files written,
// relative to the fleet folder.
func (f Folder) ImportAccount(name, password string, creds []*fleet.Credential) ([]string, error) {
	if why := fleet.PasswordProblem(password); why != "" {
		return nil, errors.New(why)
	}
	rs, extra, err := f.checkImport(name)
	if err != nil {
		return nil, err
	}
	dir := f.accountDir(name)

	plains := make([][]byte, len(creds))
	var errs []error
	seen := map[string]bool{}
	for i, c := range creds {
		if err := CheckName("connector", c.Connector); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[c.Connector] {
			errs = append(errs, fmt.Errorf("connector %s is imported twice", c.Connector))
			continue
		}
		seen[c.Connector] = true
		if _, known := connector.Lookup(c.Connector); !known && !slices.Contains(extra, c.Connector) {
			// Its fields are split by what the Hummingbot folder held
			// encrypted, which is exact; still, nectar runs a connector
			// it does not know only when nectar.yaml says so.
			errs = append(errs, hint.Wrap(fmt.Errorf("connector %s is not a connector of Hummingbot %s", c.Connector, connector.HummingbotVersion),
				"if the bots' image has it, list it under extra_connectors: in nectar.yaml and import again"))
			continue
		}
		plain, err := MarshalCredential(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %s: %w", c.Connector, err))
			continue
		}
		// The positions ParseCredential reports refer to nectar's own
		// rendering of the credential, which the user never sees; the
		// messages name the field.
		_, problems := fleet.ParseCredential(name, c.Connector, plain)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("connector %s: %s", c.Connector, p.Message))
		}
		plains[i] = plain
	}
	if len(errs) > 0 {
		return nil, hint.Wrap(errors.Join(errs...),
			"nothing was written; fix the connector files in the Hummingbot folder (or move the faulty ones aside and add them later with `nectar cred add`)")
	}

	_, statErr := os.Lstat(dir)
	createdDir := errors.Is(statErr, fs.ErrNotExist)
	var written []string
	undo := func(cause error) ([]string, error) {
		for _, p := range written {
			os.Remove(f.path(filepath.FromSlash(p)))
		}
		if createdDir {
			os.Remove(dir)
		}
		return nil, hint.Wrap(cause, "nothing was kept; run the import again once the cause is fixed")
	}
	pwFile := filepath.Join(dir, fleet.PasswordFile)
	if err := f.writeEncrypted(pwFile, []byte(password+"\n"), rs); err != nil {
		return undo(err)
	}
	written = append(written, f.rel(pwFile))
	for i, c := range creds {
		path := f.credentialFile(name, c.Connector)
		if err := f.writeEncrypted(path, plains[i], rs); err != nil {
			return undo(err)
		}
		written = append(written, f.rel(path))
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return undo(err)
	}
	return written, nil
}

// CheckImport says whether account name could be imported into this fleet
// now, so a caller can refuse before asking for a password and paying for
// the decryption of a Hummingbot folder.
func (f Folder) CheckImport(name string) error {
	_, _, err := f.checkImport(name)
	return err
}

func (f Folder) checkImport(name string) ([]age.Recipient, []string, error) {
	if err := CheckName("account", name); err != nil {
		return nil, nil, err
	}
	fl, rs, err := f.settings()
	if err != nil {
		return nil, nil, err
	}
	if has, err := hasAgeFiles(f.accountDir(name)); err != nil {
		return nil, nil, err
	} else if has {
		return nil, nil, hint.New(fmt.Sprintf("account %s already exists", name),
			"import into a new account name with --account, or delete this one first with `nectar account delete "+name+"`")
	}
	return rs, fl.ExtraConnectors, nil
}

// hasAgeFiles reports whether an account folder holds any age file.
func hasAgeFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".age") {
			return true, nil
		}
	}
	return false, nil
}
