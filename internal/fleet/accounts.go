package fleet

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nectarhq/nectar/internal/secrets"
)

// checkAccounts reads the accounts the walk found: each one's password and
// credentials, decrypted with ids (with nil, accounts and their connectors
// are listed and nothing is decrypted). admits says which connectors
// Hummingbot's table lacks may stand (see settings.admits).
func checkAccounts(fsys fs.FS, src *inventory, ids *secrets.Identities, admits func(conn string) bool) (map[string]*Account, []Problem) {
	var ps problems
	accounts := map[string]*Account{}
	for _, name := range src.accounts {
		a := &Account{Name: name, Credentials: map[string]*Credential{}}
		a.Connectors = slices.Clone(src.credentials[name])
		slices.Sort(a.Connectors)
		accounts[name] = a
		pw := AccountsDir + "/" + name + "/" + PasswordFile
		if !src.regular[pw] {
			ps.add(pw, 0, 0, fmt.Sprintf("create it with `nectar account create %s`", name), "account %s has no password.age", name)
		} else if ids != nil {
			a.Password = loadPassword(fsys, ids, name, pw, &ps)
		}
		if ids == nil {
			continue
		}
		for _, c := range a.Connectors {
			file := credentialPath(name, c)
			if src.refused[file] {
				continue // its problem is already reported
			}
			plain, ok := decrypt(fsys, ids, file, &ps)
			if !ok {
				continue
			}
			if cred := checkCredential(&ps, file, name, c, plain, admits); cred != nil {
				a.Credentials[c] = cred
			}
		}
	}
	return accounts, ps.list
}

// loadPassword decrypts an account's password; "" when it cannot be used.
func loadPassword(fsys fs.FS, ids *secrets.Identities, account, file string, ps *problems) Secret {
	plain, ok := decrypt(fsys, ids, file, ps)
	if !ok {
		return ""
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(plain), "\n"), "\r")
	if why := PasswordProblem(pw); why != "" {
		ps.add(file, 0, 0, fmt.Sprintf("remove the file and run `nectar account create %s` to write a new random password", account), "%s", why)
		return ""
	}
	return Secret(pw)
}

// PasswordProblem says what makes pw unusable as a bot's config password,
// or "" when it is fine. The password travels in the container's
// environment: an engine refuses a NUL there and quotes the whole entry in
// its error, and other control characters or bytes that are not UTF-8 are
// mangled on the way or by Hummingbot's prompt. Blanks alone are kept:
// Hummingbot accepts them, and an imported account may have one. The
// reasons never quote the password.
func PasswordProblem(pw string) string {
	switch {
	case pw == "":
		return "the password is empty"
	case strings.ContainsAny(pw, "\r\n"):
		return "the password spans several lines"
	case !utf8.ValidString(pw):
		return "the password is not valid UTF-8 text"
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "the password holds a control character (a NUL, a tab or another invisible byte), which cannot travel safely in a container's environment"
	}
	return ""
}
