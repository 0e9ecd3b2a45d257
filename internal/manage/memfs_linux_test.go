package manage

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mountTableSays is how isMemoryFS used to decide, from /proc/self/mounts:
// the file system type of the longest mount point above dir. It stays here
// as the reference the statfs answer is held to.
func mountTableSays(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	best, bestType := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		mnt := fields[1]
		if (abs == mnt || strings.HasPrefix(abs, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best, bestType = mnt, fields[2]
		}
	}
	return bestType == "tmpfs" || bestType == "ramfs"
}

// statfs gives the answer the mount table gave, for folders on and off
// tmpfs, through a symlink, and for a folder that is not there.
func TestIsMemoryFSAgreesWithMountTable(t *testing.T) {
	disk := t.TempDir()
	dirs := []string{"/", "/proc", disk, filepath.Join(disk, "missing"), "/run"}
	for _, d := range memoryDirs() {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	var memory int
	for _, d := range dirs {
		if mountTableSays(t, d) {
			memory++
			// A symlink on disk leading to the memory folder counts as
			// the memory folder, as EvalSymlinks made it count before.
			link := filepath.Join(disk, "link-"+strings.ReplaceAll(d, "/", "_"))
			if err := os.Symlink(d, link); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, link)
		}
	}
	for _, d := range dirs {
		if got, want := isMemoryFS(d), mountTableSays(t, d); got != want {
			t.Errorf("isMemoryFS(%s) = %v, the mount table says %v", d, got, want)
		}
	}
	if memory == 0 {
		t.Log("no tmpfs among the folders tried: only the negative answers were compared")
	}
}
