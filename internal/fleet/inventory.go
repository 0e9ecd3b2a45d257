package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
)

// inventory is what a walk of the source found: every file the checks may
// read, what each one is by its place in the layout, and what was refused
// before it could be read. It is built once and only read after that, so
// the checks that use it do not depend on one another's order.
type inventory struct {
	// accounts are the folders under accounts/ with valid names, as
	// account names, in walk order.
	accounts []string
	// credentials maps an account to the connector of each of its
	// <connector>.yml.age files, in walk order. A refused file counts
	// too: a bot using it is then Stalled instead of being recreated
	// without that connector.
	credentials map[string][]string
	// misnamed maps an account to its credential files whose names are no
	// connector names.
	misnamed map[string][]string
	// bots are the bots/<bot>.yml files with valid names, refused ones
	// included, so that a bot whose file cannot be read is reported
	// Stalled instead of looking deleted (and being pruned).
	bots []string
	// botLike are the entries of bots/ named *.yml that are no folders,
	// whatever their names: a bot name that differs from another only in
	// letter case clashes even when it is not a valid name.
	botLike []string
	// shared lists the files copied into every bot, sorted.
	shared []string
	// refused are the files rejected before reading (too large, a bad
	// symlink, not a regular file); their problems say why.
	refused map[string]bool
	// regular is every regular file (after the symlink checks).
	regular map[string]bool
	// problems are what the walk itself found wrong.
	problems []Problem
}

// walk checks every entry of the source once: symlinks, sizes, names and
// where files may sit; what it finds is the inventory the checks read.
func walk(fsys fs.FS) *inventory {
	w := &walker{fsys: fsys, inv: &inventory{
		credentials: map[string][]string{},
		misnamed:    map[string][]string{},
		refused:     map[string]bool{},
		regular:     map[string]bool{},
	}}
	err := fs.WalkDir(fsys, ".", w.visit)
	if err != nil {
		w.ps.add("", 0, 0, "", "cannot read the source: %v", err)
	}
	slices.Sort(w.inv.shared)
	w.inv.problems = w.ps.list
	return w.inv
}

// walker builds one inventory; nothing else sees it until the walk ends.
type walker struct {
	fsys fs.FS
	inv  *inventory
	ps   problems
}

