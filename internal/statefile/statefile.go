// Package statefile keeps the small JSON files through which commands run
// beside a daemon (suspend, resume, adopt) tell it what to do. The daemon
// holds the state dir's lock (internal/statelock) for as long as it runs,
// so these commands cannot take it; instead each file is replaced whole
// and atomically, and a read-modify-write of one is serialised by a lock
// of its own, so two commands at once never lose each other's change.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// maxSize caps what is read: these files hold a few names and times.
const maxSize = 1 << 20

// Read decodes the JSON file at path into v. A missing file leaves v as
// it is and is no error.
func Read(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(data) > maxSize {
		return fmt.Errorf("%s is larger than %d bytes", path, maxSize)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not what nectar wrote: %w", path, err)
	}
	return nil
}

// Update reads path into v, lets change alter v, and writes v back
// atomically (mode 0600), all under an exclusive lock on path.lock. When
// change fails nothing is written.
func Update(path string, v any, change func() error) error {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	for {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("cannot lock %s: %w", path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if err := Read(path, v); err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o600)
}
