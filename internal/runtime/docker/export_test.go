package docker

import "time"

// SetStaleReader changes the age past which a reader container counts as
// left behind, for a test, and returns the undo.
func SetStaleReader(d time.Duration) func() {
	old := staleReader
	staleReader = d
	return func() { staleReader = old }
}
