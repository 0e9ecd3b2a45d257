// Package capread reads a file whole, but never more than a given number
// of bytes of it: what a fleet source or an import folder holds is read
// into memory, and a file that is too large is refused, not truncated.
package capread

import (
	"io"
	"io/fs"
)

// ReadAll reads r to its end. When r holds more than limit bytes it stops
// one byte past the limit and returns tooLarge instead: the callers each
// word that refusal for their own users, so it is theirs to give.
func ReadAll(r io.Reader, limit int64, tooLarge error) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// ReadFile opens name in fsys and reads it as ReadAll does.
func ReadFile(fsys fs.FS, name string, limit int64, tooLarge error) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, limit, tooLarge)
}
