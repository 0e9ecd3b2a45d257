package hbimport

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// FuzzReadConnectorFile feeds arbitrary connector files (with a right
// password, so parsing gets past the verification) to the importer: it
// must never panic, and an error must never quote the password or a
// secret of the folder.
func FuzzReadConnectorFile(f *testing.F) {
	m := &valueMaker{}
	seed := hbFolder(m, password)
	for name, file := range seed {
		if strings.HasPrefix(name, "connectors/") {
			f.Add(file.Data)
		}
	}
	f.Add([]byte("connector: binance\nbinance_api_key: 7b7d\n"))
	f.Add([]byte("connector: [binance\n"))
	verification := seed[".password_verification"].Data
	f.Fuzz(func(t *testing.T, data []byte) {
		if expensive(data) {
			return // valid, but seconds of key derivation per input
		}
		fsys := fstest.MapFS{
			".password_verification": {Data: verification},
			"connectors/binance.yml": {Data: data},
		}
		_, err := Read(fsys, "acct", password, hbcrypt.NewKeyring())
		if err != nil {
			msg := err.Error()
			for _, secret := range []string{password, "marker"} {
				if strings.Contains(msg, secret) && !strings.Contains(string(data), secret) {
					t.Fatalf("error quotes %q: %s", secret, msg)
				}
			}
		}
	})
}

// expensive reports whether a line of the file holds a value whose key
// derivation costs more than the fuzzer can afford per input (the
// importer accepts up to hbcrypt's caps, seconds each).
func expensive(data []byte) bool {
	for line := range strings.SplitSeq(string(data), "\n") {
		_, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		p, err := hbcrypt.Inspect(strings.Trim(strings.TrimSpace(value), `'"`))
		if err != nil {
			continue
		}
		if (p.KDF == hbcrypt.KDFPBKDF2 && p.Iterations > 1000) || (p.KDF == hbcrypt.KDFScrypt && p.N*p.R*p.P > 1<<12) {
			return true
		}
	}
	return false
}
