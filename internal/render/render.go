// Package render turns one desired bot into the Hummingbot instance folder
// its container reads (product.md §2):
//
//	conf/.password_verification       "HummingBot" encrypted with the account password
//	conf/conf_client.yml              client_config merged; instance_id = container name
//	conf/connectors/<connector>.yml   one per connector of the bot
//	conf/scripts/  conf/controllers/  configs from the fleet
//	scripts/  controllers/            the image's own code, then the fleet's
//	data/  logs/                      the bot's own: created, never touched again
//
// Every file is written atomically with mode 0600 in folders of mode 0700.
// Secrets reach disk only encrypted the way Hummingbot encrypts them.
//
// Rendering is idempotent: a render that finds every file as it should be
// writes nothing at all, and derives no key. To know that an encrypted file
// (whose bytes differ on every encryption) is still what nectar wrote for the
// same input, each instance folder keeps a manifest of keyed digests; see
// [ManifestFile].
package render

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// Paths inside an instance folder.
const (
	ConfDir              = "conf"
	ConnectorsDir        = "conf/connectors"
	PasswordVerification = "conf/.password_verification"
	ClientConfigFile     = "conf/conf_client.yml"
	DataDir              = "data"
	LogsDir              = "logs"
)

// ownedDirs are the folders nectar creates and keeps at mode 0700, parents
// first. data/ and logs/ are created too but never changed afterwards.
var ownedDirs = []string{"conf", "conf/connectors", "conf/scripts", "conf/controllers", "conf/strategies", "scripts", "controllers"}

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// maxInstanceFile caps what a render reads back from an instance folder. A
// larger file cannot be one nectar wrote, so it is simply rewritten.
const maxInstanceFile = 2 << 20

// Options configure a Renderer.
type Options struct {
	// Dir holds one instance folder per bot, Dir/<bot>.
	Dir string
	// KeyFile holds the state key, made on first use. Empty means
	// Dir/.nectar-render.key. Losing it costs one rewrite of every file.
	KeyFile string
	// Keyring caches derived keys. Nil means a new one. Share it with
	// whatever else in the process encrypts or decrypts the same values.
	Keyring *hbcrypt.Keyring
}

// StateDirOptions returns the layout used under nectar's --state-dir:
// instances/<bot>/ and the key in render.key.
func StateDirOptions(stateDir string) Options {
	return Options{
		Dir:     filepath.Join(stateDir, "instances"),
		KeyFile: filepath.Join(stateDir, "render.key"),
	}
}

// A Renderer writes instance folders. It is safe for concurrent use as long
// as no two goroutines render the same bot at once.
type Renderer struct {
	dir     string
	key     []byte
	keyring *hbcrypt.Keyring
	// labels are the keyed digests' starting states (newKeyed).
	labels map[string]hash.Cloner
	// sharedDigests remembers the content digest of each shared file as
	// last read (see sharedDigest).
	sharedDigests sync.Map

	// In-memory caches for previews (see cache.go), and how old a file
	// must be before its stat signature is trusted (racyWindow).
	racy      time.Duration
	disk      diskCache
	manifests manifestCache
	configs   configCache
}

// New opens (creating if need be) the folder of instance folders and its
// state key.
func New(opts Options) (*Renderer, error) {
	if opts.Dir == "" {
		return nil, errors.New("render: no instance folder given")
	}
	if err := os.MkdirAll(opts.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", opts.Dir, err)
	}
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(opts.Dir, ".nectar-render.key")
	}
	key, err := loadOrCreateKey(opts.KeyFile)
	if err != nil {
		return nil, err
	}
	k := opts.Keyring
	if k == nil {
		k = hbcrypt.NewKeyring()
	}
	return &Renderer{dir: opts.Dir, key: key, keyring: k, racy: racyWindow, labels: labelStates(key)}, nil
}