func (w *walker) visit(p string, d fs.DirEntry, err error) error {
	if err != nil {
		w.ps.add(p, 0, 0, "", "cannot read: %v", err)
		if d != nil && d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if p == "." {
		return nil
	}
	base := path.Base(p)
	top, _, _ := strings.Cut(p, "/")
	if dir, name := path.Split(p); dir == BotsDir+"/" && !d.IsDir() && strings.HasSuffix(name, BotSuffix) {
		w.inv.botLike = append(w.inv.botLike, p)
	}
	if ignored(base, top) {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if len(base) > MaxNameBytes {
		w.ps.add(p, 0, 0, fmt.Sprintf("shorten the name to at most %d bytes", MaxNameBytes),
			"the name is %d bytes long: nectar copies files into every bot's folder beside temporary files of longer names, and file systems refuse names over 255 bytes", len(base))
		if d.IsDir() {
			return fs.SkipDir
		}
		w.refuse(p)
		return nil
	}
	if d.Type()&fs.ModeSymlink != 0 {
		isDir, ok := w.checkSymlink(p)
		if !ok {
			w.refuse(p)
			return nil
		}
		if isDir {
			w.ps.add(p, 0, 0, "replace the link with the folder itself", "symlinked folders are not followed")
			w.refuse(p)
			return nil
		}
	} else if d.IsDir() {
		return w.checkDir(p)
	} else if !d.Type().IsRegular() {
		w.ps.add(p, 0, 0, "", "not a regular file")
		w.refuse(p)
		return nil
	}
	w.checkFile(p)
	return nil
}

// ignored skips what people keep beside a fleet: dotfiles (except inside
// accounts/ and bots/, where a stray name is worth reporting) and Python
// caches.
func ignored(base, top string) bool {
	if base == "__pycache__" || base == ".gitkeep" || base == ".DS_Store" || base == ".git" {
		return true
	}
	return strings.HasPrefix(base, ".") && top != AccountsDir && top != BotsDir
}

// checkSymlink accepts a link that stays inside the fleet root, and out of
// accounts/ unless it starts there (scripts and configs are copied into
// every bot; an account's files never may be), and reports whether it
// points at a folder.
func (w *walker) checkSymlink(p string) (isDir, ok bool) {
	target, err := fs.ReadLink(w.fsys, p)
	if err != nil {
		w.ps.add(p, 0, 0, "", "cannot read symlink: %v", err)
		return false, false
	}
	real, err := resolveLink(w.fsys, p)
	if err == nil {
		// The kernel's own walk has the last word (and a loop may show
		// only there on a source that cannot report links).
		_, err = fs.Stat(w.fsys, p)
	}
	switch {
	case errors.Is(err, errLinkOutside):
		w.ps.add(p, 0, 0, "copy the file into the fleet source instead of linking to it",
			"symlink points outside the fleet root (to %s)", target)
		return false, false
	case errors.Is(err, errLinkLoop), errors.Is(err, syscall.ELOOP):
		w.ps.add(p, 0, 0, "point the link at the file itself, or replace it with the file",
			"symlink loop: following %s leads back to a link already followed", target)
		return false, false
	case errors.Is(err, fs.ErrNotExist):
		w.ps.add(p, 0, 0, "point the link at a file of the fleet, or remove it",
			"broken symlink: its target %s does not exist", target)
		return false, false
	case err != nil:
		w.ps.add(p, 0, 0, "", "cannot follow symlink: %v", err)
		return false, false
	}
	top, _, _ := strings.Cut(p, "/")
	realTop, _, _ := strings.Cut(real, "/")
	// EqualFold: on a case-insensitive file system Accounts/ is accounts/.
	if strings.EqualFold(realTop, AccountsDir) && !strings.EqualFold(top, AccountsDir) {
		w.ps.add(p, 0, 0, "remove the link: what it names would be copied into bots, and nothing of accounts/ ever may be",
			"symlink leads into accounts/ (to %s)", target)
		return false, false
	}
	info, err := fs.Stat(w.fsys, p)
	if err != nil {
		w.ps.add(p, 0, 0, "", "cannot follow symlink: %v", err)
		return false, false
	}
	return info.IsDir(), true
}

func (w *walker) checkDir(p string) error {
	parts := strings.Split(p, "/")
	switch parts[0] {
	case AccountsDir:
		if len(parts) == 1 {
			return nil
		}
		if len(parts) == 2 {
			if !ValidName(parts[1]) {
				w.ps.add(p, 0, 0, "account names use "+NameRule, "bad account name %q: %s", parts[1], nameProblem(parts[1]))
				return fs.SkipDir
			}
			w.inv.accounts = append(w.inv.accounts, parts[1])
			return nil
		}
		w.ps.add(p, 0, 0, "an account folder holds password.age and <connector>.yml.age files only", "unexpected folder")
		return fs.SkipDir
	case BotsDir:
		if len(parts) > 1 {
			w.ps.add(p, 0, 0, "bots/ holds one <bot>.yml file per bot, with no sub-folders", "unexpected folder")
			return fs.SkipDir
		}
	case ConfDir:
		if len(parts) == 2 && parts[1] != ScriptsDir && parts[1] != ControllersDir && parts[1] != StrategiesDir {
			w.ps.add(p, 0, 0, "conf/ holds scripts/, controllers/ and strategies/ only", "unexpected folder")
			return fs.SkipDir
		}
	}
	return nil
}

func (w *walker) checkFile(p string) {
	info, err := fs.Stat(w.fsys, p)
	if err != nil {
		w.ps.add(p, 0, 0, "", "cannot read: %v", err)
		return
	}
	if info.Size() > MaxFileSize {
		w.ps.readFailed(p, errTooLarge)
		w.refuse(p)
		return
	}
	inv := w.inv
	parts := strings.Split(p, "/")
	base := parts[len(parts)-1]
	switch parts[0] {
	case AccountsDir:
		if len(parts) != 3 {
			w.ps.add(p, 0, 0, "accounts/ holds one folder per account", "unexpected file")
			return
		}
		if !ValidName(parts[1]) {
			return // reported with the folder
		}
		switch {
		case base == PasswordFile:
		case strings.HasSuffix(base, CredentialSuffix):
			name := strings.TrimSuffix(base, CredentialSuffix)
			if !ValidName(name) {
				w.ps.add(p, 0, 0, "credential files are named <connector>.yml.age after Hummingbot's connector names, e.g. binance.yml.age",
					"bad connector name %q: %s", name, nameProblem(name))
				inv.misnamed[parts[1]] = append(inv.misnamed[parts[1]], p)
				return
			}
			inv.credentials[parts[1]] = append(inv.credentials[parts[1]], name)
		case strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml"):
			w.ps.add(p, 0, 0, fmt.Sprintf("encrypt it with `nectar cred add %s <connector> < %s`, then delete this file and remove it from version control history", parts[1], base),
				"plaintext file in an account folder: credentials must be age-encrypted")
			return
		default:
			w.ps.add(p, 0, 0, "an account folder holds password.age and <connector>.yml.age files only", "unexpected file")
			return
		}
	case BotsDir:
		if len(parts) != 2 {
			return
		}
		name, ok := strings.CutSuffix(base, BotSuffix)
		if !ok {
			w.ps.add(p, 0, 0, "bot files are named <bot>.yml", "unexpected file in bots/")
			return
		}
		if !ValidName(name) {
			w.ps.add(p, 0, 0, "bot names (the file name) use "+NameRule, "bad bot name %q: %s", name, nameProblem(name))
			return
		}
		inv.bots = append(inv.bots, p)
	case ScriptsDir, ControllersDir:
		inv.shared = append(inv.shared, p)
	case ConfDir:
		if len(parts) < 3 {
			w.ps.add(p, 0, 0, "conf/ holds scripts/, controllers/ and strategies/ configs; Hummingbot client settings go under client_config in nectar.yaml or the bot file",
				"unexpected file in conf/")
			return
		}
		inv.shared = append(inv.shared, p)
	}
	inv.regular[p] = true
}

// refuse notes a file rejected before it could be read (too large, a bad
// symlink, not a regular file) and, when its place says what it is, still
// counts it as that: a bot file is still listed, so the bot is reported
// Stalled instead of looking deleted (and pruned); a credential still
// counts as the account's, so a bot using it is Stalled instead of being
// recreated without that connector.
func (w *walker) refuse(p string) {
	inv := w.inv
	inv.refused[p] = true
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && parts[0] == BotsDir:
		if name, ok := strings.CutSuffix(parts[1], BotSuffix); ok && ValidName(name) {
			inv.bots = append(inv.bots, p)
		}
	case len(parts) == 3 && parts[0] == AccountsDir && ValidName(parts[1]):
		if name, ok := strings.CutSuffix(parts[2], CredentialSuffix); ok && ValidName(name) {
			inv.credentials[parts[1]] = append(inv.credentials[parts[1]], name)
		}
	}
}
