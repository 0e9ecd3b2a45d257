package runtime

import (
	"errors"
	"strings"
	"testing"
)

// Cleaning an engine's message of the container's environment drops the
// engine's own error, never the Kind callers branch on.
func TestEngineErrorWithoutEnv(t *testing.T) {
	const password = "s3cret-account-password"
	e := &EngineError{Op: "create container x", Kind: ErrRefused,
		Err: errors.New(`invalid env "HBOT_PASSWORD=` + password + `"`)}
	got := e.WithoutEnv([]string{"HBOT_PASSWORD=" + password})
	if strings.Contains(got.Error(), password) {
		t.Fatalf("the password is still in %q", got)
	}
	if !errors.Is(got, ErrRefused) || !strings.HasPrefix(got.Error(), "create container x: ") {
		t.Fatalf("cleaned error %q lost its operation or its kind", got)
	}
	if clean := (&EngineError{Op: "op", Err: errors.New("no env here")}); clean.WithoutEnv([]string{"A=" + password}) != error(clean) {
		t.Error("an error with nothing to clean was replaced")
	}
}
