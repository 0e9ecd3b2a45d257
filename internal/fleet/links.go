package fleet

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

var (
	errLinkOutside = errors.New("leads outside the fleet root")
	errLinkLoop    = errors.New("symlink loop")
)

// maxLinkHops bounds how many links one path may pass through, as the
// kernel bounds it (40 on Linux).
const maxLinkHops = 40

// resolveLink returns the path p leads to inside fsys once every link on
// the way is followed, component by component, as the kernel follows
// them: a link in a folder's place counts too, so a chain of links can
// hide nothing. It fails with errLinkOutside for a path that climbs out of
// the root or names an absolute target, and errLinkLoop past maxLinkHops.
func resolveLink(fsys fs.FS, p string) (string, error) {
	todo := strings.Split(p, "/")
	done := "." // resolved so far: no link in it
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		if part == "" || part == "." {
			continue
		}
		next := path.Join(done, part)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", errLinkOutside
		}
		info, err := fs.Lstat(fsys, next)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errLinkLoop
		}
		target, err := fs.ReadLink(fsys, next)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", errLinkOutside
		}
		// The target is relative to the link's folder, which is done.
		todo = append(strings.Split(target, "/"), todo...)
	}
	return done, nil
}
