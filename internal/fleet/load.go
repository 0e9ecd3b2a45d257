package fleet

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/capread"
	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/secrets"

	"github.com/nectarhq/nectar/internal/hint"
)

// Options control a load.
type Options struct {
	// Identities decrypt the fleet's age files. When nil, nothing is
	// decrypted: accounts, credentials and bots are still listed and the
	// plaintext files checked, which is enough for listing commands.
	Identities *secrets.Identities
}

// Load reads the fleet in fsys. It never fails as a whole: everything that
// is wrong is in the returned Fleet's Problems.
func Load(fsys fs.FS, opts Options) *Fleet {
	l := &loader{fsys: fsys, opts: opts}
	f := &Fleet{
		FS:       fsys,
		Accounts: map[string]*Account{},
		Bots:     map[string]*Bot{},
		Prune:    true,
		shared:   &sync.Map{},
	}
	l.loadSettings(f)
	l.walk(f)
	l.checkSharedSecrets(f)
	l.loadAccounts(f)
	l.loadBots(f)
	l.loadFleetWide(f)
	f.Problems = dedupe(l.ps.list)
	sortProblems(f.Problems)
	return f
}

type loader struct {
	fsys fs.FS
	opts Options
	ps   problems

	accountDirs []string            // accounts/<name>, valid names only
	accountFile map[string][]string // account → credential connector names found
	botFiles    []string            // bots/<bot>.yml with valid names
	unreadable  map[string]bool     // files rejected before reading (too large, a bad symlink, not regular)
	badCreds    map[string][]string // account → credential files whose names are not connector names
	regular     map[string]bool     // every regular file (after symlink checks)
	// settingsOK is set once nectar.yaml has loaded: until then the
	// defaults are unknown, and a bot relying on them is not at fault.
	settingsOK bool
	// extraConnectors are the connectors nectar.yaml lets through
	// without Hummingbot's field table (extra_connectors).
	extraConnectors map[string]bool
	// anyConnector lets every connector through: a credential checked on
	// its own, before nectar.yaml is known.
	anyConnector bool
	// defaultCC holds the problems of defaults.client_config alone, so a
	// bot's merged config does not report them again.
	defaultCC []string
	// configs holds each config file read so far: many bots often run
	// the same one, which is read, parsed and reported once.
	configs map[string]readConfig
}

// readConfig is one config file as read: its mapping and document, nil
// when it could not be read as one (its problems reported once).
type readConfig struct {
	m   map[string]any
	doc *document
}

// readFile reads one file of the source, enforcing the size cap.
func (l *loader) readFile(name string) ([]byte, error) {
	return capread.ReadFile(l.fsys, name, MaxFileSize, errTooLarge)
}

var errTooLarge = fmt.Errorf("file is larger than %d bytes (1 MiB)", MaxFileSize)

func (l *loader) readProblem(file string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.ps.add(file, 0, 0, "", "file not found")
	case errors.Is(err, errTooLarge):
		l.ps.add(file, 0, 0, "nectar reads files of at most 1 MiB; keep large data out of the fleet source", "%v", err)
	default:
		l.ps.add(file, 0, 0, "", "cannot read: %v", err)
	}
}

func (l *loader) yamlProblem(file string, err error, hint string) {
	var ye *errYAML
	if errors.As(err, &ye) {
		l.ps.add(file, ye.line, 0, cmp.Or(ye.hint, hint), "%s", ye.msg)
		return
	}
	l.ps.add(file, 0, 0, hint, "%v", err)
}

// fleetYAML is nectar.yaml after schema validation.
type fleetYAML struct {
	Fleet      string   `yaml:"fleet"`
	Recipients []string `yaml:"recipients"`
	Prune      *bool    `yaml:"prune"`
	// MaxParallelRestarts is bounded by the schema.
	MaxParallelRestarts int      `yaml:"max_parallel_restarts"`
	ExtraConnectors     []string `yaml:"extra_connectors"`
	Engine              string   `yaml:"engine"`
	Defaults            struct {
		Image       string         `yaml:"image"`
		Network     string         `yaml:"network"`
		Restart     string         `yaml:"restart"`
		Env         map[string]any `yaml:"env"`
		Resources   resourcesYAML  `yaml:"resources"`
		Launch      string         `yaml:"launch"`
		StopTimeout string         `yaml:"stop_timeout"`
	} `yaml:"defaults"`
}

type resourcesYAML struct {
	CPUs   any    `yaml:"cpus"`
	Memory string `yaml:"memory"`
}

func (r resourcesYAML) resources() Resources {
	out := Resources{Memory: r.Memory}
	if r.CPUs != nil {
		out.CPUs = fmt.Sprint(r.CPUs)
	}
	return out
}

