// Package owner gives a fleet instance — one state dir — an identity, so
// that two nectars running fleets of the same name on one Docker host
// never act on each other's containers. The identity is a random id made
// once and kept in the state dir; every container nectar creates carries
// it as a label (runtime.LabelOwner). Moving the state dir moves the
// identity with it, so its containers stay its own.
//
// Containers can also be adopted deliberately (`nectar adopt`): their ids
// are listed in the state dir, and nectar treats them as its own until a
// recreate replaces them with containers that carry its label.
package owner

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/statefile"
)

// Files in the state dir.
const (
	IDFile      = "fleet-id"
	AdoptedFile = "adopted.json"
)

var idRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ID returns the state dir's identity, making it on first use. Two
// processes making it at once agree on one: the id is written to a
// temporary file and linked into place, which fails if another got there
// first, and then the winner's is read.
func ID(stateDir string) (string, error) {
	path := filepath.Join(stateDir, IDFile)
	if id, err := read(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	tmp := path + ".new-" + hex.EncodeToString(b[:4])
	if err := atomicfile.WriteFile(tmp, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot make the fleet id %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("cannot make the fleet id %s: %w", path, err)
	}
	_ = atomicfile.SyncDir(stateDir)
	return read(path)
}

func read(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(data))
	if !idRe.MatchString(id) {
		return "", fmt.Errorf("the fleet id in %s is not one nectar made (32 hex digits); restore it from a backup of the state dir", path)
	}
	return id, nil
}

// Adoption records that a container was adopted on purpose.
type Adoption struct {
	Bot string    `json:"bot"`
	By  string    `json:"by"`
	At  time.Time `json:"at"`
}

// adopted is the file's content: adoptions by container id.
type adopted struct {
	Containers map[string]Adoption `json:"containers"`
}

// Adopted returns the containers adopted into the state dir, by id.
func Adopted(stateDir string) (map[string]Adoption, error) {
	var a adopted
	if err := statefile.Read(filepath.Join(stateDir, AdoptedFile), &a); err != nil {
		return nil, err
	}
	return a.Containers, nil
}

// Adopt adds containers (by id) to the state dir's adopted ones. keep
// says which ids still exist; the others are dropped, so the file does
// not grow with containers long gone.
func Adopt(stateDir string, add map[string]Adoption, keep func(id string) bool) error {
	var a adopted
	return statefile.Update(filepath.Join(stateDir, AdoptedFile), &a, func() error {
		if a.Containers == nil {
			a.Containers = map[string]Adoption{}
		}
		for id := range a.Containers {
			if keep != nil && !keep(id) {
				delete(a.Containers, id)
			}
		}
		for id, ad := range add {
			a.Containers[id] = ad
		}
		return nil
	})
}
