package status

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
)

// DefaultHistory is how many history entries a Store keeps per bot.
const DefaultHistory = 50

// StoreOptions configure a Store.
type StoreOptions struct {
	// Source is the display name of the fleet source (a folder or a git
	// URL). Credentials in a URL are removed before it is shown.
	Source string
	// Files lists what was last rendered for a bot (the Renderer's Files);
	// nil shows no files.
	Files func(bot string) []render.FileRecord
	// Derivations counts the password key derivations made so far (the
	// Renderer's Derivations); nil leaves the metric out.
	Derivations func() uint64
	// Now is the clock; tests replace it. Default time.Now.
	Now func() time.Time
	// History is how many actions are kept per bot; default DefaultHistory.
	History int
	// Inspected, when set, returns what the engine last said of a
	// container when inspected (its start time and its own restart
	// count); without it both are unknown.
	Inspected func(id string) (runtime.Inspection, bool)
	// Resync is the daemon's period of passes without any trigger: a
	// failed action is tried again at the latest that long after its
	// pass. 0: the next attempt is not shown.
	Resync time.Duration
}

// Store is the record of what the daemon knows, fed by the reconcile loop
// and read by the web handler. Recording a pass builds a new immutable
// snapshot, so readers never wait for a pass and never see half of one.
type Store struct {
	opts    StoreOptions
	metrics *metrics

	mu   sync.Mutex // held while a pass is recorded
	st   state
	subs map[chan struct{}]struct{}
	// prepare runs on each snapshot before it is published (see
	// BeforePublish).
	prepare []func(*Snapshot)

	snap atomic.Pointer[Snapshot]
}

// state is what the Store has learnt so far. Slices in it are replaced,
// never changed in place, so snapshots share them safely.
type state struct {
	version   uint64
	fleet     string
	ready     bool
	applied   Revision
	attempted Revision
	sourceOK  bool
	sourceErr string
	engine    Engine
	lastPass  *Pass
	passes    uint64
	problems  []Problem
	bots      map[string]*botState
	accounts  []Account
	files     *SharedFiles
}

// Snapshot is one published view of the Store. It is never changed once
// published, and every reader shares it: what its methods return must be
// read, never modified. The web layer renders from it directly, without
// the copies View and Bot make, so that answering a request never costs a
// copy of the whole fleet.
type Snapshot struct {
	version uint64
	// status has the bots without history and files, as /api/v1/status
	// serves them; GeneratedAt is left for the reader to fill in.
	status Status
	bots   map[string]*BotStatus
	files  *SharedFiles
}

// Version grows with everything the Store publishes (each pass, each round
// of the bots' own health); pages and caches tell snapshots apart by it.
func (s *Snapshot) Version() uint64 { return s.version }

// Status is the fleet as /api/v1/status serves it: bots without history
// and files, GeneratedAt zero and no bot's Uptime worked out (both depend
// on when it is read). It is shared and read-only.
func (s *Snapshot) Status() *Status { return &s.status }

// Bot returns one bot with its history and rendered files, its Uptime not
// worked out; shared and read-only.
func (s *Snapshot) Bot(name string) (*BotStatus, bool) {
	b, ok := s.bots[name]
	return b, ok
}

// Files is the copy of the source's shared files at the applied revision;
// nil before a pass brought a source. Shared and read-only.
func (s *Snapshot) Files() *SharedFiles { return s.files }

// NewStore returns an empty Store: not ready, no bots.
func NewStore(opts StoreOptions) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	opts.Source = Redact(opts.Source)
	s := &Store{
		opts:    opts,
		metrics: newMetrics(opts.Derivations),
		st:      state{bots: map[string]*botState{}},
		subs:    map[chan struct{}]struct{}{},
	}
	s.publish()
	return s
}

// View returns a snapshot of the whole fleet, bots without their history
// and files. The caller owns it.
func (s *Store) View() Status {
	st := cloneStatus(s.snap.Load().status)
	st.GeneratedAt = s.opts.Now()
	for i := range st.Bots {
		st.Bots[i].Uptime = st.Bots[i].UptimeAt(st.GeneratedAt)
	}
	return st
}

// Bot returns one bot with its history and rendered files.
func (s *Store) Bot(name string) (BotStatus, bool) {
	b, ok := s.snap.Load().bots[name]
	if !ok {
		return BotStatus{}, false
	}
	out := cloneBot(*b)
	out.Uptime = out.UptimeAt(s.opts.Now())
	return out, true
}

