package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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

// ensureDir makes rel (a slash path inside the instance folder) and each
// folder above it a real folder of mode 0700. A symlink anywhere on the
// way is an error, even one that stays inside the folder: a link planted
// there must not move nectar's writes to another place than the one the
// fleet names.
func ensureDir(root *os.Root, rel string) (err error) {
	defer func() { err = atomicfile.RootPath(root, err) }()
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
		return atomicfile.RootPath(root, err)
	}
	return nil
}

// readInstanceFile returns a file's content, or nil when there is no
// regular file there (missing, a symlink, a folder, too large): all cases
// in which nectar writes it afresh. modeOK reports mode 0600.
func readInstanceFile(root *os.Root, rel string) (data []byte, modeOK bool, err error) {
	defer func() { err = atomicfile.RootPath(root, err) }()
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

// writeFile replaces rel (a slash path) in the root with data, as
// atomicfile.WriteFile does on a path.
func writeFile(root *os.Root, rel string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteFileIn(root, filepath.FromSlash(rel), data, perm)
}
