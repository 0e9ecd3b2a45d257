package fleet

import (
	"io/fs"
	"testing/fstest"
)

// fstestFleet is a minimal in-memory fleet with an account "master" that
// has no credentials, plus the given files.
func fstestFleet(extra map[string][]byte) fs.FS {
	m := fstest.MapFS{
		"nectar.yaml":                  {Data: []byte("fleet: t\nrecipients: [" + testKeys.mine.Recipient().String() + "]\ndefaults: {image: x}\n")},
		"accounts/master/password.age": {Data: []byte("not decrypted in this test")},
	}
	for p, d := range extra {
		m[p] = &fstest.MapFile{Data: d}
	}
	return m
}
