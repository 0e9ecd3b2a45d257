package render

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
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

// Previews read back only files whose stat signature changed since the
// last read, and still see every edit: in place with the same size, by
// rename, and a mode change.
func TestPreviewCacheSeesEveryEdit(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	// A short racy window, and pauses longer than it, so every edit lands
	// on a later tick of the file clock than the read before it.
	r.racy = 50 * time.Millisecond
	settle := func() { time.Sleep(60 * time.Millisecond) }
	fl := testFleet()
	mustRender(t, r, fl, "alpha")
	settle()
	inst := filepath.Join(dir, "instances", "alpha")
	conn := filepath.Join(inst, ConnectorsDir, "binance.yml")

	preview := func() []string {
		t.Helper()
		pv, err := r.Preview(fl, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		return pv.Drift
	}
	reads := func() int {
		r.disk.mu.Lock()
		defer r.disk.mu.Unlock()
		return r.disk.reads
	}
	if d := preview(); len(d) != 0 {
		t.Fatalf("drift %v on a fresh render", d)
	}
	settle()
	before := reads()
	if d := preview(); len(d) != 0 || reads() != before {
		t.Fatalf("an unchanged preview read %d files back (drift %v), want none", reads()-before, d)
	}

	original, _ := os.ReadFile(conn)
	same := append([]byte(nil), original...)
	same[len(same)-2] ^= 1 // one byte flipped, same size, same inode
	f, err := os.OpenFile(conn, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(same, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	settle()
	if d := preview(); !slices.Equal(d, []string{ConnectorsDir + "/binance.yml"}) {
		t.Fatalf("an in-place same-size edit: drift %v", d)
	}

	tmp := conn + ".new"
	os.WriteFile(tmp, original, 0o600)
	if err := os.Rename(tmp, conn); err != nil {
		t.Fatal(err)
	}
	settle()
	if d := preview(); len(d) != 0 {
		t.Fatalf("the original bytes renamed back: drift %v", d)
	}
	settle()
	if err := os.Chmod(conn, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := preview(); !slices.Equal(d, []string{ConnectorsDir + "/binance.yml"}) {
		t.Fatalf("a mode change: drift %v", d)
	}
}

// Within the racy window a signature is never trusted: the file is read.
func TestPreviewCacheDistrustsFreshFiles(t *testing.T) {
	t.Parallel()
	r, _ := newTestRenderer(t, nil)
	r.racy = time.Hour
	fl := testFleet()
	mustRender(t, r, fl, "alpha")
	r.Preview(fl, "alpha")
	before := r.disk.reads
	r.Preview(fl, "alpha")
	if r.disk.reads == before {
		t.Fatal("a file changed within the racy window was not read back")
	}
}