func (l *loader) loadSettings(f *Fleet) {
	data, err := l.readFile(SettingsFile)
	if errors.Is(err, fs.ErrNotExist) {
		l.ps.add(SettingsFile, 0, 0, "run `nectar init` in the fleet folder, or point --source at the folder that holds nectar.yaml",
			"nectar.yaml not found: this is not a fleet source")
		return
	}
	if err != nil {
		l.readProblem(SettingsFile, err)
		return
	}
	doc, err := parseYAML(data)
	if err != nil {
		l.yamlProblem(SettingsFile, err, "")
		return
	}
	before := len(l.ps.list)
	validateSchema(&l.ps, SettingsFile, schemaFleet, doc, false)
	if len(l.ps.list) > before {
		return
	}
	var y fleetYAML
	if err := doc.root.Decode(&y); err != nil {
		l.yamlProblem(SettingsFile, err, "")
		return
	}
	f.Name, f.Recipients = y.Fleet, y.Recipients
	if y.Prune != nil {
		f.Prune = *y.Prune
	}
	for i, r := range y.Recipients {
		if _, err := secrets.ParseRecipients([]string{r}); err != nil {
			n := locate(doc.root, []string{"recipients", fmt.Sprint(i)}, false)
			why := ""
			var re *secrets.RecipientError
			if errors.As(err, &re) {
				why = ": " + re.Reason
			}
			l.ps.add(SettingsFile, n.Line, n.Column, "recipients are age public keys (age1...) or ssh-ed25519/ssh-rsa public keys; `nectar keygen` prints one",
				"recipient %d is not a valid age recipient%s", i+1, why)
		}
	}
	f.MaxParallelRestarts = cmp.Or(y.MaxParallelRestarts, DefaultMaxParallelRestarts)
	f.Engine = cmp.Or(y.Engine, EngineDocker)
	l.loadExtraConnectors(f, doc, y.ExtraConnectors)
	d := &f.Defaults
	d.Image, d.Network, d.Restart = y.Defaults.Image, y.Defaults.Network, y.Defaults.Restart
	d.Launch = cmp.Or(y.Defaults.Launch, LaunchHbot)
	d.StopTimeout = l.stopTimeout(SettingsFile, doc, []string{"defaults", "stop_timeout"}, y.Defaults.StopTimeout, DefaultStopTimeout)
	d.Env = envStrings(y.Defaults.Env)
	d.ClientConfig = mapAt(mapAt(doc.value, "defaults"), "client_config")
	l.checkClientConfigDefaults(doc, d.ClientConfig)
	d.Resources = y.Defaults.Resources.resources()
	l.checkEnv(SettingsFile, doc.root, []string{"defaults", "env"}, d.Env)
	l.loadServiceSettings(f, doc)
	l.settingsOK = true
}

// mapAt returns the mapping under key, or nil. It reads the converted
// document rather than a decoded struct so numbers keep one type (int64).
func mapAt(v any, key string) map[string]any {
	m, _ := v.(map[string]any)
	sub, _ := m[key].(map[string]any)
	return sub
}

