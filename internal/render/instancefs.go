package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// A render reaches the files of an instance folder through an os.Root
// opened on the folder. The bot's container can write into its folders and
// plant a symlink there at any moment, also between nectar's check of a
// path and its use of it; through the root, no read, write, rename or
// removal can leave the instance folder, however the links are swapped.
//
// The root alone is not enough, and the hand-written checks stay where it
// cannot say what nectar means:
//
//   - os.Root follows a symlink that stays inside the folder
//     (conf/connectors -> ../scripts), so ensureDir still refuses a
//     symlink anywhere on the way, and says which one is in the way.
//   - os.Root has no open that refuses a symlink as the last name
//     (O_NOFOLLOW is not honoured there), so readInstanceFile still
//     compares the file it opened with the one it examined.
//   - The instance folder itself is opened by its path under Options.Dir,
//     nectar's own folder; openInstance checks that the folder it opened
//     is the real folder it examined.

// notAFolder is the refusal of a path that should be a folder.
func notAFolder(p string) error {
	return fmt.Errorf("%s is not a folder (a symlink or a file is in the way); move it aside", p)
}

// openInstance makes inst a real folder of mode 0700 if need be and opens
// it as the root every later step of the render goes through.
func openInstance(inst string) (*os.Root, error) {
	info, err := os.Lstat(inst)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(inst, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		info, err = os.Lstat(inst)
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, notAFolder(inst)
	}
	root, err := os.OpenRoot(inst)
	if err != nil {
		return nil, err
	}
	if opened, err := root.Stat("."); err != nil || !os.SameFile(info, opened) {
		root.Close()
		return nil, notAFolder(inst)
	}
	if info.Mode().Perm() != dirMode {
		if err := os.Chmod(inst, dirMode); err != nil {
			root.Close()
			return nil, err
		}
	}
	return root, nil
}

// hostPath puts the instance folder back in front of the path an error of
// the root names (the root names paths inside it), so that a message still
// says where on the host the trouble is.
func hostPath(root *os.Root, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && !filepath.IsAbs(pe.Path) {
		pe.Path = filepath.Join(root.Name(), pe.Path)
	}
	return err
}

// ensureDir makes rel (a slash path inside the instance folder) and each
// folder above it a real folder of mode 0700. A symlink anywhere on the
// way is an error, even one that stays inside the folder: a link planted
// there must not move nectar's writes to another place than the one the
// fleet names.
func ensureDir(root *os.Root, rel string) (err error) {
	defer func() { err = hostPath(root, err) }()
	if rel == "." {
		return nil
	}
	p := ""
	for part := range strings.SplitSeq(rel, "/") {
		p = path.Join(p, part)
		name := filepath.FromSlash(p)
		info, err := root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			if err := root.Mkdir(name, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if info, err = root.Lstat(name); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if !info.IsDir() {
			return notAFolder(filepath.Join(root.Name(), name))
		}
		if info.Mode().Perm() != dirMode {
			if err := root.Chmod(name, dirMode); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureOwnDir creates one of the bot's own folders (data/, logs/) if it is
// missing. Whatever is there already, a symlink included, nectar leaves
// exactly as it is: mkdir does not follow a symlink in the last name.
func ensureOwnDir(root *os.Root, name string) error {
	if err := root.Mkdir(name, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return hostPath(root, err)
	}
	return nil
}

// readInstanceFile returns a file's content, or nil when there is no
// regular file there (missing, a symlink, a folder, too large): all cases
// in which nectar writes it afresh. modeOK reports mode 0600.
func readInstanceFile(root *os.Root, rel string) (data []byte, modeOK bool, err error) {
	defer func() { err = hostPath(root, err) }()
	name := filepath.FromSlash(rel)
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !info.Mode().IsRegular() || info.Size() > maxInstanceFile {
		return nil, false, nil
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	// The file opened must be the one examined, not a symlink swapped in
	// since: the root keeps it inside the folder, but it could be another
	// of the folder's files.
	if opened, err := f.Stat(); err != nil || !os.SameFile(info, opened) {
		return nil, false, nil
	}
	data, err = io.ReadAll(io.LimitReader(f, maxInstanceFile+1))
	if err != nil || len(data) > maxInstanceFile {
		return nil, false, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, info.Mode().Perm() == fileMode, nil
}

// readInstanceFileAt is readInstanceFile for a caller that has no root
// open: previews, which only read. A missing instance folder holds no file.
func readInstanceFileAt(inst, rel string) ([]byte, bool, error) {
	root, err := os.OpenRoot(inst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	return readInstanceFile(root, rel)
}

// writeFile replaces rel in the root with data, as atomicfile.WriteFile
// does on a path: a temporary file beside it (named so that
// atomicfile.RemoveStale finds one a killed render left), synced, renamed
// over rel, and the folder synced. The file gets mode perm whatever the
// umask says.
func writeFile(root *os.Root, rel string, data []byte, perm os.FileMode) (err error) {
	defer func() { err = hostPath(root, err) }()
	name := filepath.FromSlash(rel)
	dir := filepath.Dir(name)
	tmp, tmpName, err := createTemp(root, name)
	if err != nil {
		// The path goes in before the wrapping, which fixes the text.
		return fmt.Errorf("cannot create a temporary file: %w", hostPath(root, err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpName)
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
	if err := root.Rename(tmpName, name); err != nil {
		return err
	}
	return syncDir(root, dir)
}

// createTemp is os.CreateTemp inside the root, with atomicfile's pattern
// for the temporary file of name.
func createTemp(root *os.Root, name string) (*os.File, string, error) {
	prefix, suffix, _ := strings.Cut(atomicfile.TempPattern(name), "*")
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

// syncDir flushes a folder's entries (new, renamed or removed files) to
// disk.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeFile deletes name, if present, and syncs its folder. A symlink is
// removed, never what it leads to.
func removeFile(root *os.Root, name string) error {
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return hostPath(root, err)
	}
	return hostPath(root, syncDir(root, filepath.Dir(name)))
}
