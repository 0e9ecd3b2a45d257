package manage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
)

// InitOptions describe a new fleet.
type InitOptions struct {
	Fleet      string   // the fleet's name; defaults to the folder's name if that is a valid name
	Recipients []string // age recipients of the fleet's secrets
	Image      string   // defaults.image
}

// DefaultImage is the image a new fleet's bots run unless told otherwise:
// the Hummingbot release nectar knows (its connector table, its hbot
// launcher), pinned, so a new upstream release is a deliberate change.
const DefaultImage = "hummingbot/hummingbot:version-" + connector.HummingbotVersion

var settingsTemplate = template.Must(template.New("nectar.yaml").Parse(`# nectar fleet settings. Schema: https://github.com/nectarhq/nectar/tree/main/schemas
fleet: {{.Fleet}}
# Every encrypted file in accounts/ is encrypted to these age recipients.
# Add each operator's and each server's public key, then run ` + "`nectar rekey`" + `.
recipients:
{{- range .Recipients}}
  - {{.}}
{{- end}}
# Remove the containers of bots deleted from bots/ (their folders are kept).
prune: true
defaults:
  image: {{.Image}}
  network: host
  restart: unless-stopped
  # Each bot runs ` + "`hbot start <config> --foreground`" + ` (Hummingbot 2.16 and
  # later), so a stop lets it stop its strategy and cancel its orders; this
  # is how long it gets before it is killed. Older images: launch: classic.
  stop_timeout: 90s
# Bots of one account stopped or recreated at once by a fleet-wide change.
max_parallel_restarts: 4
`))

// Init scaffolds a fleet in dir: nectar.yaml and the empty folders of the
// layout. It refuses to overwrite an existing nectar.yaml.
func Init(dir string, opts InitOptions) error {
	if opts.Fleet == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		opts.Fleet = strings.ToLower(filepath.Base(abs))
	}
	if !fleet.ValidName(opts.Fleet) {
		return hint.New(fmt.Sprintf("cannot use %q as the fleet name", opts.Fleet),
			"choose one with --fleet; names use "+fleet.NameRule)
	}
	if len(opts.Recipients) == 0 {
		return errors.New("a fleet needs at least one age recipient")
	}
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	settings := filepath.Join(dir, fleet.SettingsFile)
	if _, err := os.Lstat(settings); err == nil {
		return hint.New(fmt.Sprintf("%s already exists", settings), "this folder already holds a fleet; check it with `nectar validate`")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, d := range []string{
		fleet.AccountsDir, fleet.BotsDir, fleet.ScriptsDir, fleet.ControllersDir,
		filepath.Join(fleet.ConfDir, fleet.ScriptsDir), filepath.Join(fleet.ConfDir, fleet.ControllersDir),
		filepath.Join(fleet.ConfDir, fleet.StrategiesDir),
	} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		// git keeps no empty folders; a marker keeps the layout in a clone.
		keep := filepath.Join(p, ".gitkeep")
		if _, err := os.Lstat(keep); errors.Is(err, fs.ErrNotExist) {
			if err := os.WriteFile(keep, nil, 0o644); err != nil {
				return err
			}
		}
	}
	var buf bytes.Buffer
	if err := settingsTemplate.Execute(&buf, opts); err != nil {
		return err
	}
	return atomicfile.WriteFile(settings, buf.Bytes(), 0o644)
}
