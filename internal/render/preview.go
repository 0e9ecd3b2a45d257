package render

import (
	"github.com/nectarhq/nectar/internal/fleet"
)

// Preview is what a render of a bot would produce, found without writing
// a file or deriving a key, for planning and for `nectar plan`.
type Preview struct {
	// Digest and Files are as in Result.
	Digest string
	Files  []File
	// Drift lists the encrypted files (connector files and
	// .password_verification) that nectar last wrote for this very input
	// but whose bytes on disk are no longer what it wrote: edited, removed
	// or replaced behind its back. Hummingbot would read the changed file,
	// so a render rewrites it and the bot must restart.
	Drift []string
}

// Preview returns what Render would write for a bot, and which of nectar's
// files were changed on disk.
func (r *Renderer) Preview(fl *fleet.Fleet, bot string) (*Preview, error) {
	p, err := r.plan(fl, bot, nil)
	if err != nil {
		return nil, err
	}
	inst := r.InstanceDir(bot)
	old := r.manifestOf(inst)
	pv := &Preview{Digest: p.digest.String()}
	for _, f := range p.files {
		pv.Files = append(pv.Files, File{Path: f.path, Digest: f.content.String()})
		if f.kind != encryptedFile {
			continue
		}
		entry, ok := old.Files[f.path]
		if !ok || entry.Content != f.content.String() {
			// Never written for this input: a change of input, which
			// the bot's digest already tells.
			continue
		}
		disk, modeOK, exists, err := r.diskDigestOf(inst, f.path)
		if err != nil || !exists || !modeOK || disk != entry.Disk {
			pv.Drift = append(pv.Drift, f.path)
		}
	}
	return pv, nil
}
