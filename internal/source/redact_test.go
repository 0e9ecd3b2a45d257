package source

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	const pw = "PW-marker-42"
	tests := []struct {
		in, shown string
		password  bool
	}{
		{"https://deploy:" + pw + "@github.com/org/fleet.git", "https://deploy:xxxxx@github.com/org/fleet.git", true},
		{"https://:" + pw + "@github.com/org/fleet.git", "https://:xxxxx@github.com/org/fleet.git", true},
		{"ssh://git:" + pw + "@example.com:2222/fleet.git", "ssh://git:xxxxx@example.com:2222/fleet.git", true},
		{"https://deploy:p%40" + pw + "@host/fleet.git", "https://deploy:xxxxx@host/fleet.git", true},
		// A URL that does not parse keeps nothing before its last "@".
		{"https://deploy:" + pw + "%zz@host/fleet.git", "https://xxxxx@host/fleet.git", true},
		{"https://deploy:" + pw + "@host:bad/fleet.git", "https://xxxxx@host:bad/fleet.git", true},
		// Nothing to hide.
		{"https://deploy@github.com/org/fleet.git", "https://deploy@github.com/org/fleet.git", false},
		{"https://github.com/org/fleet.git", "https://github.com/org/fleet.git", false},
		{"file:///srv/fleet.git", "file:///srv/fleet.git", false},
		{"git@github.com:org/fleet.git", "git@github.com:org/fleet.git", false},
		{"./fleet", "./fleet", false},
	}
	for _, tc := range tests {
		shown, password := RedactURL(tc.in)
		if shown != tc.shown || password != tc.password {
			t.Errorf("RedactURL(%q) = %q, %v; want %q, %v", tc.in, shown, password, tc.shown, tc.password)
		}
		if strings.Contains(shown, pw) {
			t.Errorf("RedactURL(%q) shows the password", tc.in)
		}
	}
}
