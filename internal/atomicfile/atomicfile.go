// Package atomicfile writes files so that a reader, or a process restarted
// after a crash, sees either the old content or the new one, never a mix.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteFile replaces path with data: it writes a temporary file in the same
// folder, syncs it, renames it over path and syncs the folder, so the
// rename itself survives a power cut. The file gets mode perm whatever the
// umask says.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("cannot create a temporary file: %w", err)
	}
	defer root.Close()
	return WriteFileIn(root, filepath.Base(path), data, perm)
}

// WriteFileIn is WriteFile for name inside root: no symlink on the way can
// take the write out of the root. Errors name the file by its whole path.
func WriteFileIn(root *os.Root, name string, data []byte, perm os.FileMode) (err error) {
	tmp, tmpName, err := createTemp(root, name)
	if err != nil {
		// The path is made whole before the wrapping, which fixes the text.
		return fmt.Errorf("cannot create a temporary file: %w", RootPath(root, err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpName)
		}
		err = RootPath(root, err)
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
	if err := root.Rename(tmpName, name); err != nil {
		return err
	}
	return SyncDirIn(root, filepath.Dir(name))
}

// createTemp is os.CreateTemp inside root, named by TempPattern so that
// RemoveStale finds one a killed write left.
func createTemp(root *os.Root, name string) (*os.File, string, error) {
	prefix, suffix, _ := strings.Cut(TempPattern(name), "*")
	dir := filepath.Dir(name)
	for range 10000 {
		tmpName := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := root.OpenFile(tmpName, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, tmpName, err
	}
	return nil, "", &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+"*"+suffix), Err: fs.ErrExist}
}

// RootPath names the file of a path error inside root by its whole path:
// os.Root reports paths relative to itself, which say little in a log.
func RootPath(root *os.Root, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && !filepath.IsAbs(pe.Path) {
		pe.Path = filepath.Join(root.Name(), pe.Path)
	}
	return err
}

// SyncDirIn is SyncDir for dir inside root.
func SyncDirIn(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// RemoveIn is Remove for name inside root. A symlink is removed, never
// what it leads to.
func RemoveIn(root *os.Root, name string) error {
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return RootPath(root, err)
	}
	return RootPath(root, SyncDirIn(root, filepath.Dir(name)))
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
