package fleet

import (
	"regexp"
	"strings"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether s may name an account, a connector, a bot or a
// fleet. Names end up in paths, container names and labels, so they are
// kept to a small alphabet that is safe in all of them.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// NameRule describes ValidName for error messages.
const NameRule = "lower-case letters, digits, '_' and '-', starting with a letter or digit, at most 63 characters"

// nameProblem says why s is not a valid name, in words a user can act on.
func nameProblem(s string) string {
	switch {
	case s == "":
		return "name is empty"
	case len(s) > 63:
		return "name is longer than 63 characters"
	case strings.ContainsAny(s, "/\\") || strings.Contains(s, ".."):
		return "name contains a path separator or '..'"
	case strings.ToLower(s) != s:
		return "name has upper-case letters"
	}
	return "name has characters outside " + NameRule
}
