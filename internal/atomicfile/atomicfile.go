// Package atomicfile writes files so that a reader, or a process restarted
// after a crash, sees either the old content or the new one, never a mix.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile replaces path with data: it writes a temporary file in the same
// folder, syncs it, renames it over path and syncs the folder, so the
// rename itself survives a power cut. The file gets mode perm whatever the
// umask says.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPattern(path))
	if err != nil {
		return fmt.Errorf("cannot create a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir flushes a folder's entries (new, renamed or removed files) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Remove deletes path, if present, and syncs its folder.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// tempMarker marks WriteFile's temporary files, so that ones left by a
// process killed mid-write can be found and removed.
const tempMarker = ".tmp-"

// maxTempBase bounds how much of a file's name its temporary file repeats,
// so that the temporary name of a long name still fits in the 255 bytes a
// file system allows.
const maxTempBase = 64

// TempPattern is the os.CreateTemp pattern for a temporary file that will
// replace path: hidden, marked, and bounded in length whatever path's name.
func TempPattern(path string) string {
	base := filepath.Base(path)
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	return "." + base + tempMarker + "*"
}

// RemoveStale deletes temporary files a killed WriteFile left in dir. Call
// it only where no other process writes at the same time.
func RemoveStale(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && len(name) > 0 && name[0] == '.' && strings.Contains(name, tempMarker) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}