func envStrings(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

func (l *loader) checkEnv(file string, root *yaml.Node, path []string, env map[string]string) {
	for _, k := range reservedEnv {
		if _, ok := env[k]; ok {
			n := locate(root, append(slices.Clone(path), k), true)
			hint := "nectar sets it from the bot's fields (config, launch, headless)"
			if k == "CONFIG_PASSWORD" || k == "HBOT_PASSWORD" {
				hint = "the password comes from accounts/<account>/password.age; never put it in plaintext"
			}
			l.ps.add(file, n.Line, n.Column, hint, "env may not set %s", k)
		}
	}
}

// walk checks every entry of the source once: symlinks, sizes, names and
// where files may sit. It records what the later steps read.
func (l *loader) walk(f *Fleet) {
	l.accountFile = map[string][]string{}
	l.regular = map[string]bool{}
	l.unreadable = map[string]bool{}
	l.badCreds = map[string][]string{}
	err := fs.WalkDir(l.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.ps.add(p, 0, 0, "", "cannot read: %v", err)
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
		if ignored(base, top) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if len(base) > MaxNameBytes {
			l.ps.add(p, 0, 0, fmt.Sprintf("shorten the name to at most %d bytes", MaxNameBytes),
				"the name is %d bytes long: nectar copies files into every bot's folder beside temporary files of longer names, and file systems refuse names over 255 bytes", len(base))
			if d.IsDir() {
				return fs.SkipDir
			}
			l.claim(p)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			isDir, ok := l.checkSymlink(p)
			if !ok {
				l.claim(p)
				return nil
			}
			if isDir {
				l.ps.add(p, 0, 0, "replace the link with the folder itself", "symlinked folders are not followed")
				l.claim(p)
				return nil
			}
		} else if d.IsDir() {
			return l.checkDir(p)
		} else if !d.Type().IsRegular() {
			l.ps.add(p, 0, 0, "", "not a regular file")
			l.claim(p)
			return nil
		}
		l.checkFile(f, p)
		return nil
	})
	if err != nil {
		l.ps.add("", 0, 0, "", "cannot read the source: %v", err)
	}
	slices.Sort(f.Shared)
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
func (l *loader) checkSymlink(p string) (isDir, ok bool) {
	target, err := fs.ReadLink(l.fsys, p)
	if err != nil {
		l.ps.add(p, 0, 0, "", "cannot read symlink: %v", err)
		return false, false
	}
	real, err := resolveLink(l.fsys, p)
	if err == nil {
		// The kernel's own walk has the last word (and a loop may show
		// only there on a source that cannot report links).
		_, err = fs.Stat(l.fsys, p)
	}
	switch {
	case errors.Is(err, errLinkOutside):
		l.ps.add(p, 0, 0, "copy the file into the fleet source instead of linking to it",
			"symlink points outside the fleet root (to %s)", target)
		return false, false
	case errors.Is(err, errLinkLoop), errors.Is(err, syscall.ELOOP):
		l.ps.add(p, 0, 0, "point the link at the file itself, or replace it with the file",
			"symlink loop: following %s leads back to a link already followed", target)
		return false, false
	case errors.Is(err, fs.ErrNotExist):
		l.ps.add(p, 0, 0, "point the link at a file of the fleet, or remove it",
			"broken symlink: its target %s does not exist", target)
		return false, false
	case err != nil:
		l.ps.add(p, 0, 0, "", "cannot follow symlink: %v", err)
		return false, false
	}
	top, _, _ := strings.Cut(p, "/")
	realTop, _, _ := strings.Cut(real, "/")
	// EqualFold: on a case-insensitive file system Accounts/ is accounts/.
	if strings.EqualFold(realTop, AccountsDir) && !strings.EqualFold(top, AccountsDir) {
		l.ps.add(p, 0, 0, "remove the link: what it names would be copied into bots, and nothing of accounts/ ever may be",
			"symlink leads into accounts/ (to %s)", target)
		return false, false
	}
	info, err := fs.Stat(l.fsys, p)
	if err != nil {
		l.ps.add(p, 0, 0, "", "cannot follow symlink: %v", err)
		return false, false
	}
	return info.IsDir(), true
}

func (l *loader) checkDir(p string) error {
	parts := strings.Split(p, "/")
	switch parts[0] {
	case AccountsDir:
		if len(parts) == 1 {
			return nil
		}
		if len(parts) == 2 {
			if !ValidName(parts[1]) {
				l.ps.add(p, 0, 0, "account names use "+NameRule, "bad account name %q: %s", parts[1], nameProblem(parts[1]))
				return fs.SkipDir
			}
			l.accountDirs = append(l.accountDirs, p)
			return nil
		}
		l.ps.add(p, 0, 0, "an account folder holds password.age and <connector>.yml.age files only", "unexpected folder")
		return fs.SkipDir
	case BotsDir:
		if len(parts) > 1 {
			l.ps.add(p, 0, 0, "bots/ holds one <bot>.yml file per bot, with no sub-folders", "unexpected folder")
			return fs.SkipDir
		}
	case ConfDir:
		if len(parts) == 2 && parts[1] != ScriptsDir && parts[1] != ControllersDir && parts[1] != StrategiesDir {
			l.ps.add(p, 0, 0, "conf/ holds scripts/, controllers/ and strategies/ only", "unexpected folder")
			return fs.SkipDir
		}
	}
	return nil
}

func (l *loader) checkFile(f *Fleet, p string) {
	info, err := fs.Stat(l.fsys, p)
	if err != nil {
		l.ps.add(p, 0, 0, "", "cannot read: %v", err)
		return
	}
	if info.Size() > MaxFileSize {
		l.readProblem(p, errTooLarge)
		l.claim(p)
		return
	}
	parts := strings.Split(p, "/")
	base := parts[len(parts)-1]
	switch parts[0] {
	case AccountsDir:
		if len(parts) != 3 {
			l.ps.add(p, 0, 0, "accounts/ holds one folder per account", "unexpected file")
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
				l.ps.add(p, 0, 0, "credential files are named <connector>.yml.age after Hummingbot's connector names, e.g. binance.yml.age",
					"bad connector name %q: %s", name, nameProblem(name))
				l.badCreds[parts[1]] = append(l.badCreds[parts[1]], p)
				return
			}
			l.accountFile[parts[1]] = append(l.accountFile[parts[1]], name)
		case strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml"):
			l.ps.add(p, 0, 0, fmt.Sprintf("encrypt it with `nectar cred add %s <connector> < %s`, then delete this file and remove it from version control history", parts[1], base),
				"plaintext file in an account folder: credentials must be age-encrypted")
			return
		default:
			l.ps.add(p, 0, 0, "an account folder holds password.age and <connector>.yml.age files only", "unexpected file")
			return
		}
	case BotsDir:
		if len(parts) != 2 {
			return
		}
		name, ok := strings.CutSuffix(base, BotSuffix)
		if !ok {
			l.ps.add(p, 0, 0, "bot files are named <bot>.yml", "unexpected file in bots/")
			return
		}
		if !ValidName(name) {
			l.ps.add(p, 0, 0, "bot names (the file name) use "+NameRule, "bad bot name %q: %s", name, nameProblem(name))
			return
		}
		l.botFiles = append(l.botFiles, p)
	case ScriptsDir, ControllersDir:
		f.Shared = append(f.Shared, p)
	case ConfDir:
		if len(parts) < 3 {
			l.ps.add(p, 0, 0, "conf/ holds scripts/, controllers/ and strategies/ configs; Hummingbot client settings go under client_config in nectar.yaml or the bot file",
				"unexpected file in conf/")
			return
		}
		f.Shared = append(f.Shared, p)
	}
	l.regular[p] = true
}

