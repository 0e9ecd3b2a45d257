package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/nectarhq/nectar/internal/capread"
	"github.com/nectarhq/nectar/internal/fleet"
)

// treeFS is a read-only fs.FS over one git tree, read straight from the
// object store: no worktree is ever written. The tree is indexed once
// (names, modes, sizes); file contents are read when opened. It is
// immutable and safe for concurrent use.
//
// Symlinks are resolved inside the tree, and one that leads above its root
// (an absolute target, or too many ..) fails, so nothing outside the fleet
// is ever read.
type treeFS struct {
	objects storer.EncodedObjectStorer
	root    *treeNode
	modTime time.Time // every entry's: the commit's time
}

type treeNode struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
	size int64
	kids []*treeNode // sorted by name; folders only
}

var (
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

var (
	errOutside      = errors.New("symlink leads outside the fleet root")
	errLinkLoop     = syscall.ELOOP // as the operating system says it, so callers test for one thing
	errNotDir       = errors.New("not a directory")
	errIrregular    = errors.New("not a regular file (a git submodule)")
	errFileTooLarge = fmt.Errorf("file is larger than %d bytes (1 MiB)", fleet.MaxFileSize)
)

// newTreeFS indexes tree. It fails when an object the tree needs is
// missing from objects, which means the fetch was incomplete.
func newTreeFS(objects storer.EncodedObjectStorer, tree *object.Tree, modTime time.Time) (*treeFS, error) {
	root := &treeNode{name: ".", mode: filemode.Dir, hash: tree.Hash}
	if err := indexTree(objects, tree, root, ""); err != nil {
		return nil, err
	}
	return &treeFS{objects: objects, root: root, modTime: modTime}, nil
}

// indexTree indexes tree into dir; at is dir's path in the fleet root ("" at
// the root), for the errors.
func indexTree(objects storer.EncodedObjectStorer, tree *object.Tree, dir *treeNode, at string) error {
	for _, e := range tree.Entries {
		n := &treeNode{name: e.Name, mode: e.Mode, hash: e.Hash}
		p := path.Join(at, e.Name)
		switch e.Mode {
		case filemode.Dir:
			sub, err := object.GetTree(objects, e.Hash)
			if err != nil {
				return fmt.Errorf("cannot read folder %s (%s): %w", p, e.Hash, err)
			}
			if err := indexTree(objects, sub, n, p); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable, filemode.Symlink:
			obj, err := objects.EncodedObject(plumbing.BlobObject, e.Hash)
			if err != nil {
				return fmt.Errorf("cannot read %s (%s): %w", p, e.Hash, err)
			}
			n.size = obj.Size()
		}
		dir.kids = append(dir.kids, n)
	}
	// git orders a folder "a" as if it were "a/"; fs.ReadDir wants plain
	// name order.
	slices.SortFunc(dir.kids, func(a, b *treeNode) int { return strings.Compare(a.name, b.name) })
	return nil
}

func (n *treeNode) isDir() bool     { return n.mode == filemode.Dir }
func (n *treeNode) isSymlink() bool { return n.mode == filemode.Symlink }

func (n *treeNode) child(name string) *treeNode {
	i, ok := slices.BinarySearchFunc(n.kids, name, func(k *treeNode, name string) int { return strings.Compare(k.name, name) })
	if !ok {
		return nil
	}
	return n.kids[i]
}

// lookup finds name, following symlinks in every element but the last,
// and in the last too when follow is set.
func (t *treeFS) lookup(op, name string, follow bool) (*treeNode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (*treeNode, error) { return nil, &fs.PathError{Op: op, Path: name, Err: err} }
	parts := strings.Split(name, "/")
	dirs := []*treeNode{t.root} // the folders walked through, root first
	var leaf *treeNode
	links := 0
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		if p == "" || p == "." {
			continue
		}
		if leaf != nil {
			return fail(errNotDir)
		}
		if p == ".." {
			if len(dirs) == 1 {
				return fail(errOutside)
			}
			dirs = dirs[:len(dirs)-1]
			continue
		}
		n := dirs[len(dirs)-1].child(p)
		if n == nil {
			return fail(fs.ErrNotExist)
		}
		if n.isSymlink() && (follow || len(parts) > 0) {
			if links++; links > 40 {
				return fail(errLinkLoop)
			}
			target, err := t.readBlob(n, 4096)
			if err != nil {
				return fail(err)
			}
			if path.IsAbs(string(target)) {
				return fail(errOutside)
			}
			parts = append(strings.Split(string(target), "/"), parts...)
			continue
		}
		if n.isDir() {
			dirs = append(dirs, n)
		} else {
			leaf = n
		}
	}
	if leaf != nil {
		return leaf, nil
	}
	return dirs[len(dirs)-1], nil
}

