// Package prompt asks a person at a terminal for a credential's fields,
// one by one, without echoing the secret ones.
package prompt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
)

// IsTerminal reports whether f is an interactive terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Terminal reads answers from In (a terminal) and writes questions to Out.
type Terminal struct {
	In  *os.File
	Out io.Writer
}

// errNoAnswer ends prompting when the input closes mid-way.
var errNoAnswer = errors.New("input ended before every field was answered")

// Line asks for a value that may be shown as it is typed.
func (t Terminal) Line(question string) (string, error) {
	fmt.Fprint(t.Out, question)
	// Read byte by byte: a buffered reader could swallow input meant for
	// the next, unechoed, question.
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := t.In.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				return b.String(), nil
			}
			return "", errNoAnswer
		}
	}
}

// Secret asks for a value without echoing it.
func (t Terminal) Secret(question string) (string, error) {
	fmt.Fprint(t.Out, question)
	v, err := term.ReadPassword(int(t.In.Fd()))
	fmt.Fprintln(t.Out)
	if err != nil {
		return "", errNoAnswer
	}
	return string(v), nil
}

// maxTries bounds how often a field left empty or answered wrongly is asked
// for again.
const maxTries = 3

// Credential asks for every field of a known connector: each secret field
// hidden, each plain field shown with Hummingbot's default offered by
// leaving it empty. Required fields must be answered.
func Credential(t Terminal, account string, spec connector.Spec) (*fleet.Credential, error) {
	c := &fleet.Credential{Account: account, Connector: spec.Name}
	fmt.Fprintf(t.Out, "Credential %s for account %s (secret fields are not shown as you type).\n", spec.Name, account)
	required := func(f string) bool {
		for _, r := range spec.Required {
			if r == f {
				return true
			}
		}
		return false
	}
	// A field Hummingbot keeps in plaintext but types as a secret is asked
	// like a secret: it is one to the operator (nectar writes it as
	// Hummingbot reads it).
	for _, f := range append(slices.Clone(spec.Secret), spec.PlaintextSecret...) {
		var v string
		for try := 0; ; try++ {
			var err error
			v, err = t.Secret(fmt.Sprintf("  %s (secret): ", f))
			if err != nil {
				return nil, err
			}
			if v != "" || !required(f) {
				break
			}
			if try+1 == maxTries {
				return nil, fmt.Errorf("%s is required", f)
			}
			fmt.Fprintf(t.Out, "  %s is required.\n", f)
		}
		if v != "" {
			c.Secrets = append(c.Secrets, fleet.SecretField{Name: f, Value: fleet.Secret(v)})
		}
	}
	for _, f := range spec.Plain {
		if slices.Contains(spec.PlaintextSecret, f) {
			continue
		}
		form := ""
		if e := spec.Expects(f); e != "" {
			form = e + "; "
		}
		q := fmt.Sprintf("  %s (%sleave empty for Hummingbot's default): ", f, form)
		if required(f) {
			q = fmt.Sprintf("  %s: ", f)
			if form != "" {
				q = fmt.Sprintf("  %s (%s): ", f, strings.TrimSuffix(form, "; "))
			}
		}
		var v any
		for try := 0; ; try++ {
			line, err := t.Line(q)
			if err != nil {
				return nil, err
			}
			v = nil
			if line != "" {
				v = scalar(line)
			}
			problem := ""
			switch ok, want := spec.CheckSetting(f, v); {
			case line == "" && required(f):
				problem = fmt.Sprintf("%s is required", f)
			case line != "" && !ok:
				problem = fmt.Sprintf("%s takes %s", f, want)
			}
			if problem == "" {
				break
			}
			if try+1 == maxTries {
				return nil, errors.New(problem)
			}
			fmt.Fprintf(t.Out, "  %s.\n", problem)
		}
		if v == nil {
			continue
		}
		c.Settings = append(c.Settings, fleet.Field{Name: f, Value: spec.Canonical(f, v)})
	}
	return c, nil
}

// scalar reads a typed answer as YAML would ("true" is a bool, "3" an
// int), so settings keep the types Hummingbot expects.
func scalar(s string) any {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	switch v.(type) {
	case bool, int, int64, float64, string:
		return v
	}
	return s
}
