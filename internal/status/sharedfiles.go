package status

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nectarhq/nectar/internal/fleet"
)

// Caps on the copy of the source's shared files that /files serves. The
// source itself caps files at 1 MiB; the total keeps a fleet with a large
// scripts/ folder from holding the daemon's memory hostage.
const (
	maxSharedFile  = fleet.MaxFileSize
	maxSharedTotal = 8 << 20
)

// sharedRoots are the folders /files shows: exactly the ones nectar copies
// into every bot. accounts/ is never walked, and neither is anything else
// under conf/, which nectar does not use and a user may have filled with
// things that were never meant to be shown.
var sharedRoots = []string{
	fleet.ScriptsDir,
	fleet.ControllersDir,
	path.Join(fleet.ConfDir, fleet.ScriptsDir),
	path.Join(fleet.ConfDir, fleet.ControllersDir),
}

// sharedFile is one file under the shared roots at the applied revision.
type sharedFile struct {
	Path string
	Size int64
	// Content is nil when the file is not shown; Omitted says why.
	Content []byte
	Omitted string
}

// sharedFiles is the in-memory copy of the shared roots at one revision.
// The source's snapshot is released after the pass, so /files cannot read
// it later.
type sharedFiles struct {
	Revision string
	Files    []sharedFile // by path
}

// lookup returns the file at p, which must be one of the copied paths:
// the copy is the whole namespace /files knows, so a path that climbs out
// of it, names accounts/ or is absolute simply is not there.
func (s *sharedFiles) lookup(p string) (sharedFile, bool) {
	if s == nil {
		return sharedFile{}, false
	}
	i, ok := slices.BinarySearchFunc(s.Files, p, func(f sharedFile, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return sharedFile{}, false
	}
	return s.Files[i], true
}

// copySharedFiles reads the shared roots of fsys into memory. It never
// fails: a file it cannot read is listed with the reason.
func copySharedFiles(fsys fs.FS, revision string) *sharedFiles {
	out := &sharedFiles{Revision: revision}
	budget := int64(maxSharedTotal)
	for _, root := range sharedRoots {
		_ = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return fs.SkipDir // the fleet has no such folder
				}
				out.Files = append(out.Files, sharedFile{Path: p, Omitted: "could not be read"})
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") && p != root {
				// .gitkeep and friends: noise, and hidden folders are
				// no part of what a bot runs.
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				// Symlinks are not followed: the loader refuses those
				// that escape the source, and this copy need not judge.
				return nil
			}
			out.Files = append(out.Files, readShared(fsys, p, &budget))
			return nil
		})
	}
	slices.SortFunc(out.Files, func(a, b sharedFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// readShared reads one file within the remaining budget.
func readShared(fsys fs.FS, p string, budget *int64) sharedFile {
	f := sharedFile{Path: p}
	if strings.HasSuffix(p, ".age") {
		f.Omitted = "encrypted file; never shown"
		return f
	}
	if *budget <= 0 {
		f.Omitted = "not kept: the status page keeps at most 8 MiB of files"
		return f
	}
	file, err := fsys.Open(p)
	if err != nil {
		f.Omitted = "could not be read"
		return f
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, min(maxSharedFile, *budget)+1))
	if err != nil {
		f.Omitted = "could not be read"
		return f
	}
	f.Size = int64(len(data))
	switch {
	case int64(len(data)) > maxSharedFile:
		f.Omitted = "larger than 1 MiB"
	case int64(len(data)) > *budget:
		f.Omitted = "not kept: the status page keeps at most 8 MiB of files"
	case looksEncrypted(data):
		f.Omitted = "encrypted file; never shown"
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		f.Omitted = "binary file"
	default:
		f.Content = data
		*budget -= int64(len(data))
	}
	if info, err := file.Stat(); err == nil {
		f.Size = info.Size()
	}
	return f
}

// looksEncrypted spots an age file by its header, in binary or armored form.
func looksEncrypted(data []byte) bool {
	return bytes.HasPrefix(data, []byte("age-encryption.org/")) ||
		bytes.Contains(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----"))
}
