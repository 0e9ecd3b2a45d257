package hbcrypt

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/scrypt"
)

// maxCachedKeys bounds the cache. nectar needs one key per account, but
// reading values that Hummingbot wrote (a salt per value) adds one key per
// value; when the bound is reached the cache starts over, which costs
// derivations, never correctness.
const maxCachedKeys = 1 << 14

// A Keyring encrypts and decrypts values and remembers every key it derives,
// so that each (password, KDF parameters, salt) costs one derivation per
// process. Callers that ask for a key while another goroutine derives it
// wait for that derivation instead of starting their own.
//
// Keys live only in memory. They are indexed by an HMAC of the password and
// parameters under a random per-Keyring key, so the index reveals nothing
// about the passwords; the cached keys themselves are as sensitive as the
// passwords for the values they open.
//
// The zero value is ready to use; a Keyring is safe for concurrent use and
// must not be copied after first use.
type Keyring struct {
	// Tests in this package may set these before first use; production
	// code never does, so values are always written with a random IV and
	// PBKDF2 at Iterations.
	testRand       io.Reader // nil means crypto/rand
	testIterations int       // PBKDF2 iterations for Encrypt; 0 means Iterations

	derivations atomic.Uint64

	mu       sync.Mutex
	indexKey []byte // random HMAC key for cache indexes, made on first use
	keys     map[[32]byte]*derivation
}

// derivation is one key, derived once; done is closed when key and err are
// set.
type derivation struct {
	done chan struct{}
	key  [keyLen]byte
	err  error
}

// NewKeyring returns an empty Keyring.
func NewKeyring() *Keyring {
	return &Keyring{}
}

// Derivations returns how many keys this Keyring has derived, which is how
// many times it has paid the KDF's cost. It is meant for metrics and
// benchmarks.
func (k *Keyring) Derivations() uint64 {
	return k.derivations.Load()
}

func (k *Keyring) iterations() int {
	if k.testIterations != 0 {
		return k.testIterations
	}
	return Iterations
}

func (k *Keyring) random() io.Reader {
	if k.testRand != nil {
		return k.testRand
	}
	return rand.Reader
}

// derive returns the key for password and p, from the cache when it can.
func (k *Keyring) derive(password string, p Params) ([keyLen]byte, error) {
	k.mu.Lock()
	if k.keys == nil {
		k.keys = make(map[[32]byte]*derivation)
		k.indexKey = make([]byte, 32)
		rand.Read(k.indexKey)
	}
	id := k.index(password, p)
	d, found := k.keys[id]
	if !found {
		if len(k.keys) >= maxCachedKeys {
			clear(k.keys) // goroutines already waiting hold their own *derivation
		}
		d = &derivation{done: make(chan struct{})}
		k.keys[id] = d
	}
	k.mu.Unlock()

	if found {
		<-d.done
		return d.key, d.err
	}
	defer close(d.done)
	d.err = errors.New("key derivation did not complete") // what waiters see if runKDF panics
	d.key, d.err = runKDF(password, p)
	k.derivations.Add(1)
	if d.err != nil {
		k.mu.Lock()
		if k.keys[id] == d {
			delete(k.keys, id)
		}
		k.mu.Unlock()
	}
	return d.key, d.err
}

// index names a cache entry: an HMAC, under the Keyring's random key, of an
// unambiguous (length-prefixed) encoding of everything the key depends on.
// The caller holds k.mu.
func (k *Keyring) index(password string, p Params) [32]byte {
	h := hmac.New(sha256.New, k.indexKey)
	var buf []byte
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(p.KDF)))
	buf = append(buf, p.KDF...)
	for _, n := range []int{p.Iterations, p.N, p.R, p.P, len(p.Salt)} {
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	buf = append(buf, p.Salt...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(password)))
	h.Write(buf)
	h.Write([]byte(password))
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// runKDF derives a key. The parameters were validated by parse or set by
// Encrypt, so errors here mean a bug or a refusal by the crypto library
// (such as FIPS-only mode).
func runKDF(password string, p Params) ([keyLen]byte, error) {
	var key [keyLen]byte
	var out []byte
	var err error
	switch p.KDF {
	case KDFPBKDF2:
		out, err = pbkdf2.Key(sha256.New, password, p.Salt, p.Iterations, keyLen)
	case KDFScrypt:
		out, err = scrypt.Key([]byte(password), p.Salt, p.N, p.R, p.P, keyLen)
	default:
		err = fmt.Errorf("unknown key derivation function %q", p.KDF)
	}
	if err != nil {
		return key, fmt.Errorf("cannot derive the key: %w", err)
	}
	copy(key[:], out)
	return key, nil
}