// claim notes a file rejected before it could be read (too large, a bad
// symlink, not a regular file) whose place says what it is. A bot file is
// still listed, so the bot is reported Stalled instead of looking deleted
// (and pruned); a credential still counts as the account's, so a bot using
// it is Stalled instead of being recreated without that connector.
func (l *loader) claim(p string) {
	l.unreadable[p] = true
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && parts[0] == BotsDir:
		if name, ok := strings.CutSuffix(parts[1], BotSuffix); ok && ValidName(name) {
			l.botFiles = append(l.botFiles, p)
		}
	case len(parts) == 3 && parts[0] == AccountsDir && ValidName(parts[1]):
		if name, ok := strings.CutSuffix(parts[2], CredentialSuffix); ok && ValidName(name) {
			l.accountFile[parts[1]] = append(l.accountFile[parts[1]], name)
		}
	}
}

func (l *loader) loadAccounts(f *Fleet) {
	for _, dir := range l.accountDirs {
		name := path.Base(dir)
		a := &Account{Name: name, Credentials: map[string]*Credential{}}
		a.Connectors = l.accountFile[name]
		slices.Sort(a.Connectors)
		f.Accounts[name] = a
		pw := dir + "/" + PasswordFile
		if !l.regular[pw] {
			l.ps.add(pw, 0, 0, fmt.Sprintf("create it with `nectar account create %s`", name), "account %s has no password.age", name)
		} else if l.opts.Identities != nil {
			l.loadPassword(a, pw)
		}
		if l.opts.Identities == nil {
			continue
		}
		for _, c := range a.Connectors {
			if l.unreadable[credentialPath(name, c)] {
				continue // its problem is already reported
			}
			if cred := l.loadCredential(name, c); cred != nil {
				a.Credentials[c] = cred
			}
		}
	}
}

// decrypt reads and decrypts one age file, reporting failures with hints.
func (l *loader) decrypt(file string) ([]byte, bool) {
	data, err := l.readFile(file)
	if err != nil {
		l.readProblem(file, err)
		return nil, false
	}
	plain, err := secrets.Decrypt(data, l.opts.Identities)
	if err != nil {
		l.ps.add(file, 0, 0, decryptHint(err), "cannot decrypt: %v", err)
		return nil, false
	}
	return plain, true
}

func decryptHint(err error) string {
	var nfy *secrets.NotForYouError
	switch {
	case errors.As(err, &nfy):
		return "pass the identity it was encrypted to with --identity (or NECTAR_AGE_KEY_FILE); " +
			"or have someone who can read it add your recipient to nectar.yaml and run `nectar rekey`"
	case errors.Is(err, secrets.ErrTruncated), errors.Is(err, secrets.ErrCorrupt):
		return "restore the file from version control, or write it again with `nectar cred add` / `nectar account create`"
	case errors.Is(err, secrets.ErrTooLarge):
		return "age files in a fleet hold one password or one credential, far below 1 MiB"
	}
	return ""
}

func (l *loader) loadPassword(a *Account, file string) {
	plain, ok := l.decrypt(file)
	if !ok {
		return
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(plain), "\n"), "\r")
	if why := PasswordProblem(pw); why != "" {
		l.ps.add(file, 0, 0, fmt.Sprintf("remove the file and run `nectar account create %s` to write a new random password", a.Name), "%s", why)
		return
	}
	a.Password = Secret(pw)
}

// PasswordProblem says what makes pw unusable as a bot's config password,
// or "" when it is fine. The password travels in the container's
// environment: an engine refuses a NUL there and quotes the whole entry in
// its error, and other control characters or bytes that are not UTF-8 are
// mangled on the way or by Hummingbot's prompt. Blanks alone are kept:
// Hummingbot accepts them, and an imported account may have one. The
// reasons never quote the password.
func PasswordProblem(pw string) string {
	switch {
	case pw == "":
		return "the password is empty"
	case strings.ContainsAny(pw, "\r\n"):
		return "the password spans several lines"
	case !utf8.ValidString(pw):
		return "the password is not valid UTF-8 text"
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "the password holds a control character (a NUL, a tab or another invisible byte), which cannot travel safely in a container's environment"
	}
	return ""
}

