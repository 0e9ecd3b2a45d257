package render

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/hbcrypt"
	"github.com/nectarhq/nectar/internal/hint"
)

// keySize is the length of the state key in bytes.
const keySize = 32

// loadOrCreateKey returns the state key kept in path, creating it on first
// use. The key never leaves the state folder: every digest nectar records
// or shows is an HMAC under it, so a digest cannot be used to test guesses
// of a secret by anyone who lacks the file.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	fresh := make([]byte, keySize)
	rand.Read(fresh)
	// Write a private temporary file and hard-link it into place: the link
	// fails if another process created the key first, and then that key,
	// not ours, is the one everybody uses.
	tmp, err := os.CreateTemp(filepath.Dir(path), atomicfile.TempPattern(path))
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(fresh) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("cannot write the state key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("cannot create the state key %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return readKey(path)
}

func readKey(path string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("state key %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, hint.Wrap(fmt.Errorf("state key %s is readable by other users (mode %04o)", path, info.Mode().Perm()),
			"run `chmod 600 "+path+"`; nectar's digests of secrets are only as private as this key")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(key) != keySize {
		return nil, hint.Wrap(fmt.Errorf("state key %s is damaged: want %d hex-encoded bytes", path, keySize),
			"delete it: nectar makes a new one and rewrites every rendered file once")
	}
	return key, nil
}

// Labels that keep the uses of the state key apart, so that no digest of
// one kind can ever equal a digest of another.
const (
	labelSalt      = "nectar/render/salt/v1"
	labelContent   = "nectar/render/content/v1"
	labelDisk      = "nectar/render/disk/v1"
	labelBotDigest = "nectar/render/bot/v1"
)

// keyed builds one HMAC-SHA256 under the state key over a label and a
// sequence of length-prefixed parts, an encoding in which no two different
// sequences give the same bytes.
type keyed struct{ h hash.Hash }

func (r *Renderer) newKeyed(label string) keyed {
	// A pass takes thousands of these; starting from a copy of the state
	// after the key and the label saves hashing both every time.
	if start, ok := r.labels[label]; ok {
		if h, err := start.Clone(); err == nil {
			return keyed{h}
		}
	}
	k := keyed{hmac.New(sha256.New, r.key)}
	k.add([]byte(label))
	return k
}

// keyedLabels are the labels whose starting states a Renderer keeps.
var keyedLabels = []string{labelSalt, labelContent, labelDisk, labelBotDigest, labelPart}

// labelStates returns the HMAC state after each label, for newKeyed to
// copy; none when this HMAC cannot be copied.
func labelStates(key []byte) map[string]hash.Cloner {
	out := map[string]hash.Cloner{}
	for _, l := range keyedLabels {
		k := keyed{hmac.New(sha256.New, key)}
		k.add([]byte(l))
		c, ok := k.h.(hash.Cloner)
		if !ok {
			return nil
		}
		out[l] = c
	}
	return out
}

func (k keyed) add(parts ...[]byte) keyed {
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		k.h.Write(n[:])
		k.h.Write(p)
	}
	return k
}

func (k keyed) addString(parts ...string) keyed {
	for _, p := range parts {
		k.add([]byte(p))
	}
	return k
}

func (k keyed) sum() digest {
	var d digest
	k.h.Sum(d[:0])
	return d
}

// digest is a keyed digest; its text form is lower-case hex.
type digest [sha256.Size]byte

func (d digest) String() string { return hex.EncodeToString(d[:]) }

// accountSalt returns the PBKDF2 salt of an account's values: an HMAC under
// the state key of the account's name and password. It is the same on every
// render and in every process, so a render that finds nothing to change
// derives no key, and the first render of an account in a process derives
// exactly one. A new password gives a new salt, so a rotated account never
// reuses a salt with a second password.
func (r *Renderer) accountSalt(account, password string) []byte {
	d := r.newKeyed(labelSalt).addString(account, password).sum()
	return d[:hbcrypt.SaltSize]
}

// diskDigest is the keyed digest of a file's bytes as they sit on disk.
func (r *Renderer) diskDigest(data []byte) digest {
	return r.newKeyed(labelDisk).add(data).sum()
}

// labelPart keeps the digests of a container's parts apart from the
// render's own.
const labelPart = "nectar/reconcile/part/v1"

// PartDigest is a short keyed digest of one named piece of a bot's
// container (an environment variable's value, a mount), kept in nectar's
// record of what it applied so that a later change can be named. It is
// keyed so that the record never lets anyone test guesses of a value.
func (r *Renderer) PartDigest(name, value string) string {
	return r.newKeyed(labelPart).addString(name, value).sum().String()[:16]
}
