package filestat

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOfSeesRenameOver(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the extra fields are read on Linux only")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := stat(t, p)
	// A rename-save: same name, same size, a new file.
	tmp := filepath.Join(dir, "f.tmp")
	if err := os.WriteFile(tmp, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	after := stat(t, p)
	if before.Ino == after.Ino {
		t.Errorf("inode %d unchanged by a rename over the file", before.Ino)
	}
	if before.Dev != after.Dev || after.Ctime == 0 {
		t.Errorf("before %+v, after %+v", before, after)
	}
}

func stat(t *testing.T, p string) Extra {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := Of(info)
	if !ok {
		t.Fatal("no extra fields on Linux")
	}
	return e
}