func (l *loader) loadCredential(account, conn string) *Credential {
	file := credentialPath(account, conn)
	plain, ok := l.decrypt(file)
	if !ok {
		return nil
	}
	return l.parseCredential(file, account, conn, plain)
}

// ParseCredential checks the plaintext of a credential file as Load would,
// for commands that are about to encrypt one.
func ParseCredential(account, conn string, plain []byte) (*Credential, []Problem) {
	l := loader{anyConnector: true}
	cred := l.parseCredential(credentialPath(account, conn), account, conn, plain)
	sortProblems(l.ps.list)
	return cred, l.ps.list
}

func (l *loader) parseCredential(file, account, conn string, plain []byte) *Credential {
	if len(plain) > MaxFileSize {
		l.readProblem(file, errTooLarge)
		return nil
	}
	hint := fmt.Sprintf("line numbers refer to the decrypted text; open it with `nectar cred edit %s %s`", account, conn)
	doc, err := parseYAML(plain)
	if err != nil {
		var ye *errYAML
		if errors.As(err, &ye) && ye.ownWords {
			l.ps.add(file, ye.line, 0, ye.hint+"; "+hint, "%s", ye.msg)
			return nil
		}
		if errors.As(err, &ye) {
			// The YAML parser's messages may quote the text around the
			// error, which here is secret: keep only the position.
			// Its hint is nectar's own words, naming no text of the file.
			l.ps.add(file, ye.line, 0, strings.TrimPrefix(ye.hint+"; "+hint, "; "), "invalid YAML in the credential (only its position is shown: the text may be secret)")
			return nil
		}
		l.ps.add(file, 0, 0, hint, "invalid YAML in the credential (only its position is shown: the text may be secret)")
		return nil
	}
	before := len(l.ps.list)
	validateSchema(&l.ps, file, schemaCredential, doc, true)
	if len(l.ps.list) > before {
		return nil
	}
	cred := &Credential{Account: account}
	for _, kv := range mapPairs(doc.root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "connector":
			cred.Connector = v.Value
		case "secrets":
			for _, s := range mapPairs(v) {
				cred.Secrets = append(cred.Secrets, SecretField{Name: s[0].Value, Value: Secret(s[1].Value)})
			}
		case "settings":
			m := doc.value.(map[string]any)["settings"].(map[string]any)
			for _, s := range mapPairs(v) {
				cred.Settings = append(cred.Settings, Field{Name: s[0].Value, Value: m[s[0].Value]})
			}
		}
	}
	if cred.Connector != conn {
		n := locate(doc.root, []string{"connector"}, false)
		l.ps.add(file, n.Line, n.Column, fmt.Sprintf("rename the file to %s%s, or set `connector: %s`", cred.Connector, CredentialSuffix, conn),
			"connector %q does not match the file name (%s)", cred.Connector, conn)
		return nil
	}
	if !l.checkConnectorFields(file, doc, cred, hint) {
		return nil
	}
	return cred
}

// checkConnectorFields holds a credential of a connector Hummingbot's table
// knows to what Hummingbot will accept at start: the rules are the
// connector's (Spec.Check); here they are placed at their lines.
func (l *loader) checkConnectorFields(file string, doc *document, cred *Credential, lineHint string) bool {
	before := len(l.ps.list)
	for _, s := range cred.Secrets {
		if s.Value == "" {
			n := locate(doc.root, []string{"secrets", s.Name}, false)
			l.ps.add(file, n.Line, n.Column, lineHint, "secret %s is empty", s.Name)
		}
	}
	spec, known := connector.Lookup(cred.Connector)
	if !known {
		l.unknownConnector(file, doc, cred.Connector)
		return len(l.ps.list) == before
	}
	for _, p := range spec.Check(credentialEntries(cred)) {
		line, col := fieldPosition(doc, p)
		hint := p.Hint
		if p.Fault != connector.UnknownField {
			hint += "; " + lineHint
		}
		l.ps.add(file, line, col, hint, "%s", p.Message)
	}
	return len(l.ps.list) == before
}

// credentialEntries lists a credential's fields for the connector's
// check: its secrets, then its settings, each in file order.
func credentialEntries(cred *Credential) []connector.Entry {
	out := make([]connector.Entry, 0, len(cred.Secrets)+len(cred.Settings))
	for _, s := range cred.Secrets {
		out = append(out, connector.Entry{Name: s.Name, Secret: true})
	}
	for _, s := range cred.Settings {
		out = append(out, connector.Entry{Name: s.Name, Value: s.Value})
	}
	return out
}

