// Package hint attaches advice for the user to an error. The CLI prints the
// error as "nectar: error: ..." and each hint on its own "hint:" line.
package hint

import "errors"

type withHint struct {
	err  error
	hint string
}

func (e *withHint) Error() string { return e.err.Error() }
func (e *withHint) Unwrap() error { return e.err }

// Wrap returns err with a hint attached; nil stays nil.
func Wrap(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &withHint{err: err, hint: hint}
}

// New is errors.New with a hint.
func New(msg, hint string) error { return Wrap(errors.New(msg), hint) }

// Of returns every hint attached anywhere in err's chain, outermost first.
func Of(err error) []string {
	var out []string
	for err != nil {
		if h, ok := err.(*withHint); ok {
			out = append(out, h.hint)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				out = append(out, Of(e)...)
			}
			return out
		default:
			return out
		}
	}
	return out
}
