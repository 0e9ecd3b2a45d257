package scrub

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/hint"
)

func TestTextMasksEveryForm(t *testing.T) {
	const pw = "CASE-pw\x00tail\x01more\x7fé"
	tests := []struct {
		name string
		text string
	}{
		{"as given", "start failed: CONFIG_PASSWORD=" + pw},
		// runc quotes the entry it refuses with Go's %q.
		{"Go-quoted", fmt.Sprintf("environment variable value can't contain null(\\x00): %q: unknown", "CONFIG_PASSWORD="+pw)},
		{"ASCII-quoted", "got " + fmt.Sprintf("%+q", pw)},
		{"JSON", `{"Env":["CONFIG_PASSWORD=CASE-pw\u0000tail\u0001more\u007fé"]}`},
		{"URL", "dial https://u:CASE-pw%00tail%01more%7F%C3%A9@host"},
		{"cut at the first control character", "value CASE-pw then garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.text, pw)
			for _, piece := range []string{"CASE-pw", "more"} {
				if strings.Contains(got, piece) {
					t.Errorf("Text(%q) = %q, still holds %q", tt.text, got, piece)
				}
			}
			if !strings.Contains(got, Mask) {
				t.Errorf("Text(%q) = %q, masks nothing", tt.text, got)
			}
		})
	}
}

func TestTextLeavesShortValuesAndCleanText(t *testing.T) {
	if got := Text("abc is here", "abc"); got != "abc is here" {
		t.Errorf("a value under MinLen was masked: %q", got)
	}
	if got := Text("nothing to see", "CASE-secret"); got != "nothing to see" {
		t.Errorf("clean text changed: %q", got)
	}
}

func TestErrorKeepsSentinelsAndHints(t *testing.T) {
	base := fmt.Errorf("start container: CONFIG_PASSWORD=CASE-secret-1: %w", fs.ErrNotExist)
	err := hint.Wrap(base, "do this")
	got := Error(err, "CASE-secret-1")
	if strings.Contains(got.Error(), "CASE-secret-1") {
		t.Fatalf("secret kept: %v", got)
	}
	if !errors.Is(got, fs.ErrNotExist) {
		t.Error("the sentinel is lost")
	}
	if h := hint.Of(got); len(h) != 1 || h[0] != "do this" {
		t.Errorf("hints = %q", h)
	}
	// Nothing to mask: the very same error comes back.
	if Error(err, "other-secret") != err {
		t.Error("an error without secrets was replaced")
	}
	// Nor may the original be reached by unwrapping.
	for e := got; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "CASE-secret-1") {
			t.Errorf("unwrapping reaches the secret: %v", e)
		}
	}
}

// An engine's message loses every secret of the environment it quotes: a
// long value wherever it stands, a short value only under a secret-looking
// key (a short PATH-like value may be any word), and whole entries.
func TestEnv(t *testing.T) {
	env := []string{"HBOT_PASSWORD=correct-horse-battery", "API_TOKEN=ab1", "LEVEL=1"}
	msg := `runc: invalid env "HBOT_PASSWORD=correct-horse-battery"; token ab1; LEVEL=1 at level 1`
	got := Env(msg, env)
	for _, leak := range []string{"correct-horse-battery", "ab1", "LEVEL=1"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q still in %q", leak, got)
		}
	}
	if !strings.Contains(got, "at level 1") {
		t.Errorf("a short value of a plain key garbled the message: %q", got)
	}
	if !SecretKey("mqtt_password") || !SecretKey("Api_Key") || SecretKey("PATH") {
		t.Error("SecretKey misjudges a name")
	}
}
