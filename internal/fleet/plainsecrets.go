package fleet

import (
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/connector"
)

// secretFieldNames is every field any known connector keeps secret.
var secretFieldNames = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, name := range connector.Names() {
		spec, _ := connector.Lookup(name)
		for _, f := range append(spec.Secret, spec.PlaintextSecret...) {
			out[f] = name
		}
	}
	return out
})

// checkSharedSecrets refuses YAML files among the shared files (scripts/,
// controllers/, conf/) that hold what looks like an exchange credential in
// plaintext: shared files are copied as they are into every bot's instance
// folder, so a key pasted there would sit unencrypted on disk for each bot.
// Reporting it on the shared file stalls every bot, so nothing is copied.
func checkSharedSecrets(f *Fleet) []Problem {
	var ps problems
	for _, p := range f.Shared {
		if !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
			continue
		}
		// Through the fleet's cache: the render reads the same bytes.
		data, err := f.ReadShared(p)
		if err != nil {
			continue // the render reports it
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil {
			continue // a config nectar does not parse is the bot's business
		}
		field, conn := plaintextSecret(doc)
		if field == "" {
			continue
		}
		ps.add(p, 0, 0, "encrypt it with `nectar cred add <account> "+conn+" < "+p+"`, delete this file, and purge it from version control history",
			"looks like a plaintext exchange credential (%s of %s): shared files are copied unencrypted into every bot", field, conn)
	}
	return ps.list
}

// plaintextSecret returns a known secret field found at the top of doc or
// under its secrets:, with its connector.
func plaintextSecret(doc map[string]any) (field, conn string) {
	names := secretFieldNames()
	look := func(m map[string]any) (string, string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if c, ok := names[k]; ok {
				if s, isString := m[k].(string); !isString || s != "" {
					return k, c
				}
			}
		}
		return "", ""
	}
	if f, c := look(doc); f != "" {
		return f, c
	}
	if sec, ok := doc["secrets"].(map[string]any); ok {
		return look(sec)
	}
	return "", ""
}
