package render

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// ManifestFile is the name of the record nectar keeps in each instance
// folder of what it last wrote there. The instance folder itself is not
// mounted into the container (only its sub-folders are), so the bot never
// sees it.
const ManifestFile = ".nectar-manifest.json"

const manifestVersion = 1

// maxManifestSize caps what is read back; a fleet's shared files number in
// the hundreds, each entry about 200 bytes.
const maxManifestSize = 16 << 20

// manifest records, per file nectar wrote into an instance folder, keyed
// digests (HMACs under the state key, never plain hashes, never contents)
// of what the file was meant to hold and of the bytes written. Encrypted
// files cannot be compared with what nectar wants directly, since every
// encryption draws a new IV; the manifest is what lets a render tell that
// a file is still exactly what nectar wrote for the same input.
type manifest struct {
	Version int `json:"version"`
	// Digest is the bot's digest (Result.Digest) as of the last render.
	Digest string                   `json:"digest"`
	Files  map[string]manifestEntry `json:"files"`
}

type manifestEntry struct {
	// Content is the keyed digest of the logical content: for an encrypted
	// file, the plaintext layout with the password and salt.
	Content string `json:"content"`
	// Disk is the keyed digest of the bytes written, for encrypted files.
	// conf_client.yml has none, as Hummingbot rewrites that file; plain
	// copies have none, as they are compared with the source directly.
	Disk string `json:"disk,omitempty"`
	// Keys lists, for conf_client.yml, the keys nectar set.
	Keys [][]string `json:"keys,omitempty"`
}

// readManifest returns the manifest in an instance folder. A missing,
// unreadable or damaged manifest reads as empty: every file is then
// rewritten once, which costs time but is never wrong.
func readManifest(dir string) manifest {
	empty := manifest{Version: manifestVersion, Files: map[string]manifestEntry{}}
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		return empty
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil || len(data) > maxManifestSize {
		return empty
	}
	var m manifest
	if json.Unmarshal(data, &m) != nil || m.Version != manifestVersion || m.Files == nil {
		return empty
	}
	return m
}

func writeManifest(dir string, m manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o600)
}

// sharedTops are the instance folders that receive the fleet's shared
// files. A shared file nectar wrote and the source no longer has is
// removed, so these are the only places a manifest may send a removal.
var sharedTops = []string{"scripts", "controllers", "conf/scripts", "conf/controllers", "conf/strategies"}

// sharedTop returns the shared folder p lies in, or "" when p is not a
// clean relative path inside one. Manifest paths are checked with it before
// anything is removed: the manifest is a file on disk, and nothing it says
// may lead nectar to delete outside those folders (least of all in data/
// or logs/).
func sharedTop(p string) string {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.Contains(p, "\\") {
		return ""
	}
	for _, top := range sharedTops {
		if rest, ok := strings.CutPrefix(p, top+"/"); ok && rest != "" && !slices.Contains(strings.Split(rest, "/"), "..") {
			return top
		}
	}
	return ""
}

// FileRecord names one file nectar wrote into a bot's instance folder and
// the keyed digest of what it holds (never the content itself).
type FileRecord struct {
	Path   string // slash-separated, relative to the instance folder
	Digest string
}

// Files lists what the last render of bot wrote, from its manifest, in path
// order. A bot never rendered has none.
func (r *Renderer) Files(bot string) []FileRecord {
	m := r.manifestOf(r.InstanceDir(bot))
	out := make([]FileRecord, 0, len(m.Files))
	for _, p := range slices.Sorted(maps.Keys(m.Files)) {
		e := m.Files[p]
		d := e.Disk
		if d == "" {
			d = e.Content
		}
		out = append(out, FileRecord{Path: p, Digest: d})
	}
	return out
}
