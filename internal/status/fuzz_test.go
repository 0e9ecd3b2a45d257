package status_test

import (
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/status"
)

func FuzzParseEngineStatus(f *testing.F) {
	for _, s := range []string{"Up 5 minutes (healthy)", "Up About an hour (health: starting)", "Exited (1) 2 minutes ago", "Created", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		health, uptime := status.ParseEngineStatus(s)
		if uptime != "" && !strings.HasPrefix(s, "Up ") {
			t.Errorf("uptime %q from %q, which is not a running container's status", uptime, s)
		}
		if health != "" && health != status.HealthHealthy && health != status.HealthUnhealthy && health != status.HealthStarting {
			t.Errorf("health %q from %q", health, s)
		}
	})
}