// Derivations is how many keys the Renderer's Keyring has derived, each
// costing Hummingbot's 1,000,000 PBKDF2 iterations. For metrics.
func (r *Renderer) Derivations() uint64 { return r.keyring.Derivations() }

// InstanceDir returns the folder a bot is rendered into.
func (r *Renderer) InstanceDir(bot string) string { return filepath.Join(r.dir, bot) }

// Result says what one render did.
type Result struct {
	Bot string
	// Dir is the bot's instance folder.
	Dir string
	// Written and Removed list the files written and removed, as
	// slash-separated paths inside Dir, sorted. Both are empty when the
	// folder was already as it should be.
	Written []string
	Removed []string
	// Files lists every file nectar keeps in the folder, sorted by path,
	// each with the keyed digest of its intended content.
	Files []File
	// Digest is a keyed digest of everything that shapes the bot's files:
	// every file's path and intended content, the password included. It
	// does not change from one render to the next for the same input, and
	// it is an HMAC, so it cannot be used to test guesses of a secret.
	Digest string
}

// File is one file nectar keeps in an instance folder.
type File struct {
	Path   string
	Digest string
}

// Changed reports whether the render wrote or removed anything.
func (res *Result) Changed() bool { return len(res.Written) > 0 || len(res.Removed) > 0 }

// ImageFiles are the scripts and controllers a bot's image ships, keyed by
// their path in the instance folder ("scripts/v2_with_controllers.py",
// "controllers/generic/grid_strike.py"). The instance's scripts/ and
// controllers/ are bound over the image's own folders, so nectar copies
// these in beside the fleet's: Hummingbot's controller bots run the
// image's v2_with_controllers.py, and many configs use its built-in
// controllers. A fleet file of the same path wins.
//
// They are not part of the bot's digest: they follow from the image,
// which is part of the container's, and a new image makes a new container.
type ImageFiles map[string][]byte

// ImageDirs are the instance folders that receive an image's files.
var ImageDirs = []string{"scripts", "controllers"}

// imagePath reports whether p may be an image file: a clean relative
// path inside one of ImageDirs.
func imagePath(p string) bool {
	top := sharedTop(p)
	return slices.Contains(ImageDirs, top)
}

// Shadowed lists the fleet's files that take the place of an image's own
// file of the same path, sorted, for the plan to say so.
func Shadowed(fl *fleet.Fleet, image ImageFiles) []string {
	var out []string
	for _, p := range fl.Shared {
		if _, ok := image[p]; ok && imagePath(p) {
			out = append(out, p)
		}
	}
	return out
}

type fileKind int

const (
	plainFile     fileKind = iota // a copy of a fleet file
	encryptedFile                 // a connector file or .password_verification
	clientFile                    // conf_client.yml, shared with Hummingbot
)

// wantFile is one file as the fleet says it should be. Nothing in it is
// encrypted yet: build does that, and only runs when the file is written.
type wantFile struct {
	path    string
	kind    fileKind
	content digest
	data    []byte                 // plainFile
	build   func() ([]byte, error) // encryptedFile
	config  map[string]any         // clientFile
	keys    [][]string             // clientFile
}

// plan is a bot's desired files and its digest.
type plan struct {
	files  []*wantFile
	digest digest
}

// Digest returns the bot's digest (see Result.Digest) without touching the
// disk or deriving any key.
func (r *Renderer) Digest(fl *fleet.Fleet, bot string) (string, error) {
	p, err := r.plan(fl, bot, nil)
	if err != nil {
		return "", err
	}
	return p.digest.String(), nil
}

