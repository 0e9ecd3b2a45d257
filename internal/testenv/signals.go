package testenv

import (
	"os"
	"os/signal"
	"syscall"
)

// DefaultSignals gives the processes a test starts the default handling of
// the terminal's signals when the test binary itself was started with them
// ignored, as a background job of a non-interactive shell (SIGINT,
// SIGQUIT) or a command under nohup (SIGHUP) is: an ignored signal stays
// ignored across exec, and a test that sends one would wait in vain. A
// signal the binary catches is reset to its default in a child, so
// catching it here is enough; the binary's own handling of a signal it was
// told to ignore does not change.
func DefaultSignals() {
	for _, s := range []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT} {
		if signal.Ignored(s) {
			signal.Notify(make(chan os.Signal, 1), s)
		}
	}
}
