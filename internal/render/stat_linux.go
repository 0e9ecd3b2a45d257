package render

import (
	"io/fs"
	"syscall"
)

// statExtra returns what a file signature needs beyond fs.FileInfo: the
// device, the inode and the change time.
func statExtra(info fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec), true
}
