// Package filestat reads what fs.FileInfo leaves out of a file's identity:
// its device, inode and change time. Together with size, mode and
// modification time they tell one version of a file from the next, even a
// same-size rewrite within one tick of the modification clock or a save
// that renames a new file over the old one.
package filestat

import "io/fs"

// Extra is the part of a file's identity fs.FileInfo does not carry.
type Extra struct {
	Dev, Ino uint64
	Ctime    int64 // change time, in nanoseconds since the epoch
}

// Of returns info's Extra, and false where the system does not give it.
func Of(info fs.FileInfo) (Extra, bool) { return of(info) }
