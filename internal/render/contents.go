package render

import (
	"github.com/nectarhq/nectar/internal/fleet"
)

// Content is one file of a bot's instance, built in memory rather than
// written to its instance folder: a cluster engine hands the bot its files
// by content (Swarm secrets and configs), because its containers run on
// other hosts and cannot see this one's folders.
type Content struct {
	// Path is the file's path inside the instance (conf/connectors/x.yml).
	Path string
	// Digest is the keyed digest of what the file is made from, as in
	// Result.Files: the same input gives the same digest, although an
	// encrypted file's bytes differ on every encryption.
	Digest string
	Data   []byte
	// Encrypted is set for the files Hummingbot decrypts with the account
	// password (connector files and .password_verification): those must
	// only ever reach a bot's node as secrets.
	Encrypted bool
}

// Contents builds every file the fleet gives a bot, in memory and sorted by
// path, deriving the account's key when its encrypted files are built (the
// Keyring caches it). The image's own scripts and controllers are not
// among them: a bot given files one by one still sees its image's folders.
// data/ and logs/ are the bot's own and hold nothing nectar writes.
func (r *Renderer) Contents(fl *fleet.Fleet, bot string) ([]Content, string, error) {
	p, err := r.plan(fl, bot, nil)
	if err != nil {
		return nil, "", err
	}
	out := make([]Content, 0, len(p.files))
	for _, f := range p.files {
		c := Content{Path: f.path, Digest: f.content.String()}
		switch f.kind {
		case plainFile:
			c.Data = f.data
		case encryptedFile:
			if c.Data, err = f.build(); err != nil {
				return nil, "", err
			}
			c.Encrypted = true
		case clientFile:
			// Nothing on disk to keep: the file is the configuration
			// nectar sets, which Hummingbot completes with its defaults
			// when it rewrites it at start.
			if c.Data, _, err = overlayClientConfig(nil, f.config, nil); err != nil {
				return nil, "", err
			}
		}
		out = append(out, c)
	}
	return out, p.digest.String(), nil
}
