package web

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// Event stream settings.
const (
	// maxEventStreams bounds open /events connections: each holds a
	// goroutine and a socket for as long as a tab stays open.
	maxEventStreams = 128
	// keepAliveEvery sends a comment on an idle stream, so proxies and
	// browsers do not take it for dead.
	keepAliveEvery = 25 * time.Second
	// eventWriteWindow is how long one write to a stream may take.
	eventWriteWindow = 10 * time.Second
)

// eventStreams serves /events: one "status" event whenever the Store
// records a pass, carrying only the snapshot's version. The page then
// fetches itself again and swaps the parts that changed, so the HTML has
// one source, the server's templates.
type eventStreams struct {
	store *status.Store
	open  atomic.Int64
}

func (e *eventStreams) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx would hold the events back
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	if e.open.Add(1) > maxEventStreams {
		e.open.Add(-1)
		h.Set("Retry-After", "30")
		plainError(w, http.StatusServiceUnavailable, "too many open event streams; the page still works, reload it to refresh")
		return
	}
	defer e.open.Add(-1)

	rc := http.NewResponseController(w)
	// The server's read and write timeouts are sized for ordinary
	// requests; a stream outlives them, so it clears the read deadline
	// and moves the write deadline along with each write.
	_ = rc.SetReadDeadline(time.Time{})
	send := func(msg string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteWindow))
		if _, err := io.WriteString(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	ctx := r.Context()
	changes := e.store.Subscribe(ctx)
	w.WriteHeader(http.StatusOK)
	// The first event tells the page which version it is on, so a page
	// that reconnects after a gap catches up at once.
	if !send("retry: 3000\n\n" + statusEvent(e.store.Snapshot().Version())) {
		return
	}
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok || !send(statusEvent(e.store.Snapshot().Version())) {
				return
			}
		case <-keepAlive.C:
			if !send(": keep-alive\n\n") {
				return
			}
		}
	}
}

func statusEvent(version uint64) string {
	return fmt.Sprintf("event: status\nid: %d\ndata: {\"version\":%d}\n\n", version, version)
}
