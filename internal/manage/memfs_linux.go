package manage

import "golang.org/x/sys/unix"

// isMemoryFS reports whether dir is on a tmpfs or ramfs. The kernel says
// which file system holds dir (following symlinks on the way), which is
// the question the mount table could only answer by matching path
// prefixes against mount points.
func isMemoryFS(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	// The magic numbers are 32 bits; the field is wider or signed on some
	// architectures (int32 on 386, where ramfs's number is negative).
	t := uint32(st.Type)
	return t == unix.TMPFS_MAGIC || t == unix.RAMFS_MAGIC
}
