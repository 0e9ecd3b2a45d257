package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// instanceWithOutside makes an instance folder opened as a root, and a
// folder beside it, outside the root, holding a file named like one of
// nectar's.
func instanceWithOutside(t *testing.T) (root *os.Root, inst, outside string) {
	t.Helper()
	dir := t.TempDir()
	inst = filepath.Join(dir, "alpha")
	outside = filepath.Join(dir, "outside")
	must(t, os.Mkdir(outside, 0o700))
	must(t, os.WriteFile(filepath.Join(outside, "binance.yml"), []byte("outside\n"), 0o600))
	root, err := openInstance(inst)
	must(t, err)
	t.Cleanup(func() { root.Close() })
	must(t, ensureDir(root, ConnectorsDir))
	return root, inst, outside
}

// A container that swaps a folder for a symlink after ensureDir looked at
// it (the window a check by path leaves open) still cannot move a write,
// a read or a removal out of the instance folder.
func TestSwappedFolderCannotLeadOutside(t *testing.T) {
	t.Parallel()
	root, inst, outside := instanceWithOutside(t)
	conns := filepath.Join(inst, filepath.FromSlash(ConnectorsDir))
	must(t, os.Remove(conns))
	must(t, os.Symlink(outside, conns))

	if err := writeFile(root, ConnectorsDir+"/binance.yml", []byte("nectar's\n"), fileMode); err == nil {
		t.Error("a write through a symlink leading outside succeeded")
	} else if !strings.Contains(err.Error(), inst) {
		t.Errorf("the write's error %q does not say where on the host", err)
	}
	if data, _, err := readInstanceFileAt(inst, ConnectorsDir+"/binance.yml"); data != nil {
		t.Errorf("read %q, %v through the symlink", data, err)
	}
	if _, err := removeConnectors(root, &plan{}); err == nil {
		t.Error("removeConnectors listed a folder outside")
	}
	if _, err := removeShared(root, ConnectorsDir+"/binance.yml"); err == nil {
		t.Error("removeShared removed through a symlink leading outside")
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 || entries[0].Name() != "binance.yml" {
		t.Errorf("outside holds %v, want binance.yml alone", entries)
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "binance.yml")); string(data) != "outside\n" {
		t.Errorf("outside/binance.yml holds %q", data)
	}
}

// A symlink inside the instance folder, where os.Root would follow it, is
// still refused by name, as before.
func TestSymlinkInsideTheFolderIsRefused(t *testing.T) {
	t.Parallel()
	root, inst, _ := instanceWithOutside(t)
	must(t, ensureDir(root, "scripts"))
	conns := filepath.Join(inst, filepath.FromSlash(ConnectorsDir))
	must(t, os.Remove(conns))
	must(t, os.Symlink(filepath.Join("..", "scripts"), conns))
	err := ensureDir(root, ConnectorsDir)
	if err == nil || err.Error() != conns+" is not a folder (a symlink or a file is in the way); move it aside" {
		t.Errorf("ensureDir = %v, want the refusal naming %s", err, conns)
	}
	// A file replaced by a symlink to another of the folder's files reads
	// as no file, so it is written afresh.
	must(t, os.WriteFile(filepath.Join(inst, "scripts", "x.py"), []byte("x"), 0o600))
	must(t, os.Symlink("x.py", filepath.Join(inst, "scripts", "y.py")))
	if data, _, err := readInstanceFile(root, "scripts/y.py"); data != nil || err != nil {
		t.Errorf("read %q, %v through an inner symlink", data, err)
	}
}

// The instance folder itself must be a real folder.
func TestInstanceFolderSymlinkIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	must(t, os.Mkdir(real, 0o700))
	inst := filepath.Join(dir, "alpha")
	must(t, os.Symlink(real, inst))
	if root, err := openInstance(inst); err == nil || !strings.Contains(err.Error(), inst+" is not a folder") {
		if root != nil {
			root.Close()
		}
		t.Fatalf("openInstance = %v, want a refusal", err)
	}
}

// data/ and logs/ are the bot's: a symlink there is left as it is, and
// nothing is created where it leads.
func TestOwnFolderSymlinkLeftAlone(t *testing.T) {
	t.Parallel()
	root, inst, outside := instanceWithOutside(t)
	link := filepath.Join(inst, DataDir)
	must(t, os.Symlink(outside, link))
	must(t, ensureOwnDir(root, DataDir))
	must(t, ensureOwnDir(root, LogsDir))
	if target, err := os.Readlink(link); err != nil || target != outside {
		t.Errorf("data/ is now %q, %v", target, err)
	}
	if info, err := os.Lstat(filepath.Join(inst, LogsDir)); err != nil || !info.IsDir() || info.Mode().Perm() != dirMode {
		t.Errorf("logs/: %v, %v", info, err)
	}
}

// writeFile leaves the file whole with mode 0600, no temporary file
// behind, and a file it replaces gone.
func TestWriteFileInRoot(t *testing.T) {
	t.Parallel()
	root, inst, _ := instanceWithOutside(t)
	p := ConnectorsDir + "/kucoin.yml"
	for _, content := range []string{"first", "second, longer than the first", ""} {
		must(t, writeFile(root, p, []byte(content), fileMode))
		got, modeOK, err := readInstanceFile(root, p)
		if err != nil || string(got) != content || !modeOK {
			t.Fatalf("read back %q, mode ok %v, %v; want %q", got, modeOK, err, content)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(inst, filepath.FromSlash(ConnectorsDir)))
	if len(entries) != 1 {
		t.Errorf("left in conf/connectors: %v", entries)
	}
	must(t, atomicfile.RemoveIn(root, filepath.FromSlash(p)))
	must(t, atomicfile.RemoveIn(root, filepath.FromSlash(p)))
}