// Ready reports whether a pass has loaded the source and listed the engine.
func (s *Store) Ready() bool { return s.snap.Load().status.Ready }

// Collector returns the Store's Prometheus metrics, to register wherever
// the daemon gathers its metrics.
func (s *Store) Collector() prometheus.Collector { return s.metrics }

// Subscribe returns a channel that receives a value after each recorded
// pass. Signals coalesce: a slow reader gets one signal for many passes,
// never a backlog. The channel closes when ctx ends.
func (s *Store) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, ch)
		close(ch)
	})
	return ch
}

// notify signals every subscriber; s.mu must be held, which also keeps a
// channel from being closed while it is signalled.
func (s *Store) notify() {
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Snapshot returns the snapshot published last. It costs an atomic load
// and never waits for a pass being recorded.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// BeforePublish registers fn to run on every snapshot before it is
// published, and once at once on the snapshot published now. fn runs while
// the pass that made the snapshot is being recorded, and readers see the
// snapshot before until it returns: the web layer renders its most
// asked-for answers there, so that no request waits for them.
func (s *Store) BeforePublish(fn func(*Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prepare = append(s.prepare, fn)
	fn(s.snap.Load())
}

// Now reads the Store's clock (StoreOptions.Now). Readers of a snapshot
// date their answers by it, so that a test which sets the clock sees the
// same times in the pages as in View.
func (s *Store) Now() time.Time { return s.opts.Now() }

// publish builds a snapshot from the state; s.mu must be held (or the
// Store not yet shared).
func (s *Store) publish() {
	st := &s.st
	snap := &Snapshot{
		version: st.version,
		bots:    make(map[string]*BotStatus, len(st.bots)),
		files:   st.files,
		status: Status{
			Source:      s.opts.Source,
			Fleet:       st.fleet,
			Ready:       st.ready,
			Applied:     st.applied,
			Attempted:   st.attempted,
			SourceOK:    st.sourceOK,
			SourceError: st.sourceErr,
			Engine:      st.engine,
			Passes:      st.passes,
			Problems:    orEmpty(st.problems),
			Conditions:  map[string]int{},
			Bots:        make([]BotStatus, 0, len(st.bots)),
			Accounts:    orEmpty(st.accounts),
		},
	}
	if st.lastPass != nil {
		p := *st.lastPass
		snap.status.LastPass = &p
	}
	for _, name := range slices.Sorted(maps.Keys(st.bots)) {
		b := st.bots[name]
		full := b.status
		full.History = b.history
		snap.bots[name] = &full
		summary := b.status
		summary.Files = nil
		snap.status.Bots = append(snap.status.Bots, summary)
		snap.status.Conditions[b.status.Condition]++
	}
	for _, fn := range s.prepare {
		fn(snap)
	}
	s.snap.Store(snap)
}

// orEmpty turns nil into an empty slice, so JSON says [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func cloneStatus(st Status) Status {
	st.Problems = slices.Clone(st.Problems)
	st.Accounts = slices.Clone(st.Accounts)
	for i, a := range st.Accounts {
		st.Accounts[i].Bots = slices.Clone(a.Bots)
		st.Accounts[i].Connectors = slices.Clone(a.Connectors)
		for j, c := range a.Connectors {
			st.Accounts[i].Connectors[j].Bots = slices.Clone(c.Bots)
		}
	}
	conds := make(map[string]int, len(st.Conditions))
	for k, v := range st.Conditions {
		conds[k] = v
	}
	st.Conditions = conds
	if st.LastPass != nil {
		p := *st.LastPass
		st.LastPass = &p
	}
	st.Bots = slices.Clone(st.Bots)
	for i := range st.Bots {
		st.Bots[i] = cloneBot(st.Bots[i])
	}
	return st
}

func cloneBot(b BotStatus) BotStatus {
	b.Connectors = slices.Clone(b.Connectors)
	b.Problems = slices.Clone(b.Problems)
	b.Files = slices.Clone(b.Files)
	b.History = slices.Clone(b.History)
	for i := range b.History {
		b.History[i].Rendered = slices.Clone(b.History[i].Rendered)
	}
	if b.LastAction != nil {
		a := *b.LastAction
		a.Rendered = slices.Clone(a.Rendered)
		b.LastAction = &a
	}
	return b
}
