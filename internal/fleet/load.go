package fleet

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/capread"
	"github.com/nectarhq/nectar/internal/secrets"
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
//
// A load is a walk and a few checks, each in its own file: the walk
// (inventory.go) lists what the source holds; settings.go reads
// nectar.yaml, accounts.go the accounts (and credentials.go each
// credential), bots.go the bots, and mqtt.go finishes what nectar.yaml
// sets for every bot. Each check takes what the earlier ones found and
// returns its own part of the fleet and its problems; their problems are
// put together in this order, so problems at one place keep one order.
func Load(fsys fs.FS, opts Options) *Fleet {
	set, settingsProblems := checkSettings(fsys)
	src := walk(fsys)
	f := &Fleet{FS: fsys, Shared: src.shared, shared: &sync.Map{}}
	set.applyTo(f)
	sharedProblems := checkSharedSecrets(f)
	var accountProblems []Problem
	f.Accounts, accountProblems = checkAccounts(fsys, src, opts.Identities, set.admits)
	var botProblems []Problem
	f.Bots, botProblems = checkBots(fsys, src, set, f.Accounts)
	fleetWide := finishFleetWide(f, src, opts.Identities)
	f.Problems = dedupe(slices.Concat(settingsProblems, src.problems, sharedProblems, accountProblems, botProblems, fleetWide))
	sortProblems(f.Problems)
	return f
}

// readFile reads one file of the source, enforcing the size cap.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	return capread.ReadFile(fsys, name, MaxFileSize, errTooLarge)
}

var errTooLarge = fmt.Errorf("file is larger than %d bytes (1 MiB)", MaxFileSize)

// readFailed reports a file that could not be read.
func (ps *problems) readFailed(file string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ps.add(file, 0, 0, "", "file not found")
	case errors.Is(err, errTooLarge):
		ps.add(file, 0, 0, "nectar reads files of at most 1 MiB; keep large data out of the fleet source", "%v", err)
	default:
		ps.add(file, 0, 0, "", "cannot read: %v", err)
	}
}

// yamlFailed reports a file that is not the YAML it should be, at the
// line the parser names; hint is used when the error brings none.
func (ps *problems) yamlFailed(file string, err error, hint string) {
	var ye *errYAML
	if errors.As(err, &ye) {
		ps.add(file, ye.line, 0, cmp.Or(ye.hint, hint), "%s", ye.msg)
		return
	}
	ps.add(file, 0, 0, hint, "%v", err)
}

// decrypt reads and decrypts one age file, reporting failures with hints.
func decrypt(fsys fs.FS, ids *secrets.Identities, file string, ps *problems) ([]byte, bool) {
	data, err := readFile(fsys, file)
	if err != nil {
		ps.readFailed(file, err)
		return nil, false
	}
	plain, err := secrets.Decrypt(data, ids)
	if err != nil {
		ps.add(file, 0, 0, decryptHint(err), "cannot decrypt: %v", err)
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

// The rules below hold for nectar.yaml's defaults and a bot's own
// settings alike.

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

// checkEnv refuses an env that sets what nectar sets itself.
func checkEnv(ps *problems, file string, root *yaml.Node, path []string, env map[string]string) {
	for _, k := range reservedEnv {
		if _, ok := env[k]; ok {
			n := locate(root, append(slices.Clone(path), k), true)
			hint := "nectar sets it from the bot's fields (config, launch, headless)"
			if k == "CONFIG_PASSWORD" || k == "HBOT_PASSWORD" {
				hint = "the password comes from accounts/<account>/password.age; never put it in plaintext"
			}
			ps.add(file, n.Line, n.Column, hint, "env may not set %s", k)
		}
	}
}

// stopTimeout reads a stop timeout (its form is the schema's), reporting
// one out of bounds at its line; def when it is not set or wrong.
func stopTimeout(ps *problems, file string, doc *document, path []string, text string, def time.Duration) time.Duration {
	if text == "" {
		return def
	}
	d, err := time.ParseDuration(text)
	if err == nil && d >= MinStopTimeout && d <= MaxStopTimeout {
		return d
	}
	n := locate(doc.root, path, false)
	ps.add(file, n.Line, n.Column, "give the bot time to cancel its orders: 90s is the default; at most 1h",
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
