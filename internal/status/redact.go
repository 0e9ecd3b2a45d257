package status

import (
	"regexp"
	"strings"

	"github.com/nectarhq/nectar/internal/hint"
)

// userinfo matches the credentials part of a URL ("https://user:token@",
// "tcp://token@"). nectar takes git tokens from the environment, never
// from the source URL, but a user may still write one there, and git and
// Docker errors quote URLs as given.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// Redact removes URL credentials from text shown to people: what the Store
// records, and the daemon address `nectar status` quotes in its errors. It
// is a last line of defence: the values the Store records hold no secret by
// design.
func Redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}[redacted]@")
}

// errText is err's message with URL credentials removed; "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return Redact(err.Error())
}

// hintText is the hints an error carries, cleaned like its text.
func hintText(err error) string {
	if err == nil {
		return ""
	}
	return Redact(strings.Join(hint.Of(err), "; "))
}
