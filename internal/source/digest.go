package source

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nectarhq/nectar/internal/filestat"
	"github.com/nectarhq/nectar/internal/fleet"
)

// contentDigest names the content of a folder: a digest over every file's
// path and bytes and every symlink's target (folders themselves, like in
// git, count only through what they hold). .git is skipped. Files over
// fleet.MaxFileSize count by their first bytes and size: loading them fails
// anyway. A file that cannot be read counts by its error, so that the
// digest changes when it becomes readable.
func contentDigest(ctx context.Context, fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked: the next event says so
			}
			record(h, 'E', p, []byte(err.Error()))
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if d.Name() == ".git" && p != "." {
				return fs.SkipDir
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				target = "error: " + err.Error()
			}
			record(h, 'L', p, []byte(target))
		default:
			data, err := readCapped(fsys, p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				record(h, 'E', p, []byte(err.Error()))
			default:
				record(h, 'F', p, data)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// record adds one entry to the digest, length-prefixed so no two trees
// can write the same stream.
func record(h hash.Hash, kind byte, name string, data []byte) {
	var n [8]byte
	h.Write([]byte{kind})
	binary.BigEndian.PutUint64(n[:], uint64(len(name)))
	h.Write(n[:])
	h.Write([]byte(name))
	binary.BigEndian.PutUint64(n[:], uint64(len(data)))
	h.Write(n[:])
	h.Write(data)
}

func readCapped(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, fleet.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > fleet.MaxFileSize {
		info, err := f.Stat()
		if err == nil {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(info.Size()))
			data = append(data, n[:]...)
		}
	}
	return data, nil
}

// treeStat is the cheap digest polling compares: every entry's path, type,
// size, modification time and (where the system has them) inode and change
// time, without reading any file. .git is skipped.
func treeStat(dir string) string {
	h := sha256.New()
	var buf [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			h.Write([]byte("E" + p + "\x00"))
			return nil
		}
		if d.IsDir() && d.Name() == ".git" && p != dir {
			return fs.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		h.Write([]byte(p + "\x00"))
		num(int64(info.Mode()))
		num(info.Size())
		num(info.ModTime().UnixNano())
		extra, _ := filestat.Of(info)
		num(int64(extra.Ino))
		num(extra.Ctime)
		return nil
	})
	if _, err := os.Stat(dir); err != nil {
		h.Write([]byte("missing"))
	}
	return string(h.Sum(nil))
}