func (r *Renderer) plan(fl *fleet.Fleet, name string, image ImageFiles) (*plan, error) {
	b, ok := fl.Bots[name]
	if !ok {
		return nil, fmt.Errorf("bot %s is not in the fleet", name)
	}
	// Names become paths here; fleet.Load checks them, and so does this,
	// whoever built the Fleet.
	if !fleet.ValidName(name) {
		return nil, fmt.Errorf("bot %q: not a valid bot name", name)
	}
	acct, ok := fl.Accounts[b.Account]
	if !ok {
		return nil, fmt.Errorf("bot %s: account %s does not exist", name, b.Account)
	}
	if acct.Password == "" {
		return nil, fmt.Errorf("bot %s: account %s has no usable password (%s/%s/%s)", name, acct.Name, fleet.AccountsDir, acct.Name, fleet.PasswordFile)
	}
	password := acct.Password.Reveal()
	salt := r.accountSalt(acct.Name, password)
	iterations := strconv.Itoa(hbcrypt.Iterations)
	var files []*wantFile

	files = append(files, &wantFile{
		path: PasswordVerification,
		kind: encryptedFile,
		content: r.newKeyed(labelContent).addString(PasswordVerification, acct.Name, password, iterations).
			add(salt).sum(),
		build: func() ([]byte, error) {
			v, err := r.keyring.PasswordVerification(password, salt)
			return []byte(v), err
		},
	})

	for _, c := range b.Connectors {
		if !fleet.ValidName(c) {
			return nil, fmt.Errorf("bot %s: %q is not a valid connector name", name, c)
		}
		cred := acct.Credentials[c]
		if cred == nil {
			return nil, fmt.Errorf("bot %s: credential %s of account %s is missing or did not load", name, c, acct.Name)
		}
		fields, err := connectorFields(cred)
		if err != nil {
			return nil, fmt.Errorf("bot %s: credential %s of account %s: %w", name, c, acct.Name, err)
		}
		p := ConnectorsDir + "/" + c + ".yml"
		h := r.newKeyed(labelContent).addString(p, acct.Name, password, iterations).add(salt).addString(c)
		for _, f := range fields {
			h.addString(strconv.FormatBool(f.secret), f.name, f.value)
		}
		files = append(files, &wantFile{
			path:    p,
			kind:    encryptedFile,
			content: h.sum(),
			build: func() ([]byte, error) {
				return connectorFile(c, fields, func(plain string) (string, error) {
					return r.keyring.Encrypt(password, salt, []byte(plain))
				})
			},
		})
	}

	config := clientConfig(b.ClientConfig, name)
	canon, err := r.canonicalConfigOf(config)
	if err != nil {
		return nil, fmt.Errorf("bot %s: client_config: %w", name, err)
	}
	files = append(files, &wantFile{
		path:    ClientConfigFile,
		kind:    clientFile,
		content: r.newKeyed(labelContent).addString(ClientConfigFile).add(canon).sum(),
		config:  config,
		keys:    leafPaths(config),
	})

	for _, p := range fl.Shared {
		if sharedTop(p) == "" {
			return nil, fmt.Errorf("bot %s: shared file %s is outside scripts/, controllers/, conf/scripts/, conf/controllers/ and conf/strategies/", name, p)
		}
		data, err := fl.ReadShared(p)
		if err != nil {
			return nil, fmt.Errorf("bot %s: %s: %w", name, p, err)
		}
		files = append(files, &wantFile{
			path:    p,
			kind:    plainFile,
			content: r.sharedDigest(p, data),
			data:    data,
		})
	}

	slices.SortFunc(files, func(a, b *wantFile) int { return strings.Compare(a.path, b.path) })
	h := r.newKeyed(labelBotDigest)
	for _, f := range files {
		h.addString(f.path).add(f.content[:])
	}
	digest := h.sum()

	// The image's files come after the digest is taken (see ImageFiles).
	fleetHas := make(map[string]bool, len(fl.Shared))
	for _, p := range fl.Shared {
		fleetHas[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(image)) {
		if !imagePath(p) {
			return nil, fmt.Errorf("bot %s: image file %s is outside %s", name, p, strings.Join(ImageDirs, "/ and ")+"/")
		}
		if fleetHas[p] {
			continue
		}
		files = append(files, &wantFile{
			path:    p,
			kind:    plainFile,
			content: r.newKeyed(labelContent).addString(p).add(image[p]).sum(),
			data:    image[p],
		})
	}
	slices.SortFunc(files, func(a, b *wantFile) int { return strings.Compare(a.path, b.path) })
	return &plan{files: files, digest: digest}, nil
}

// sharedDigest is the content digest of a shared file. Every bot gets
// every shared file, and a loaded fleet hands out one copy of each
// (Fleet.ReadShared), so the digest is worked out once per file and load
// rather than once per bot: it is remembered with the copy it was taken
// of, and a new load's copy is hashed afresh.
func (r *Renderer) sharedDigest(p string, data []byte) digest {
	type taken struct {
		data []byte
		d    digest
	}
	if v, ok := r.sharedDigests.Load(p); ok {
		t := v.(taken)
		if len(t.data) == len(data) && (len(data) == 0 || &t.data[0] == &data[0]) {
			return t.d
		}
	}
	d := r.newKeyed(labelContent).addString(p).add(data).sum()
	r.sharedDigests.Store(p, taken{data, d})
	return d
}

// Render brings the bot's instance folder in line with the fleet and says
// what it changed. It only derives a key, and only writes, for files that
// are missing, differ from what the fleet asks, or differ from what nectar
// last wrote (edited by hand, say). A file that fails to write is reported
// and the others are still written; the next render retries it.
//
// image holds the files the bot's image ships in scripts/ and controllers/
// (nil when they are not known, as without an engine).
func (r *Renderer) Render(fl *fleet.Fleet, bot string, image ImageFiles) (*Result, error) {
	p, err := r.plan(fl, bot, image)
	if err != nil {
		return nil, err
	}
	inst := r.InstanceDir(bot)
	res := &Result{Bot: bot, Dir: inst, Digest: p.digest.String()}
	for _, f := range p.files {
		res.Files = append(res.Files, File{Path: f.path, Digest: f.content.String()})
	}

	root, err := openInstance(inst)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, d := range ownedDirs {
		if err := ensureDir(root, d); err != nil {
			return nil, err
		}
	}
	// A render killed mid-write leaves a temporary file beside its target;
	// sweep them so no partial file outlives the crash.
	swept := map[string]bool{}
	for _, d := range append([]string{"."}, ownedDirs...) {
		swept[d] = true
	}
	for _, f := range p.files {
		swept[path.Dir(f.path)] = true
	}
	for d := range swept {
		if err := atomicfile.RemoveStale(filepath.Join(inst, filepath.FromSlash(d))); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{DataDir, LogsDir} {
		if err := ensureOwnDir(root, d); err != nil {
			return nil, err
		}
	}

	old := readManifest(inst)
	next := manifest{Version: manifestVersion, Digest: res.Digest, Files: map[string]manifestEntry{}}
	var errs []error
	for _, f := range p.files {
		entry, wrote, err := r.apply(root, f, old.Files[f.path])
		if err != nil {
			errs = append(errs, fmt.Errorf("bot %s: %s: %w", bot, f.path, err))
			if e, ok := old.Files[f.path]; ok {
				next.Files[f.path] = e // the old file is still there, as recorded
			}
			continue
		}
		next.Files[f.path] = entry
		if wrote {
			res.Written = append(res.Written, f.path)
		}
	}

	removed, err := removeConnectors(root, p)
	res.Removed = append(res.Removed, removed...)
	if err != nil {
		errs = append(errs, fmt.Errorf("bot %s: %w", bot, err))
	}
	for _, stale := range slices.Sorted(maps.Keys(old.Files)) {
		if _, ok := next.Files[stale]; ok || sharedTop(stale) == "" {
			continue
		}
		gone, err := removeShared(root, stale)
		if err != nil {
			errs = append(errs, fmt.Errorf("bot %s: %w", bot, err))
			next.Files[stale] = manifestEntry{} // keep it listed, so it is retried
			continue
		}
		if gone {
			res.Removed = append(res.Removed, stale)
		}
	}
	slices.Sort(res.Removed)

	if len(errs) > 0 {
		next.Digest = old.Digest // the folder is not yet all the new digest says
	}
	if !reflect.DeepEqual(old, next) {
		if err := writeManifest(inst, next); err != nil {
			errs = append(errs, fmt.Errorf("bot %s: %s: %w", bot, ManifestFile, err))
		}
	}
	return res, errors.Join(errs...)
}

// apply makes one file right and reports whether it wrote it.
func (r *Renderer) apply(root *os.Root, f *wantFile, old manifestEntry) (manifestEntry, bool, error) {
	if err := ensureDir(root, path.Dir(f.path)); err != nil {
		return old, false, err
	}
	have, modeOK, err := readInstanceFile(root, f.path)
	if err != nil {
		return old, false, err
	}
	entry := manifestEntry{Content: f.content.String()}
	var data []byte
	switch f.kind {
	case plainFile:
		if have != nil && modeOK && bytes.Equal(have, f.data) {
			return entry, false, nil
		}
		data = f.data
	case encryptedFile:
		if have != nil && modeOK && old.Content == entry.Content && old.Disk == r.diskDigest(have).String() {
			return old, false, nil
		}
		if data, err = f.build(); err != nil {
			return old, false, err
		}
		entry.Disk = r.diskDigest(data).String()
	case clientFile:
		entry.Keys = f.keys
		var dropped [][]string
		for _, k := range old.Keys {
			if !slices.ContainsFunc(f.keys, func(w []string) bool { return slices.Equal(w, k) }) {
				dropped = append(dropped, k)
			}
		}
		var changed bool
		if data, changed, err = overlayClientConfig(have, f.config, dropped); err != nil {
			return old, false, err
		}
		if !changed && modeOK {
			return entry, false, nil
		}
	}
	if err := writeFile(root, f.path, data, fileMode); err != nil {
		return old, false, err
	}
	return entry, true, nil
}

// removeConnectors deletes every file in conf/connectors/ that is not one
// of the bot's connectors. The folder is nectar's alone: a bot gets exactly
// the credentials the fleet gives it, whatever was put there by hand or by
// an earlier render (or a record of it lost with the manifest).
func removeConnectors(root *os.Root, p *plan) ([]string, error) {
	dirName := filepath.FromSlash(ConnectorsDir)
	dir, err := root.Open(dirName)
	if err != nil {
		return nil, atomicfile.RootPath(root, err)
	}
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return nil, atomicfile.RootPath(root, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var removed []string
	var errs []error
	for _, e := range entries {
		rel := ConnectorsDir + "/" + e.Name()
		if e.IsDir() || slices.ContainsFunc(p.files, func(f *wantFile) bool { return f.path == rel }) {
			continue
		}
		if err := root.Remove(filepath.Join(dirName, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: %w", rel, atomicfile.RootPath(root, err)))
			continue
		}
		removed = append(removed, rel)
	}
	if len(removed) > 0 {
		if err := dir.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeShared deletes a shared file the source no longer has, then the
// folders the removal left empty, up to its shared folder. rel has been
// checked with sharedTop.
func removeShared(root *os.Root, rel string) (bool, error) {
	name := filepath.FromSlash(rel)
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, atomicfile.RootPath(root, err)
	}
	if info.IsDir() {
		return false, nil // a folder now stands where nectar's file was; not nectar's
	}
	if err := atomicfile.RemoveIn(root, name); err != nil {
		return false, fmt.Errorf("%s: %w", rel, err)
	}
	top := sharedTop(rel)
	for d := path.Dir(rel); d != top && d != "."; d = path.Dir(d) {
		if root.Remove(filepath.FromSlash(d)) != nil {
			break // not empty
		}
	}
	return true, nil
}
