package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestExposureWarnsWithItsHint: a status page open to other machines
// without a token is said as a warning with the hint on its own line, the
// hint taken from the error that carries it; a loopback page says nothing.
func TestExposureWarnsWithItsHint(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want []string
	}{
		{"0.0.0.0:0", []string{
			"nectar: warning: the status page on 0.0.0.0:0 can be reached from other machines and has no token",
			"nectar: hint: listen on 127.0.0.1 (the default), or set a token\n",
		}},
		{"127.0.0.1:0", nil},
	} {
		var stderr bytes.Buffer
		a := &app{stderr: &stderr, logFormat: "text"}
		stop, err := a.serveStatus(t.Context(), tt.addr, "", http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		stop()
		out := stderr.String()
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tt.addr, w, out)
			}
		}
		if tt.want == nil && (strings.Contains(out, "warning") || strings.Contains(out, "hint")) {
			t.Errorf("%s: a loopback page warned:\n%s", tt.addr, out)
		}
		if strings.Count(out, "hint:") > 1 || strings.Contains(out, "warning: hint") {
			t.Errorf("%s: the hint is not on one line of its own:\n%s", tt.addr, out)
		}
	}
}
