package filestat

import (
	"io/fs"
	"syscall"
)

func of(info fs.FileInfo) (Extra, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Extra{}, false
	}
	return Extra{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Ctime: int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec)}, true
}
