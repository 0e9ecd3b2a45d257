package connector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nectarhq/nectar/internal/hint"
)

// An Entry is one field of a credential as it is written: under secrets:
// (to be encrypted for Hummingbot) or under settings: (written as is).
type Entry struct {
	Name   string
	Secret bool // written under secrets:
	Value  any  // a settings: value as YAML reads it; unused for secrets
}

// Fault is the kind of thing Hummingbot would refuse in a connector's
// fields. It tells a caller where the fault sits in the file: a value, a
// field's name, or nowhere (a field that is missing).
type Fault int

// The faults Check finds.
const (
	NotSecret    Fault = iota + 1 // a plain field written under secrets:
	NotPlain                      // a secret field written under settings:
	UnknownField                  // a name the connector does not have
	BadValue                      // a setting whose value its declared type cannot take
	MissingField                  // a required field written nowhere
)

// A Problem is one field Hummingbot would refuse at start, in the
// connector's own terms: which field, what is wrong and how to fix it.
// The hint names no position: line numbers are the caller's business.
type Problem struct {
	Fault   Fault
	Field   string
	Secret  bool // the field sits under secrets: (for MissingField: belongs there)
	Message string
	Hint    string
}

// Check holds the fields of a credential of this connector to what
// Hummingbot accepts at start: each under the key Hummingbot reads it
// from, each known to the connector, each setting of a value its type
// takes, and every required field present. Problems come in the order of
// entries, then the missing fields in the table's order. A secret-typed
// field Hummingbot keeps in plaintext is accepted under either key.
func (s Spec) Check(entries []Entry) []Problem {
	var out []Problem
	fieldList := "fields of " + s.Name + ": " + strings.Join(s.Fields(), ", ")
	for _, e := range entries {
		switch k := s.FieldKind(e.Name); {
		case k == Unknown:
			out = append(out, s.unknownField(e, fieldList))
		case e.Secret && k == PlainField:
			out = append(out, Problem{Fault: NotSecret, Field: e.Name, Secret: true,
				Message: fmt.Sprintf("%s is not a secret field of %s", e.Name, s.Name),
				Hint:    "move it under settings: (Hummingbot stores it in plaintext)"})
		case !e.Secret && k == SecretField:
			out = append(out, Problem{Fault: NotPlain, Field: e.Name,
				Message: fmt.Sprintf("%s is a secret field of %s but sits under settings:", e.Name, s.Name),
				Hint:    "move it under secrets: so it is encrypted for Hummingbot"})
		case !e.Secret && k == PlainField:
			if ok, want := s.CheckSetting(e.Name, e.Value); !ok {
				out = append(out, Problem{Fault: BadValue, Field: e.Name,
					Message: fmt.Sprintf("setting %s of %s takes %s (Hummingbot %s would refuse this value at start)", e.Name, s.Name, want, HummingbotVersion),
					Hint:    "write " + want})
			}
		}
	}
	for _, r := range s.Required {
		if slices.ContainsFunc(entries, func(e Entry) bool { return e.Name == r }) {
			continue
		}
		// A plaintext secret belongs with the secrets in the file's
		// layout, though Hummingbot reads it as written.
		secret := s.FieldKind(r) != PlainField
		where := "settings:"
		if secret {
			where = "secrets:"
		}
		out = append(out, Problem{Fault: MissingField, Field: r, Secret: secret,
			Message: fmt.Sprintf("missing required field %s for connector %s", r, s.Name),
			Hint:    fmt.Sprintf("add %s under %s", r, where)})
	}
	return out
}

// unknownField is the problem of a name the connector does not have. In
// a decrypted credential such a name may well be a secret pasted in the
// wrong place, so it is quoted only when it is a typo away from a field
// (no secret is).
func (s Spec) unknownField(e Entry, fieldList string) Problem {
	p := Problem{Fault: UnknownField, Field: e.Name, Secret: e.Secret}
	if guess := closestField(e.Name, s.Fields()); guess != "" {
		p.Message = fmt.Sprintf("unknown field %s for connector %s (Hummingbot %s would refuse it)", e.Name, s.Name, HummingbotVersion)
		p.Hint = fmt.Sprintf("did you mean %q? %s", guess, fieldList)
		return p
	}
	p.Message = fmt.Sprintf("unknown field for connector %s (its name is not shown, as it may be a secret written as a key; Hummingbot %s would refuse it)", s.Name, HummingbotVersion)
	p.Hint = fieldList
	return p
}

// closestField is the field within two edits of name (a typo rather than
// another word), the first of the closest; "" when none is.
func closestField(name string, fields []string) string {
	best, bestDist := "", 3
	for _, f := range fields {
		if d := hint.Distance(name, f, false); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}