// fieldPosition is where a connector's problem sits in the credential: a
// bad value at the value, a missing field at the top of the file, any
// other at the field's name.
func fieldPosition(doc *document, p connector.Problem) (int, int) {
	under := "settings"
	if p.Secret {
		under = "secrets"
	}
	switch p.Fault {
	case connector.MissingField:
		return 1, 1
	case connector.BadValue:
		n := locate(doc.root, []string{under, p.Field}, false)
		return n.Line, n.Column
	}
	n := locate(doc.root, []string{under, p.Field}, true)
	return n.Line, n.Column
}

// botYAML is a bot file after schema validation.
type botYAML struct {
	Account      string         `yaml:"account"`
	State        string         `yaml:"state"`
	Hold         bool           `yaml:"hold"`
	Connectors   []string       `yaml:"connectors"`
	Image        string         `yaml:"image"`
	Config       string         `yaml:"config"`
	ScriptConfig string         `yaml:"script_config"`
	Script       string         `yaml:"script"`
	Launch       string         `yaml:"launch"`
	StopTimeout  string         `yaml:"stop_timeout"`
	Headless     bool           `yaml:"headless"`
	Env          map[string]any `yaml:"env"`
	Network      string         `yaml:"network"`
	Restart      string         `yaml:"restart"`
	Resources    *resourcesYAML `yaml:"resources"`
	Node         string         `yaml:"node"`
}

func (l *loader) loadBots(f *Fleet) {
	lower := map[string]string{}
	for _, file := range l.botFiles {
		name := strings.TrimSuffix(path.Base(file), BotSuffix)
		if other, dup := lower[strings.ToLower(name)]; dup {
			l.ps.add(file, 0, 0, "container names ignore case on some systems; rename one of them", "bot name differs from %s only in letter case", other)
		}
		lower[strings.ToLower(name)] = file
		// The bot is listed even when its file is broken, so that it is
		// reported Stalled and never mistaken for a deleted bot.
		b := &Bot{Name: name, File: file}
		f.Bots[name] = b
		if !l.unreadable[file] {
			l.loadBot(f, b)
		}
	}
	// A bot whose name is not a valid name (say Alpha.yml) is not loaded,
	// but another bot that differs from it only in case should still hear
	// of the clash.
	for _, file := range l.allBotFiles() {
		name := strings.TrimSuffix(path.Base(file), BotSuffix)
		if ValidName(name) {
			continue
		}
		if other, dup := lower[strings.ToLower(name)]; dup {
			l.ps.add(file, 0, 0, "rename it in lower case, to a name no other bot has", "bot name differs from %s only in letter case", other)
		}
	}
}

func (l *loader) allBotFiles() []string {
	entries, _ := fs.ReadDir(l.fsys, BotsDir)
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), BotSuffix) {
			out = append(out, BotsDir+"/"+e.Name())
		}
	}
	return out
}

func (l *loader) loadBot(f *Fleet, b *Bot) {
	data, err := l.readFile(b.File)
	if err != nil {
		l.readProblem(b.File, err)
		return
	}
	doc, err := parseYAML(data)
	if err != nil {
		l.yamlProblem(b.File, err, "")
		return
	}
	// Read the account even from a file with other problems, so commands
	// such as `account delete` know which bots use an account.
	if m, ok := doc.value.(map[string]any); ok {
		b.Account, _ = m["account"].(string)
	}
	if !validateSchema(&l.ps, b.File, schemaBot, doc, false) {
		return
	}
	var y botYAML
	if err := doc.root.Decode(&y); err != nil {
		l.yamlProblem(b.File, err, "")
		return
	}
	d := f.Defaults
	b.Account, b.Hold, b.Headless = y.Account, y.Hold, y.Headless
	b.State = cmp.Or(y.State, StateRunning)
	b.Image = cmp.Or(y.Image, d.Image)
	b.Network = cmp.Or(y.Network, d.Network)
	b.Restart = cmp.Or(y.Restart, d.Restart)
	b.Launch = cmp.Or(y.Launch, d.Launch)
	b.Node = y.Node
	b.StopTimeout = l.stopTimeout(b.File, doc, []string{"stop_timeout"}, y.StopTimeout, d.StopTimeout)
	b.Resources = d.Resources
	if y.Resources != nil {
		r := y.Resources.resources()
		b.Resources = Resources{CPUs: cmp.Or(r.CPUs, d.Resources.CPUs), Memory: cmp.Or(r.Memory, d.Resources.Memory)}
	}
	b.Env = maps.Clone(d.Env)
	if b.Env == nil {
		b.Env = map[string]string{}
	}
	botEnv := envStrings(y.Env)
	maps.Copy(b.Env, botEnv)
	l.checkEnv(b.File, doc.root, []string{"env"}, botEnv)
	b.ClientConfig = mergeConfig(d.ClientConfig, mapAt(doc.value, "client_config"))
	l.checkClientConfigPassword(b.File, doc, []string{"client_config"})
	l.checkClientConfig(b, doc)

	at := func(key string) (int, int) {
		n := locate(doc.root, []string{key}, false)
		return n.Line, n.Column
	}
	if b.Image == "" && l.settingsOK {
		line, col := at("account")
		l.ps.add(b.File, line, col, "set image: in the bot file, or defaults.image in nectar.yaml (e.g. hummingbot/hummingbot:2.16.0)", "no image for bot %s", b.Name)
	}
	acct, ok := f.Accounts[b.Account]
	if !ok {
		line, col := at("account")
		l.ps.add(b.File, line, col, fmt.Sprintf("create it with `nectar account create %s`, or name one of: %s", b.Account, strings.Join(slices.Sorted(maps.Keys(f.Accounts)), ", ")),
			"account %q does not exist (no folder accounts/%s)", b.Account, b.Account)
		return
	}
	if y.Connectors == nil {
		b.Connectors = slices.Clone(acct.Connectors)
		// The bot takes every connector of the account, and the account
		// holds a credential nectar cannot name: starting the bot without
		// it could drop a connector it runs with, so it waits.
		for _, bad := range l.badCreds[b.Account] {
			line, col := at("account")
			l.ps.add(b.File, line, col, "fix the file's name (see its own problem), or list this bot's connectors: explicitly",
				"account %s holds %s, which nectar cannot use; this bot takes all of the account's connectors", b.Account, bad)
		}
	} else {
		b.Connectors = slices.Clone(y.Connectors)
		slices.Sort(b.Connectors)
		for i, c := range y.Connectors {
			if !slices.Contains(acct.Connectors, c) {
				n := locate(doc.root, []string{"connectors", fmt.Sprint(i)}, false)
				l.ps.add(b.File, n.Line, n.Column, l.missingConnectorHint(b.Account, c, acct.Connectors),
					"account %s has no credential for connector %s (no %s)", b.Account, c, credentialPath(b.Account, c))
			}
		}
	}
	l.checkLaunch(b, y, at)
}