// readBlob reads a blob of at most limit bytes.
func (t *treeFS) readBlob(n *treeNode, limit int64) ([]byte, error) {
	if n.size > limit {
		return nil, errFileTooLarge
	}
	obj, err := t.objects.EncodedObject(plumbing.BlobObject, n.hash)
	if err != nil {
		return nil, err
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The tree's size was checked above; the cap still holds should the
	// object hold more than the tree says.
	return capread.ReadAll(r, limit, errFileTooLarge)
}

// Open opens a file or a folder. Files over fleet.MaxFileSize are refused:
// Stat still gives their size, so the loader can say what is wrong.
func (t *treeFS) Open(name string) (fs.File, error) {
	n, err := t.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	info := t.info(n, name)
	switch {
	case n.isDir():
		return &treeDir{info: info, kids: n.kids, fsys: t}, nil
	case n.mode == filemode.Submodule:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errIrregular}
	}
	data, err := t.readBlob(n, fleet.MaxFileSize)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{info: info, Reader: bytes.NewReader(data)}, nil
}

// Stat describes name, following symlinks.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.lookup("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(n, name), nil
}

// Lstat describes name without following a final symlink.
func (t *treeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.lookup("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(n, name), nil
}

// ReadLink returns a symlink's target as committed.
func (t *treeFS) ReadLink(name string) (string, error) {
	n, err := t.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if !n.isSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := t.readBlob(n, 4096)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

// ReadDir lists a folder in name order.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return t.entries(n.kids), nil
}

func (t *treeFS) entries(kids []*treeNode) []fs.DirEntry {
	out := make([]fs.DirEntry, len(kids))
	for i, k := range kids {
		out[i] = fs.FileInfoToDirEntry(t.info(k, k.name))
	}
	return out
}

func (t *treeFS) info(n *treeNode, name string) fs.FileInfo {
	return &treeInfo{name: path.Base(name), node: n, modTime: t.modTime}
}

type treeInfo struct {
	name    string
	node    *treeNode
	modTime time.Time
}

func (i *treeInfo) Name() string       { return i.name }
func (i *treeInfo) Size() int64        { return i.node.size }
func (i *treeInfo) ModTime() time.Time { return i.modTime }
func (i *treeInfo) IsDir() bool        { return i.node.isDir() }
func (i *treeInfo) Sys() any           { return nil }

func (i *treeInfo) Mode() fs.FileMode {
	switch i.node.mode {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Executable:
		return 0o555
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Submodule:
		return fs.ModeIrregular
	}
	return 0o444
}

// treeFile is an open file: its content, read whole (it is at most
// fleet.MaxFileSize).
type treeFile struct {
	info fs.FileInfo
	*bytes.Reader
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

// treeDir is an open folder.
type treeDir struct {
	info fs.FileInfo
	kids []*treeNode
	fsys *treeFS
	next int // entries already returned by ReadDir
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }

func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}

func (d *treeDir) ReadDir(count int) ([]fs.DirEntry, error) {
	rest := d.kids[d.next:]
	if count <= 0 {
		d.next = len(d.kids)
		return d.fsys.entries(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(count, len(rest))]
	d.next += len(rest)
	return d.fsys.entries(rest), nil
}
