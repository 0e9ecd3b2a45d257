package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// cpMain is /bin/cp for the one copy a cluster bot's command makes, `cp
// SRC DST`, with coreutils' messages and exit codes: 0 when the file is
// copied, 1 with "cp: ..." on stderr when not. DST may be a folder to
// copy into. An existing DST file is truncated and written in place, as
// coreutils does without -f (same inode, its own mode kept); a new one is
// created with SRC's mode less the umask.
func cpMain(args []string) int {
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			fmt.Fprintf(os.Stderr, "cp: nectar-testbot's cp takes no options (got %s); nectar only runs cp SRC DST\n", a)
			return 1
		}
	}
	switch len(args) {
	case 0:
		fmt.Fprintln(os.Stderr, "cp: missing file operand\nTry 'cp --help' for more information.")
		return 1
	case 1:
		fmt.Fprintf(os.Stderr, "cp: missing destination file operand after '%s'\nTry 'cp --help' for more information.\n", args[0])
		return 1
	case 2:
	default:
		fmt.Fprintln(os.Stderr, "cp: nectar-testbot's cp copies one file: cp SRC DST")
		return 1
	}
	if err := copyFile(args[0], args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "cp: %v\n", err)
		return 1
	}
	return 0
}

func copyFile(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("cannot stat '%s': %s", src, pyStrerror(err))
	}
	if info.IsDir() {
		return fmt.Errorf("-r not specified; omitting directory '%s'", src)
	}
	target, err := os.Stat(dst)
	if err == nil && target.IsDir() {
		dst = filepath.Join(dst, filepath.Base(src))
		target, err = os.Stat(dst)
	}
	exists := err == nil
	if exists && os.SameFile(info, target) {
		return fmt.Errorf("'%s' and '%s' are the same file", src, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("cannot open '%s' for reading: %s", src, pyStrerror(err))
	}
	defer in.Close()
	flags := os.O_WRONLY | os.O_TRUNC
	if !exists {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	out, err := os.OpenFile(dst, flags, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("cannot create regular file '%s': %s", dst, pyStrerror(err))
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("error writing '%s': %s", dst, pyStrerror(err))
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("failed to close '%s': %s", dst, pyStrerror(err))
	}
	return nil
}

// pyStrerror is the C library's text for the errno behind err, as both
// coreutils and Python print it ("No such file or directory"); Go's own
// table holds the same texts in lower case.
func pyStrerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
