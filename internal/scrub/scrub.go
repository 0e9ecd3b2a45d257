// Package scrub removes secret values from text that is about to be shown:
// errors from the Docker engine or git, which may quote what nectar sent
// them. Engines seldom quote a value as it was: Go's %q escapes control
// characters, JSON escapes them differently, URLs percent-encode. So each
// secret is looked for in every form a message is known to carry, and in
// the pieces between its control characters, since a message may quote a
// value only up to the first byte it could not print.
package scrub

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nectarhq/nectar/internal/hint"
)

// Mask replaces every secret found.
const Mask = "[redacted]"

// MinLen is the shortest value looked for: shorter ones would garble
// ordinary words of a message.
const MinLen = 4

// forms returns the spellings of s a message may carry, longest first so
// that a longer form is masked before a piece of it is.
func forms(s string) []string {
	out := []string{s}
	if q := strconv.Quote(s); len(q) > 2 {
		out = append(out, q[1:len(q)-1])
	}
	if q := strconv.QuoteToASCII(s); len(q) > 2 {
		out = append(out, q[1:len(q)-1])
	}
	if j, err := json.Marshal(s); err == nil && len(j) > 2 {
		out = append(out, string(j[1:len(j)-1]))
	}
	out = append(out, url.QueryEscape(s), url.PathEscape(s))
	// The pieces between bytes a message may not print as they are.
	out = append(out, strings.FieldsFunc(s, func(r rune) bool {
		return r == utf8.RuneError || unicode.IsControl(r)
	})...)
	out = slices.DeleteFunc(out, func(f string) bool { return len(f) < MinLen })
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}

// Text returns text with every form of every secret masked.
func Text(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) < MinLen || text == "" {
			continue
		}
		for _, f := range forms(s) {
			text = strings.ReplaceAll(text, f, Mask)
		}
	}
	return text
}

// Error returns err with every form of every secret masked from its text.
// When something was masked the original chain is dropped, since printing
// an inner error would show the secret again; errors.Is still answers for
// it (callers branch on sentinels such as "not found"), and hints travel on.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Text(msg, secrets...)
	if clean == msg {
		return err
	}
	var out error = &scrubbed{msg: clean, orig: err}
	hints := hint.Of(err)
	for i := len(hints) - 1; i >= 0; i-- {
		out = hint.Wrap(out, hints[i])
	}
	return out
}

type scrubbed struct {
	msg  string
	orig error
}

func (e *scrubbed) Error() string { return e.msg }

// Is matches what the original error matched, without handing it out.
func (e *scrubbed) Is(target error) bool { return errors.Is(e.orig, target) }

// Env masks a container's environment (KEY=VALUE entries) in an engine's
// message: every value long enough to be matched without garbling the
// message, the short values of keys that look secret, and whole entries
// (so an entry quoted whole reads KEY=[redacted], and a short value beside
// its key goes too).
func Env(msg string, env []string) string {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case len(v) >= MinLen:
			msg = Text(msg, v)
		case v != "" && SecretKey(k):
			msg = strings.ReplaceAll(msg, v, Mask)
		}
		msg = Text(msg, kv)
	}
	return msg
}

// SecretKey reports whether an environment variable's name says it holds
// a secret (a password, secret, token or key).
func SecretKey(key string) bool {
	k := strings.ToUpper(key)
	for _, w := range []string{"PASSWORD", "SECRET", "TOKEN", "KEY"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
