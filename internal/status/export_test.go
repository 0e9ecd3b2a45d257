package status

// The internals the tests reach for. The tests are in package status_test
// because they share the statustest fixture with the web layer's tests,
// and statustest imports this package.
var (
	CopySharedFiles   = copySharedFiles
	ParseEngineStatus = parseEngineStatus
	SharedRoots       = sharedRoots
)

const (
	MaxSharedFile  = maxSharedFile
	MaxSharedTotal = maxSharedTotal
)

// Internals hands f the Store's state and its published snapshot, under
// the Store's lock, for tests that walk everything it keeps.
func (s *Store) Internals(f func(state, snapshot any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.st, s.snap.Load())
}
