package web

import (
	"sync"
	"time"
)

// answerCache keeps the rendered answer of each page and API route for
// the current snapshot. Each pass makes every open tab fetch its page again
// at the same moment, and Prometheus and `nectar status` poll on top:
//
//   - the overview and /api/v1/status are made before their snapshot is
//     published (handler.warm), so requests find them ready; until then
//     requests read the snapshot before, and an answer made ahead for the
//     next one serves them as well;
//   - within one snapshot and one second (the pages' finest time unit) the
//     answer is the same bytes, so it is rendered once;
//   - requests that arrive while it is being rendered, with no answer of
//     the snapshot to give, wait for that one rendering instead of each
//     starting their own, which on a small host would only make every one
//     of them slower;
//   - when only the second has moved on, the answer of the second before
//     is served at once while one request renders the new one in the
//     background: its relative times ("12s ago") are a second behind, its
//     content is the current snapshot's. A new snapshot is never served
//     from an older one's answer, since a page that says it shows an old
//     snapshot would wait for an event that has already gone by.
//
// Only successful answers are kept, and answers older than the snapshot
// before are dropped, so the entries are bounded by the fleet's bots and
// files.
type answerCache struct {
	mu      sync.Mutex
	entries map[string]*answer
}

// answer is one route's latest answer and the rendering under way, if any.
type answer struct {
	version uint64
	second  int64
	body    []byte
	// flight is the rendering of a newer answer, if one is under way.
	flight *flight
}

type flight struct {
	version uint64
	second  int64
	done    chan struct{}
	body    []byte
	err     error
}

// maxStale is how far behind, in seconds, an answer of the current
// snapshot may be served while its successor renders.
const maxStale = 1

// get returns key's answer for snapshot version at now, rendering it with
// build when no fitting answer is kept (see answerCache).
func (c *answerCache) get(version uint64, now time.Time, key string, build func() ([]byte, error)) ([]byte, error) {
	sec := now.Unix()
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*answer{}
	}
	e := c.entries[key]
	if e == nil {
		e = &answer{}
		c.entries[key] = e
	}
	switch {
	case e.body != nil && e.version > version:
		// A newer snapshot's answer, made before that snapshot was
		// published (Store.BeforePublish): this request read the snapshot
		// a moment before, and the newer answer is as true.
		body := e.body
		c.mu.Unlock()
		return body, nil
	case e.body != nil && e.version == version && e.second == sec:
		c.mu.Unlock()
		return e.body, nil
	case e.body != nil && e.version == version && e.second < sec && sec-e.second <= maxStale:
		stale := e.body
		if e.flight == nil {
			f := c.start(e, version, sec)
			go c.render(key, f, build)
		}
		c.mu.Unlock()
		return stale, nil
	case e.flight != nil && e.flight.version == version && e.flight.second == sec:
		f := e.flight
		c.mu.Unlock()
		<-f.done
		return f.body, f.err
	}
	f := c.start(e, version, sec)
	c.mu.Unlock()
	c.render(key, f, build)
	return f.body, f.err
}

// sizeHint is the length of key's last answer: a new one is most likely
// about as long, so its buffer can be made that size at once instead of
// growing (and copying) its way there.
func (c *answerCache) sizeHint(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return len(e.body)
	}
	return 0
}

// start records a rendering of e for version and second; c.mu is held.
func (c *answerCache) start(e *answer, version uint64, sec int64) *flight {
	f := &flight{version: version, second: sec, done: make(chan struct{})}
	e.flight = f
	return f
}

// render makes the answer of f and keeps it when it is newer than the one
// kept.
func (c *answerCache) render(key string, f *flight, build func() ([]byte, error)) {
	defer close(f.done)
	f.body, f.err = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return
	}
	if e.flight == f {
		e.flight = nil
	}
	if f.err != nil || f.version < e.version || (f.version == e.version && f.second < e.second) {
		return // failed, or a slow rendering finishing after a newer one
	}
	e.version, e.second, e.body = f.version, f.second, f.body
	// Answers of snapshots older than the one before will not be served
	// again: drop those of routes that were not asked for since (a removed
	// bot's page). The one before stays, as its snapshot may still be the
	// published one while this answer was made ahead of its own.
	if f.version > 1 {
		for k, other := range c.entries {
			if other.version < f.version-1 && other.flight == nil {
				delete(c.entries, k)
			}
		}
	}
}
