package render

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// countingIVs hands out IVs 01.., 02.., ... so rendered files are stable.
type countingIVs struct{ n byte }

func (c *countingIVs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0
	}
	c.n++
	p[0] = c.n
	return len(p), nil
}

// With the state key (hence the account salt) and the IVs fixed, a
// connector file is byte for byte the golden copy: banner, field order,
// and each value as Hummingbot's own keyfile JSON, hex-encoded.
func TestConnectorFileExactBytes(t *testing.T) {
	r, dir := newTestRenderer(t, hbcrypt.NewKeyringWithIVs(&countingIVs{}))
	mustRender(t, r, testFleet(), "alpha")
	got := readFile(t, filepath.Join(dir, "instances/alpha", ConnectorsDir, "binance.yml"))
	golden := filepath.Join("testdata", "binance.yml.exact.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("binance.yml differs from %s:\n%s", golden, got)
	}
}
