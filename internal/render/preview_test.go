package render

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPreviewFindsDriftWithoutWriting(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	fl := testFleet()
	res := mustRender(t, r, fl, "alpha")

	pv, err := r.Preview(fl, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Digest != res.Digest || len(pv.Files) != len(res.Files) || len(pv.Drift) != 0 {
		t.Fatalf("preview of a fresh render: %+v", pv)
	}

	inst := filepath.Join(dir, "instances", "alpha")
	conn := filepath.Join(inst, ConnectorsDir, "binance.yml")
	if err := os.WriteFile(conn, []byte("connector: binance\nbinance_api_key: edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(inst, PasswordVerification)); err != nil {
		t.Fatal(err)
	}
	// Hummingbot rewriting conf_client.yml is not drift.
	if err := os.WriteFile(filepath.Join(inst, ClientConfigFile), []byte("instance_id: hummingbot-alpha\nextra: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(conn)
	pv, err = r.Preview(fl, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{PasswordVerification, ConnectorsDir + "/binance.yml"}
	slices.Sort(want)
	got := slices.Clone(pv.Drift)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("drift %v, want %v", got, want)
	}
	after, _ := os.ReadFile(conn)
	if string(after) != string(before) {
		t.Fatal("Preview wrote a file")
	}
	if _, err := os.Stat(filepath.Join(inst, PasswordVerification)); !os.IsNotExist(err) {
		t.Fatal("Preview wrote a file")
	}
}
