package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/source"
)

// identityHint is the hint for a command that found no identity it can
// use. A new key is the fix only for a fleet with nobody to read it yet:
// once nectar.yaml lists recipients, its secrets are encrypted to them,
// and only the secret key of one of them decrypts them. A key made now
// would read nothing until one of them adds it and re-encrypts (rekey).
func (a *app) identityHint() string {
	const give = "give it with --identity FILE or $NECTAR_AGE_KEY_FILE"
	const newKey = "a new key cannot read what is already encrypted until someone holding one of those keys adds its public key to recipients: and runs `nectar rekey`"
	if source.IsGit(a.source) {
		return "nectar needs the secret key of one of the recipients listed in the fleet's nectar.yaml; " + give + "; " + newKey
	}
	recipients, ok := a.localRecipients()
	if !ok || len(recipients) == 0 {
		return "make one with `nectar keygen -o ~/.config/nectar/age.key`, or pass yours with --identity"
	}
	return fmt.Sprintf("this fleet's secrets are encrypted to the recipients in nectar.yaml (%s); nectar needs the secret key of one of them: %s; %s",
		shownRecipients(recipients), give, newKey)
}

// localRecipients reads the recipients of the local fleet's nectar.yaml;
// false when there is no such file or it does not parse.
func (a *app) localRecipients() ([]string, bool) {
	dir := a.source
	if a.subPath != "" {
		dir = filepath.Join(dir, a.subPath)
	}
	f, err := os.Open(filepath.Join(dir, fleet.SettingsFile))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, fleet.MaxFileSize))
	if err != nil {
		return nil, false
	}
	var settings struct {
		Recipients []string `yaml:"recipients"`
	}
	if yaml.Unmarshal(data, &settings) != nil {
		return nil, false
	}
	var out []string
	for _, r := range settings.Recipients {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out, true
}

// shownRecipients lists public keys for a person to recognise: an SSH
// key by its type and comment (which usually names its owner), at most
// a few of them.
func shownRecipients(list []string) string {
	const most = 4
	shown := make([]string, 0, most+1)
	for i, r := range list {
		if i == most {
			shown = append(shown, fmt.Sprintf("and %d more", len(list)-most))
			break
		}
		if f := strings.Fields(r); len(f) >= 2 && strings.HasPrefix(f[0], "ssh-") {
			key := f[1]
			if len(key) > 12 {
				key = "..." + key[len(key)-8:]
			}
			r = strings.Join(append([]string{f[0], key}, f[2:]...), " ")
		}
		shown = append(shown, r)
	}
	return strings.Join(shown, ", ")
}
