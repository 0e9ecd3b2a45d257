package web

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAnswerCache(t *testing.T) {
	var c answerCache
	t0 := time.Unix(1000, 0)
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(s string) func() ([]byte, error) {
		return func() ([]byte, error) {
			builds.Add(1)
			<-release
			return []byte(s), nil
		}
	}

	// Twenty requests at once: one rendering, every one gets it.
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			b, err := c.get(1, t0, "/", build("v1 s0"))
			if err != nil {
				t.Error(err)
			}
			got[i] = string(b)
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d renderings for one snapshot and second, want 1", n)
	}
	for _, g := range got {
		if g != "v1 s0" {
			t.Fatalf("got %q", g)
		}
	}

	// The next second: the answer of the second before at once, and one
	// rendering in the background that later requests get. Requests that
	// come while it renders get the answer before too, without waiting.
	done := make(chan struct{})
	slow := make(chan struct{})
	b, _ := c.get(1, t0.Add(time.Second), "/", func() ([]byte, error) {
		defer close(done)
		<-slow
		return []byte("v1 s1"), nil
	})
	if string(b) != "v1 s0" {
		t.Fatalf("a second later: %q, want the answer of the second before", b)
	}
	if b, _ := c.get(1, t0.Add(time.Second), "/", nil); string(b) != "v1 s0" {
		t.Fatalf("while the second's answer renders: %q, want the answer of the second before", b)
	}
	close(slow)
	<-done
	time.Sleep(10 * time.Millisecond)
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d renderings, want the background one only", n)
	}
	if b, _ := c.get(1, t0.Add(time.Second), "/", nil); string(b) != "v1 s1" {
		t.Fatalf("after the background rendering: %q", b)
	}

	// A new snapshot is rendered, never served from the older one.
	if b, _ := c.get(2, t0.Add(time.Second), "/", func() ([]byte, error) { return []byte("v2"), nil }); string(b) != "v2" {
		t.Fatalf("new snapshot: %q", b)
	}
	// Two seconds behind is too old to serve.
	if b, _ := c.get(2, t0.Add(3*time.Second), "/", func() ([]byte, error) { return []byte("v2 s3"), nil }); string(b) != "v2 s3" {
		t.Fatalf("two seconds on: %q", b)
	}

	// A failure is not kept.
	fails := 0
	for range 2 {
		if _, err := c.get(3, t0, "/x", func() ([]byte, error) { fails++; return nil, errors.New("boom") }); err == nil {
			t.Fatal("the error was lost")
		}
	}
	if fails != 2 {
		t.Fatalf("a failed rendering was kept (%d renderings)", fails)
	}

	// An answer rendered ahead for the snapshot about to be published
	// serves a request that read the one still published.
	if b, _ := c.get(1, t0.Add(3*time.Second), "/", nil); string(b) != "v2 s3" {
		t.Fatalf("a request on the snapshot before: %q, want the newer answer", b)
	}

	// Routes of snapshots older than the one before are dropped as newer
	// ones are kept; the one before stays while it may still be published.
	for i := range 50 {
		c.get(3, t0, fmt.Sprint("/bots/", i), func() ([]byte, error) { return []byte("x"), nil })
	}
	c.get(4, t0, "/", func() ([]byte, error) { return []byte("v4"), nil })
	if b, _ := c.get(3, t0, "/bots/7", nil); string(b) != "x" {
		t.Fatalf("the snapshot before lost its answers: %q", b)
	}
	c.get(5, t0, "/", func() ([]byte, error) { return []byte("v5"), nil })
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d entries kept after a newer snapshot, want the new one only", n)
	}
}
