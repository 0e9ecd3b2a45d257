package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second, longer than the first", ""} {
		if err := WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, []byte(content)) {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
		info, _ := os.Stat(p)
		if info.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", info.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := Remove(p); err != nil {
		t.Fatalf("removing a missing file: %v", err)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir"), []byte("x"), 0o600)
	if err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".f.tmp-123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "f"), []byte("whole"), 0o600)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("keep"), 0o600)
	if err := RemoveStale(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("left %v", entries)
	}
	if err := RemoveStale(filepath.Join(dir, "missing")); err != nil {
		t.Fatal(err)
	}
}

// A name near the file system's limit still gets a temporary file (whose
// name would pass 255 bytes if it repeated the whole name), and a stale
// one is still found.
func TestWriteFileLongName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("n", 250))
	if err := WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || string(got) != "x" {
		t.Fatalf("read back %q, %v", got, err)
	}
	stale, err := os.CreateTemp(dir, TempPattern(p))
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	if err := RemoveStale(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale.Name()); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
}
