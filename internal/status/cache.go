package status

import (
	"sync"
	"time"
)

// answerCache keeps the rendered answers of the current snapshot for the
// current second. Each pass makes every open tab fetch its page again at
// the same moment, and Prometheus and `nectar status` poll on top; within
// one snapshot and one second (the pages' finest time unit) the answer is
// the same bytes, so it is rendered once. Only successful answers are
// kept, so the keys are bounded by the fleet's bots and files.
type answerCache struct {
	mu      sync.Mutex
	version uint64
	second  int64
	bodies  map[string][]byte
}

// get returns the answer for key made at this snapshot version and second.
func (c *answerCache) get(version uint64, now time.Time, key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version || c.second != now.Unix() {
		return nil, false
	}
	body, ok := c.bodies[key]
	return body, ok
}

// put keeps an answer, dropping everything older than its version and second.
func (c *answerCache) put(version uint64, now time.Time, key string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sec := now.Unix()
	switch {
	case version < c.version || (version == c.version && sec < c.second):
		return // a slow request finishing late; newer answers are kept
	case version != c.version || sec != c.second || c.bodies == nil:
		c.version, c.second, c.bodies = version, sec, map[string][]byte{}
	}
	c.bodies[key] = body
}
