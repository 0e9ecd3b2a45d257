// Package hbimport reads the credentials Hummingbot's own tooling keeps for
// an account, so they can become a nectar account. The folder is
// bots/credentials/<account> of Hummingbot's deploy (what its Dashboard's
// Credentials page manages), or equally the conf/ folder of a Hummingbot
// instance:
//
//	.password_verification     "HummingBot" encrypted with the account's password
//	connectors/<connector>.yml one per exchange: plaintext settings, encrypted secrets
//
// Every encrypted value Hummingbot writes has a salt of its own, so reading
// a folder costs one key derivation per secret; Read runs them in parallel.
package hbimport

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/capread"
	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// Names inside a credentials folder.
const (
	VerificationFile = ".password_verification"
	ConnectorsDir    = "connectors"
)

// maxFileSize caps every file read; real ones are a few kilobytes.
const maxFileSize = fleet.MaxFileSize

// Error is a problem with one file of the folder, and with one field of it
// when Field is set. It never quotes a value: the values are secrets, or
// ciphertext of secrets.
type Error struct {
	File  string // slash-separated path inside the folder
	Field string
	Err   error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ": field " + e.Field + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrWrongPassword is returned, inside an *Error naming
// .password_verification, when the password does not open the folder. It
// also matches hbcrypt.ErrWrongPassword. (A secret that fails to decrypt
// once the password is verified matches only hbcrypt.ErrWrongPassword.)
var ErrWrongPassword error = wrongPassword{}

type wrongPassword struct{}

func (wrongPassword) Error() string { return "wrong password (it does not decrypt this file)" }
func (wrongPassword) Unwrap() error { return hbcrypt.ErrWrongPassword }

// ErrNotCredentialsFolder is returned when the folder has no
// .password_verification file.
var ErrNotCredentialsFolder = errors.New("not a Hummingbot credentials folder: no " + VerificationFile)

// Read checks password against the folder's .password_verification, then
// reads and decrypts every connectors/*.yml, and returns one credential per
// connector, sorted by connector name, for account. Files whose names start
// with '_' or '.' are skipped, as Hummingbot skips them.
//
// Fields are split into secrets and settings by Hummingbot's table of
// connector fields; for a connector not in it, a value that is an encrypted
// Hummingbot value is a secret and anything else a setting. A secret left
// empty is dropped. A wrong password returns an error wrapping
// ErrWrongPassword and no credentials; any other failure returns
// every problem found, each an *Error, and no credentials.
func Read(fsys fs.FS, account, password string, k *hbcrypt.Keyring) ([]*fleet.Credential, error) {
	if k == nil {
		k = hbcrypt.NewKeyring()
	}
	verification, err := readFile(fsys, VerificationFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotCredentialsFolder
	}
	if err != nil {
		return nil, &Error{File: VerificationFile, Err: err}
	}
	if err := k.VerifyPassword(password, string(verification)); err != nil {
		if errors.Is(err, hbcrypt.ErrWrongPassword) {
			return nil, &Error{File: VerificationFile, Err: ErrWrongPassword}
		}
		return nil, &Error{File: VerificationFile, Err: err}
	}

	entries, err := fs.ReadDir(fsys, ConnectorsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // an account with a password and no exchange yet
	}
	if err != nil {
		return nil, &Error{File: ConnectorsDir, Err: err}
	}
	var (
		creds []*fleet.Credential
		jobs  []*secretJob
		errs  []error
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".yml") {
			continue
		}
		cred, fileJobs, err := parseConnector(fsys, ConnectorsDir+"/"+name, account)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		creds = append(creds, cred)
		jobs = append(jobs, fileJobs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := decryptAll(k, password, jobs); err != nil {
		return nil, err
	}
	for _, c := range creds {
		// A value that decrypts to nothing is a secret left empty.
		c.Secrets = slices.DeleteFunc(c.Secrets, func(s fleet.SecretField) bool { return s.Value == "" })
	}
	slices.SortFunc(creds, func(a, b *fleet.Credential) int { return cmp.Compare(a.Connector, b.Connector) })
	return creds, nil
}

// secretJob is one value waiting to be decrypted into its credential.
type secretJob struct {
	file, field string
	value       string
	cred        *fleet.Credential
	index       int // in cred.Secrets
}

// parseConnector reads one connector file and sorts its fields; secrets
// come back as jobs, decrypted later all together.
func parseConnector(fsys fs.FS, file, account string) (*fleet.Credential, []*secretJob, error) {
	conn := strings.TrimSuffix(file[len(ConnectorsDir)+1:], ".yml")
	if !fleet.ValidName(conn) {
		return nil, nil, &Error{File: file, Err: fmt.Errorf("%q is not a name nectar accepts for a connector (%s)", conn, fleet.NameRule)}
	}
	data, err := readFile(fsys, file)
	if err != nil {
		return nil, nil, &Error{File: file, Err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, &Error{File: file, Err: yamlError(err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, &Error{File: file, Err: errors.New("not a YAML mapping of connector fields")}
	}
	root := doc.Content[0]
	spec, known := connector.Lookup(conn)
	cred := &fleet.Credential{Account: account, Connector: conn}
	var jobs []*secretJob
	seen := map[string]bool{}
	var errs []error
	fail := func(field string, format string, args ...any) {
		errs = append(errs, &Error{File: file, Field: field, Err: fmt.Errorf(format, args...)})
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			errs = append(errs, &Error{File: file, Err: fmt.Errorf("line %d: a field name must be a plain word", kn.Line)})
			continue
		}
		name := kn.Value
		if seen[name] {
			fail(name, "appears more than once")
			continue
		}
		seen[name] = true
		if name == "connector" {
			if vn.Kind != yaml.ScalarNode || vn.Value != conn {
				fail(name, "does not match the file name (%s)", conn)
			}
			continue
		}
		secret := false
		switch {
		case known:
			switch spec.Field(name) {
			case connector.SecretField:
				secret = true
			case connector.Unknown:
				fail(name, "not a field of connector %s in Hummingbot %s (it has: %s)", conn, connector.HummingbotVersion, strings.Join(spec.Fields(), ", "))
				continue
			}
		default:
			if vn.Kind == yaml.ScalarNode && vn.Tag == "!!str" {
				_, err := hbcrypt.Inspect(vn.Value)
				secret = err == nil
			}
		}
		if !secret {
			var v any
			if err := vn.Decode(&v); err != nil {
				fail(name, "line %d: the value is not plain YAML", vn.Line)
				continue
			}
			cred.Settings = append(cred.Settings, fleet.Field{Name: name, Value: normalize(v)})
			continue
		}
		if vn.Kind != yaml.ScalarNode {
			fail(name, "a secret field must hold an encrypted value")
			continue
		}
		if vn.Tag == "!!null" || vn.Value == "" {
			continue // an optional secret left empty
		}
		jobs = append(jobs, &secretJob{file: file, field: name, value: vn.Value, cred: cred, index: len(cred.Secrets)})
		cred.Secrets = append(cred.Secrets, fleet.SecretField{Name: name})
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return cred, jobs, nil
}

// decryptAll decrypts every job, several at once: each of Hummingbot's
// values has its own salt and so costs a derivation of its own.
func decryptAll(k *hbcrypt.Keyring, password string, jobs []*secretJob) error {
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				job := jobs[i]
				plain, err := k.Decrypt(password, job.value)
				if err != nil {
					if errors.Is(err, hbcrypt.ErrWrongPassword) {
						err = fmt.Errorf("cannot decrypt with the account's password (written with another password, or damaged): %w", err)
					}
					errs[i] = &Error{File: job.file, Field: job.field, Err: err}
					continue
				}
				job.cred.Secrets[job.index].Value = fleet.Secret(plain)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	return capread.ReadFile(fsys, name, maxFileSize, errTooLarge)
}

var errTooLarge = fmt.Errorf("file is larger than %d bytes", maxFileSize)

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError keeps only the position of a YAML syntax error: the parser's
// message may quote the text around it, and that text may be a secret.
func yamlError(err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("invalid YAML at line %s (the text is not shown: it may be secret)", m[1])
	}
	return errors.New("invalid YAML (the text is not shown: it may be secret)")
}

// normalize gives decoded settings the types fleet.Field documents:
// integers as int64, nested lists and mappings likewise.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
	}
	return v
}
