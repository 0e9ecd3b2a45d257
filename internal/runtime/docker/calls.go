package docker

import (
	"net/http"
	"sync/atomic"
)

// Calls counts requests made to the engine: every HTTP request the SDK
// sends, including the pings of version negotiation and fallback retries,
// so it is what the engine actually served.
type Calls struct {
	// Reads are GET and HEAD requests: list, inspect, ping, events.
	Reads int64
	// Writes are every other request: create, start, stop, remove, pull.
	Writes int64
}

// Total is Reads + Writes.
func (c Calls) Total() int64 { return c.Reads + c.Writes }

// Sub returns the calls made between an earlier count and c.
func (c Calls) Sub(earlier Calls) Calls {
	return Calls{Reads: c.Reads - earlier.Reads, Writes: c.Writes - earlier.Writes}
}

// countingTransport counts the requests passing through it to the SDK's
// transport.
type countingTransport struct {
	next          http.RoundTripper
	reads, writes atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		t.reads.Add(1)
	} else {
		t.writes.Add(1)
	}
	return t.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// SDK's transport.
func (t *countingTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *countingTransport) load() Calls {
	return Calls{Reads: t.reads.Load(), Writes: t.writes.Load()}
}