// missingConnectorHint is the hint for a bot naming connector c, which its
// account has no credential for. A name a typo away from one the account
// has is most likely that one misspelt; a name Hummingbot does not have
// is no use adding; otherwise the credential is what is missing.
func (l *loader) missingConnectorHint(account, c string, has []string) string {
	add := fmt.Sprintf("add it with `nectar cred add %s %s`", account, c)
	best, bestDist := "", max(2, len(c)/4)+1
	for _, h := range has {
		d := hint.Distance(c, h, false)
		if len(c) >= 4 && strings.HasPrefix(h, c) {
			d = min(d, bestDist-1) // cut short: hyperliquid_perp
		}
		if d < bestDist {
			best, bestDist = h, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s? account %s has a credential for it; if the bot needs %s as well, %s", best, account, c, add)
	}
	if _, known := connector.Lookup(c); !known && !l.extraConnectors[c] {
		if close := connector.Suggest(c); len(close) > 0 {
			return fmt.Sprintf("%s is not a connector of Hummingbot %s: did you mean %s?", c, connector.HummingbotVersion, strings.Join(close, " or "))
		}
	}
	return add
}

// checkLaunch finds the config a bot runs and checks that its launch can
// run it, as hbot and Hummingbot's quickstart would at start.
func (l *loader) checkLaunch(b *Bot, y botYAML, at func(key string) (int, int)) {
	if b.Launch == LaunchHbot {
		if v, ok := hummingbotVersion(b.Image); ok && v.older(2, 16) {
			key := "launch"
			if y.Launch == "" {
				key = "account"
				if y.Image != "" {
					key = "image"
				}
			}
			line, col := at(key)
			l.ps.add(b.File, line, col,
				"set launch: classic for this image (its stops are kills: open orders may remain), or run hummingbot/hummingbot:version-2.16.0 or later",
				"image %s is Hummingbot %d.%d, which has no hbot launcher (2.16 and later): the bot would not start", b.Image, v.major, v.minor)
			return
		}
	}
	name, key := y.Config, "config"
	switch {
	case y.Script != "":
		line, col := at("script")
		l.ps.add(b.File, line, col,
			"name the script in a V2 script config (script_file_name: "+y.Script+" in conf/scripts/<name>.yml) and set config: <name>.yml",
			"script: is no longer used: Hummingbot 2.13 and later read CONFIG_FILE_NAME as a V1 strategy in conf/strategies/, so a script there makes the bot exit at start")
		return
	case y.Config != "" && y.ScriptConfig != "":
		line, col := at("script_config")
		l.ps.add(b.File, line, col, "keep config: and remove script_config: (its older name)", "config and script_config both set")
		return
	case y.ScriptConfig != "":
		name, key = y.ScriptConfig, "script_config"
	}
	if name == "" {
		// A stopped bot is never started, so it needs none until it is
		// set running again.
		if b.Launch == LaunchHbot && b.State == StateRunning {
			line, col := at("account")
			l.ps.add(b.File, line, col,
				"set config: to a file of conf/scripts/, conf/controllers/ or conf/strategies/; or launch: classic to start Hummingbot's own console (attach with `docker attach`)",
				"bot %s names no config: a bot launched with hbot runs one", b.Name)
		}
		return
	}
	line, col := at(key)
	var found []ConfigKind
	for _, d := range configDirs {
		if key == "script_config" && d.Kind != ConfigScript {
			continue
		}
		p := d.Dir + "/" + name
		if l.unreadable[p] {
			l.ps.add(b.File, line, col, "mend "+p+" (its own problem says how)", "config %s is refused", name)
			return
		}
		if l.regular[p] {
			found = append(found, d.Kind)
		}
	}
	switch {
	case len(found) == 0 && key == "script_config":
		l.ps.add(b.File, line, col, "script configs live in conf/scripts/ of the fleet source", "script config %s not found in %s/", name, ConfigScript.Dir())
		return
	case len(found) == 0:
		l.ps.add(b.File, line, col, "configs live in conf/scripts/ (V2 scripts), conf/controllers/ (controllers) or conf/strategies/ (V1 strategies) of the fleet source",
			"config %s not found in conf/scripts/, conf/controllers/ or conf/strategies/", name)
		return
	case len(found) > 1:
		var dirs []string
		for _, k := range found {
			dirs = append(dirs, k.Dir()+"/")
		}
		l.ps.add(b.File, line, col, "rename one of them: hbot finds a config by its file name alone",
			"config %s is in %s", name, strings.Join(dirs, " and "))
		return
	}
	b.Config, b.ConfigKind = name, found[0]
	l.checkConfig(b)
	switch b.Launch {
	case LaunchClassic:
		if b.ConfigKind == ConfigController {
			l.ps.add(b.File, line, col,
				"use launch: hbot, or write a V2 script config that loads it (script_file_name: v2_with_controllers.py, controllers_config: ["+name+"]) and name that",
				"launch: classic cannot run a controller config: Hummingbot's quickstart starts scripts and V1 strategies only")
		}
	case LaunchHbot:
		if b.ConfigKind != ConfigController {
			return
		}
		// hbot starts a controller through a script config it writes into
		// conf/scripts/, named after the controller config: a fleet config
		// of that name would be overwritten.
		if loader := ControllerLoader(name); l.regular[ConfigScript.Dir()+"/"+loader] {
			l.ps.add(b.File, line, col, "rename one of the two configs",
				"hbot writes the script config that starts controller config %s to conf/scripts/%s, which the fleet has too", name, loader)
		}
	}
}

// imageVersion is the major and minor version in an image's tag.
type imageVersion struct{ major, minor int }

func (v imageVersion) older(major, minor int) bool {
	return v.major < major || v.major == major && v.minor < minor
}

// versionTag matches the tags Hummingbot's images are published under:
// version-2.16.0, and plain 2.15.0 or v2.15.0.
var versionTag = regexp.MustCompile(`^(?:version-|v)?([0-9]+)\.([0-9]+)(?:[.-]|$)`)

// hummingbotVersion reads the release of a Hummingbot image from its tag;
// false for another image or a tag that names no version (latest, a
// digest, development).
func hummingbotVersion(image string) (imageVersion, bool) {
	repo, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	if !strings.Contains(repo, "hummingbot") || strings.Contains(repo, "@") {
		return imageVersion{}, false
	}
	m := versionTag.FindStringSubmatch(tag)
	if m == nil {
		return imageVersion{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return imageVersion{major, minor}, true
}

// ControllerLoader is the file name of the script config hbot writes into
// conf/scripts/ to start a controller config: the config's name with its
// extension off and dots made underscores, plus .yml.
func ControllerLoader(config string) string {
	stem := strings.TrimSuffix(strings.TrimSuffix(config, ".yml"), ".yaml")
	return strings.ReplaceAll(stem, ".", "_") + ".yml"
}

// stopTimeout reads a stop timeout (its form is the schema's), reporting
// one out of bounds at its line; def when it is not set or wrong.
func (l *loader) stopTimeout(file string, doc *document, path []string, text string, def time.Duration) time.Duration {
	if text == "" {
		return def
	}
	d, err := time.ParseDuration(text)
	if err == nil && d >= MinStopTimeout && d <= MaxStopTimeout {
		return d
	}
	n := locate(doc.root, path, false)
	l.ps.add(file, n.Line, n.Column, "give the bot time to cancel its orders: 90s is the default; at most 1h",
		"stop_timeout %s is out of bounds (1s to 1h)", text)
	return def
}

// mergeConfig overlays over on base, merging nested mappings key by key,
// as Hummingbot's conf_client.yml nests its settings.
func mergeConfig(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	maps.Copy(out, base)
	for k, v := range over {
		bm, bok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			out[k] = mergeConfig(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

// isSharedPath reports whether a source file is copied into every bot.
func isSharedPath(p string) bool {
	top, _, _ := strings.Cut(p, "/")
	return top == ScriptsDir || top == ControllersDir || top == ConfDir
}
