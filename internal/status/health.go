package status

import "strings"

// Health check results, as Docker appends them to a running container's
// status text.
const (
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
	HealthStarting  = "starting"
)

// parseEngineStatus reads the health and the uptime out of Docker's short
// status text ("Up 5 minutes (healthy)", "Up About an hour (health:
// starting)", "Exited (1) 2 minutes ago"). The list call that observes the
// containers returns nothing better: inspecting each container for its
// start time would cost one engine call per bot per pass.
func parseEngineStatus(s string) (health, uptime string) {
	switch {
	case strings.Contains(s, "(healthy)"):
		health = HealthHealthy
	case strings.Contains(s, "(unhealthy)"):
		health = HealthUnhealthy
	case strings.Contains(s, "(health: starting)"):
		health = HealthStarting
	}
	rest, up := strings.CutPrefix(s, "Up ")
	if !up {
		return health, ""
	}
	if i := strings.Index(rest, " ("); i >= 0 {
		rest = rest[:i]
	}
	// Docker capitalises its fuzzy durations ("About an hour", "Less than
	// a second") because they follow "Up"; on their own they read better
	// in lower case.
	for _, p := range []string{"About ", "Less "} {
		if strings.HasPrefix(rest, p) {
			rest = strings.ToLower(p[:1]) + rest[1:]
		}
	}
	return health, strings.TrimSpace(rest)
}
