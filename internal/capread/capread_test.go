package capread

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
)

var errBig = errors.New("too big")

func TestReadAll(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int
		err  error
	}{
		{"empty", 0, nil},
		{"under the cap", 9, nil},
		{"at the cap", 10, nil},
		{"one past the cap", 11, errBig},
		{"far past the cap", 1000, errBig},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Repeat("x", tt.size)
			data, err := ReadAll(strings.NewReader(in), 10, errBig)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && string(data) != in {
				t.Errorf("read %q, want %q", data, in)
			}
			if err != nil && data != nil {
				t.Errorf("a refused read returned %d bytes", len(data))
			}
		})
	}
	boom := errors.New("boom")
	if _, err := ReadAll(iotest.ErrReader(boom), 10, errBig); err != boom {
		t.Errorf("a failing reader gave %v, want its error", err)
	}
}

// A reader past the cap is read only one byte past it, however much it holds.
func TestReadAllStopsPastTheCap(t *testing.T) {
	r := &countingReader{}
	if _, err := ReadAll(r, 100, errBig); err != errBig {
		t.Fatalf("err = %v", err)
	}
	if r.n != 101 {
		t.Errorf("read %d bytes, want 101", r.n)
	}
}

type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

func TestReadFile(t *testing.T) {
	fsys := fstest.MapFS{"small": {Data: []byte("abc")}, "big": {Data: []byte("abcdef")}}
	if data, err := ReadFile(fsys, "small", 5, errBig); err != nil || string(data) != "abc" {
		t.Errorf("small: %q, %v", data, err)
	}
	if _, err := ReadFile(fsys, "big", 5, errBig); err != errBig {
		t.Errorf("big: %v, want the caller's error", err)
	}
	if _, err := ReadFile(fsys, "missing", 5, errBig); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want fs.ErrNotExist", err)
	}
}
