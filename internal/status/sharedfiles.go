package status

import (
	"bytes"
	"errors"
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
	path.Join(fleet.ConfDir, fleet.StrategiesDir),
}

// SharedFile is one file under the shared roots at the applied revision.
type SharedFile struct {
	Path string
	Size int64
	// Content is nil when the file is not shown; Omitted says why.
	Content []byte
	Omitted string
	// Link is the target of a symlink, as written in the source; Content
	// is then the target's, which is what every bot gets.
	Link string
	// Secret marks a link into accounts/ or to an encrypted file: it is
	// listed by name, and its page does not exist.
	Secret bool
}

// SharedFiles is the in-memory copy of the shared roots at one revision.
// The source's snapshot is released after the pass, so /files cannot read
// it later.
type SharedFiles struct {
	Revision string
	Files    []SharedFile // by path
}

// lookup returns the file at p, which must be one of the copied paths:
// the copy is the whole namespace /files knows, so a path that climbs out
// of it, names accounts/ or is absolute simply is not there.
func (s *SharedFiles) Lookup(p string) (SharedFile, bool) {
	if s == nil {
		return SharedFile{}, false
	}
	i, ok := slices.BinarySearchFunc(s.Files, p, func(f SharedFile, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return SharedFile{}, false
	}
	return s.Files[i], true
}

// copySharedFiles reads the shared roots of fsys into memory. It never
// fails: a file it cannot read is listed with the reason. It lists what
// the loader hands the renderer (internal/fleet's walk): hidden names and
// __pycache__ are skipped, and a symlink counts as the file it points at,
// since the renderer copies the target's content into every bot.
func copySharedFiles(fsys fs.FS, revision string) *SharedFiles {
	out := &SharedFiles{Revision: revision}
	budget := int64(maxSharedTotal)
	for _, root := range sharedRoots {
		if linkedFolder(fsys, root) {
			// The loader does not follow a linked folder: no bot gets
			// anything from it, and walking it could wander anywhere.
			if _, err := fs.Stat(fsys, root); err == nil {
				out.Files = append(out.Files, SharedFile{Path: root, Omitted: omitFolderLink})
			}
			continue
		}
		_ = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return fs.SkipDir // the fleet has no such folder
				}
				out.Files = append(out.Files, SharedFile{Path: p, Omitted: "could not be read"})
				return nil
			}
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "__pycache__") {
				// .gitkeep, caches and friends: the loader ignores them,
				// so no bot gets them.
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				out.Files = append(out.Files, readLink(fsys, p, &budget))
			case d.Type().IsRegular():
				out.Files = append(out.Files, readShared(fsys, p, p, &budget))
			}
			return nil
		})
	}
	slices.SortFunc(out.Files, func(a, b SharedFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Why a link is listed without its content. The loader refuses the last
// four as problems of the source, so no bot gets anything for them.
const (
	omitSecretLink = "link into accounts/; never shown"
	omitAgeLink    = "link to an encrypted file; never shown"
	omitOutside    = "link out of the source; bots get nothing"
	omitLinkLoop   = "link loop; bots get nothing"
	omitBrokenLink = "broken link; bots get nothing"
	omitFolderLink = "link to a folder, which nectar does not follow; bots get nothing"
)

var (
	errOutside = errors.New("leads outside the source")
	errSecret  = errors.New("leads into accounts/")
	errLoop    = errors.New("link loop")
)

// linkedFolder reports whether root, or a folder above it, is a symlink.
func linkedFolder(fsys fs.FS, root string) bool {
	for p := root; p != "."; p = path.Dir(p) {
		if info, err := fs.Lstat(fsys, p); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// readLink lists the symlink at p as the file a bot gets through it: its
// target's content, read by the target's own path once every link on the
// way is resolved here. The resolution is this package's own, so that a
// link into accounts/ (directly, through another link, or through a
// linked folder) is recognised before anything there is opened.
func readLink(fsys fs.FS, p string, budget *int64) SharedFile {
	f := SharedFile{Path: p}
	if _, ok := fsys.(fs.ReadLinkFS); !ok {
		// Without ReadLink this package cannot tell where the link leads,
		// so it cannot rule out accounts/.
		f.Omitted, f.Secret = "link that cannot be resolved here; not shown", true
		return f
	}
	resolved, err := resolveLinks(fsys, p)
	switch {
	case errors.Is(err, errSecret):
		f.Omitted, f.Secret = omitSecretLink, true
		return f
	case errors.Is(err, errOutside):
		f.Omitted = omitOutside
		return f
	case errors.Is(err, errLoop):
		f.Omitted = omitLinkLoop
		return f
	case errors.Is(err, fs.ErrNotExist):
		f.Omitted = omitBrokenLink
		return f
	case err != nil:
		f.Omitted = "could not be read"
		return f
	}
	if hasSuffixFold(resolved, ".age") {
		f.Omitted, f.Secret = omitAgeLink, true
		return f
	}
	if info, err := fs.Stat(fsys, resolved); err == nil && info.IsDir() {
		f.Omitted = omitFolderLink
		return f
	}
	// The target as written is worth showing only now: it stays in the
	// source and leads to neither accounts/ nor an encrypted file.
	read := readShared(fsys, p, resolved, budget)
	read.Link, _ = fs.ReadLink(fsys, p)
	return read
}

// resolveLinks returns the path name leads to with every symlink along it
// followed, as the source's file systems follow them: relative to the
// link's folder, never above the root, never absolute. It stops at the
// first step into accounts/, before looking at anything there.
func resolveLinks(fsys fs.FS, name string) (string, error) {
	todo := strings.Split(name, "/")
	var done []string
	links := 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", errOutside
			}
			done = done[:len(done)-1]
			continue
		}
		// EqualFold: on a case-insensitive file system "Accounts" is
		// the same folder.
		if len(done) == 0 && strings.EqualFold(elem, fleet.AccountsDir) {
			return "", errSecret
		}
		cur := path.Join(path.Join(done...), elem)
		info, err := fs.Lstat(fsys, cur)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = append(done, elem)
			continue
		}
		if links++; links > 40 {
			return "", errLoop
		}
		target, err := fs.ReadLink(fsys, cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", errOutside
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return path.Join(done...), nil
}

// readShared reads the file at from, listed as p, within the remaining
// budget.
func readShared(fsys fs.FS, p, from string, budget *int64) SharedFile {
	f := SharedFile{Path: p}
	if hasSuffixFold(p, ".age") {
		f.Omitted = "encrypted file; never shown"
		return f
	}
	if *budget <= 0 {
		f.Omitted = "not kept: the status page keeps at most 8 MiB of files"
		return f
	}
	file, err := fsys.Open(from)
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

// hasSuffixFold is strings.HasSuffix without regard to case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
