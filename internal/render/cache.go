package render

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/filestat"
)

// A no-op pass previews every bot, and most of a preview's cost used to be
// reading back files that had not changed since nectar wrote them and
// re-encoding client configs that had not changed either. The caches here
// keep what those cost, in memory only (never on disk), keyed so that any
// change is seen: a file by its stat signature (inode, size, times, mode),
// a config by its full typed content.

// racyWindow is how old a file's change time must be before its signature
// is trusted. File times tick coarsely (a few milliseconds on Linux), so a
// same-size rewrite right after nectar read a file could leave every field
// of the signature unchanged; git guards its index the same way.
const racyWindow = time.Second

// maxCached bounds each cache; past it the cache starts afresh.
const maxCached = 1 << 14

// statSig identifies one version of a file on disk.
type statSig struct {
	extra filestat.Extra
	size  int64
	mtime int64
	mode  fs.FileMode
}

// signature returns a file's signature and whether it may be trusted:
// never where the system gives no inode or change time, nor for a file
// changed within racyWindow.
func (r *Renderer) signature(info fs.FileInfo) (statSig, bool) {
	extra, ok := filestat.Of(info)
	if !ok {
		return statSig{}, false
	}
	sig := statSig{extra: extra, size: info.Size(), mtime: info.ModTime().UnixNano(), mode: info.Mode()}
	return sig, time.Since(time.Unix(0, extra.Ctime)) >= r.racy
}

// diskCache remembers the disk digest of instance files nectar read back.
type diskCache struct {
	mu    sync.Mutex
	m     map[string]diskEntry // by full path
	reads int                  // files read back, for tests
}

type diskEntry struct {
	sig    statSig
	digest string
	modeOK bool
}

// diskDigestOf returns the disk digest of the file rel of the instance
// folder inst, whether its mode is right, and whether it exists as a
// regular file at all.
func (r *Renderer) diskDigestOf(inst, rel string) (digest string, modeOK, exists bool, err error) {
	full := filepath.Join(inst, filepath.FromSlash(rel))
	info, err := os.Lstat(full)
	if err == nil && info.Mode().IsRegular() {
		sig, trusted := r.signature(info)
		r.disk.mu.Lock()
		e, hit := r.disk.m[full]
		r.disk.mu.Unlock()
		if hit && trusted && e.sig == sig {
			return e.digest, e.modeOK, true, nil
		}
	}
	r.disk.mu.Lock()
	r.disk.reads++
	r.disk.mu.Unlock()
	have, modeOK, err := readInstanceFileAt(inst, rel)
	if err != nil || have == nil {
		return "", false, false, err
	}
	digest = r.diskDigest(have).String()
	// The signature is taken again after reading, so what is cached is
	// never newer than what was digested. (A change in between makes the
	// two signatures differ, and then nothing is cached.)
	if after, err := os.Lstat(full); err == nil && info != nil && os.SameFile(info, after) {
		sig, trusted := r.signature(after)
		before, _ := r.signature(info)
		if trusted && sig == before {
			r.disk.mu.Lock()
			if r.disk.m == nil || len(r.disk.m) >= maxCached {
				r.disk.m = map[string]diskEntry{}
			}
			r.disk.m[full] = diskEntry{sig: sig, digest: digest, modeOK: modeOK}
			r.disk.mu.Unlock()
		}
	}
	return digest, modeOK, true, nil
}

// manifestCache remembers parsed manifests. A cached manifest is shared:
// callers never change one they read.
type manifestCache struct {
	mu sync.Mutex
	m  map[string]manifestEntryCached // by instance folder
}

type manifestEntryCached struct {
	sig statSig
	m   manifest
}

// manifestOf returns the instance folder's manifest, from the cache when
// the file is unchanged.
func (r *Renderer) manifestOf(inst string) manifest {
	full := filepath.Join(inst, ManifestFile)
	info, err := os.Lstat(full)
	if err != nil {
		return readManifest(inst)
	}
	sig, trusted := r.signature(info)
	r.manifests.mu.Lock()
	e, hit := r.manifests.m[inst]
	r.manifests.mu.Unlock()
	if hit && trusted && e.sig == sig {
		return e.m
	}
	m := readManifest(inst)
	if after, err := os.Lstat(full); err == nil && trusted {
		if s, _ := r.signature(after); s == sig {
			r.manifests.mu.Lock()
			if r.manifests.m == nil || len(r.manifests.m) >= maxCached {
				r.manifests.m = map[string]manifestEntryCached{}
			}
			r.manifests.m[inst] = manifestEntryCached{sig: sig, m: m}
			r.manifests.mu.Unlock()
		}
	}
	return m
}

// configCache remembers canonical client configs by their typed content.
type configCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// canonicalConfigOf is canonicalConfig, cached.
func (r *Renderer) canonicalConfigOf(config map[string]any) ([]byte, error) {
	var key strings.Builder
	if !typedKey(&key, config) {
		return canonicalConfig(config)
	}
	k := key.String()
	r.configs.mu.Lock()
	canon, hit := r.configs.m[k]
	r.configs.mu.Unlock()
	if hit {
		return canon, nil
	}
	canon, err := canonicalConfig(config)
	if err != nil {
		return nil, err
	}
	r.configs.mu.Lock()
	if r.configs.m == nil || len(r.configs.m) >= maxCached {
		r.configs.m = map[string][]byte{}
	}
	r.configs.m[k] = canon
	r.configs.mu.Unlock()
	return canon, nil
}

// typedKey writes v with its types and sorted keys, so that two values get
// the same key only when they are equal and of the same types. It reports
// false for a type it does not know; the caller then does not cache.
func typedKey(b *strings.Builder, v any) bool {
	switch v := v.(type) {
	case nil:
		b.WriteString("n;")
	case bool, int, int64, uint64, float64, string:
		fmt.Fprintf(b, "%T:%q;", v, fmt.Sprint(v))
	case []any:
		fmt.Fprintf(b, "[%d:", len(v))
		for _, e := range v {
			if !typedKey(b, e) {
				return false
			}
		}
		b.WriteString("]")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(b, "{%d:", len(keys))
		for _, k := range keys {
			fmt.Fprintf(b, "%q=", k)
			if !typedKey(b, v[k]) {
				return false
			}
		}
		b.WriteString("}")
	default:
		return false
	}
	return true
}
