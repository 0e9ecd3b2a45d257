// Package fleet turns a fleet source (a folder or a git tree, seen as an
// fs.FS) into typed, validated desired state. Loading never stops at the
// first problem: it reports every problem it finds, each with its file and
// line, and still returns everything that did load, so one broken bot never
// hides the rest of the fleet.
package fleet

import (
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/capread"
)

// Paths and file names of the fleet layout.
const (
	SettingsFile     = "nectar.yaml"
	AccountsDir      = "accounts"
	BotsDir          = "bots"
	ScriptsDir       = "scripts"
	ControllersDir   = "controllers"
	ConfDir          = "conf"
	StrategiesDir    = "strategies" // under conf/: V1 strategy configs
	PasswordFile     = "password.age"
	CredentialSuffix = ".yml.age"
	BotSuffix        = ".yml"
	// MaxFileSize caps every file nectar reads from a source.
	MaxFileSize = 1 << 20
	// MaxNameBytes caps the name of each file and folder of a source, well
	// under the 255 bytes file systems allow, so that the copies nectar
	// renders and the names editors and tools derive from them still fit.
	MaxNameBytes = 200
)

// Environment variables nectar sets itself; a bot's env may not set them.
var reservedEnv = []string{"CONFIG_PASSWORD", "HBOT_PASSWORD", "SCRIPT_CONFIG", "CONFIG_FILE_NAME", "HEADLESS_MODE"}

// How a bot's container runs Hummingbot.
const (
	// LaunchHbot runs `hbot start <config> --foreground`: the bot is the
	// container's main process, so SIGTERM makes it stop its strategy and
	// cancel its orders (Hummingbot 2.16 and later).
	LaunchHbot = "hbot"
	// LaunchClassic runs the image's own command, configured through the
	// environment. The official image's command is a shell that ignores
	// SIGTERM, so every stop ends in a kill.
	LaunchClassic = "classic"
)

// ConfigKind is which kind of config a bot runs, known from the folder
// that holds it, as hbot knows it.
type ConfigKind string

// The kinds of config, by folder.
const (
	ConfigScript     ConfigKind = "script"     // conf/scripts/: a V2 script config
	ConfigController ConfigKind = "controller" // conf/controllers/: a controller config
	ConfigStrategy   ConfigKind = "strategy"   // conf/strategies/: a V1 strategy
)

// configDirs maps each kind to its folder in the source and the instance.
var configDirs = []struct {
	Kind ConfigKind
	Dir  string
}{
	{ConfigScript, ConfDir + "/" + ScriptsDir},
	{ConfigController, ConfDir + "/" + ControllersDir},
	{ConfigStrategy, ConfDir + "/" + StrategiesDir},
}

// Dir is the folder, relative to the fleet root or the instance, that
// holds configs of kind k.
func (k ConfigKind) Dir() string {
	for _, d := range configDirs {
		if d.Kind == k {
			return d.Dir
		}
	}
	return ""
}

// Stop timeouts: the default gives a V2 strategy Hummingbot's own budget
// (its executors up to 30 s, then 20 s to cancel orders) with room to
// spare.
const (
	DefaultStopTimeout = 90 * time.Second
	MinStopTimeout     = time.Second
	MaxStopTimeout     = time.Hour
)

// DefaultMaxParallelRestarts is how many bots of one account are stopped,
// recreated or removed at once unless nectar.yaml says otherwise.
const DefaultMaxParallelRestarts = 4

// Secret holds a plaintext secret in memory. It prints as [redacted] with
// every fmt verb and in JSON, so a stray log line or error cannot leak it;
// Reveal is the one way to the value.
type Secret string

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return "[redacted]" }

// MarshalJSON hides the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// MarshalText hides the value (YAML and other text encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Fleet is the desired state read from a source.
type Fleet struct {
	Name       string
	Recipients []string
	Prune      bool
	Defaults   Defaults
	// MaxParallelRestarts bounds the stops, recreates and removals of one
	// account's bots in flight at once.
	MaxParallelRestarts int
	// MQTT, when set, turns on Hummingbot's MQTT bridge in every bot.
	MQTT *MQTT
	// GatewayCerts is a folder on the Docker host holding Hummingbot's
	// gateway certificates, bound into every bot; "" for none.
	GatewayCerts string
	// Engine is what runs the bots: EngineDocker (one engine) or
	// EngineSwarm (a Docker Swarm cluster, through a manager).
	Engine string

	Accounts map[string]*Account
	Bots     map[string]*Bot
	// Shared lists the files copied into every bot: everything under
	// scripts/, controllers/, conf/scripts/, conf/controllers/ and
	// conf/strategies/.
	Shared []string
	// ExtraConnectors are connectors Hummingbot's field table lacks that
	// nectar.yaml lets bots use (extra_connectors): their credentials are
	// written as they are, secrets: encrypted and settings: plain.
	ExtraConnectors []string

	// FS is the source the fleet was read from, for reading Shared files.
	FS fs.FS

	// shared caches Shared files' contents: every bot gets a copy of each,
	// and a source revision never changes, so each is read once. Load sets
	// it; a Fleet built by hand reads every time.
	shared *sync.Map // path → []byte

	// Problems lists everything wrong with the source, sorted by file and line.
	Problems []Problem
}

// Defaults are the settings every bot inherits.
type Defaults struct {
	Image        string
	Network      string
	Restart      string
	Env          map[string]string
	ClientConfig map[string]any
	Resources    Resources
	Launch       string
	StopTimeout  time.Duration
}

// MQTT is the broker every bot's Hummingbot MQTT bridge connects to, so
// that Hummingbot's Dashboard and API find the bots there.
type MQTT struct {
	Host     string
	Port     int
	Username string
	// PasswordFile is the age file in the source that holds the broker
	// password, relative to the fleet root; "" when the broker takes none.
	PasswordFile string
	// Password is its plaintext; empty when there is no file or it was
	// not decrypted (see Options).
	Password Secret
	// TLS makes the bridge connect over TLS.
	TLS bool

	passwordAt [2]int // line and column of password_file in nectar.yaml
}

// Resources are a container's limits; empty means unlimited.
type Resources struct {
	CPUs   string
	Memory string
}

// Account is one folder under accounts/.
type Account struct {
	Name string
	// Password is Hummingbot's config password for the account's bots.
	// Empty when the file could not be decrypted (or was not, see Options).
	Password Secret
	// Connectors names every <connector>.yml.age of the account, sorted,
	// whether or not it decrypted.
	Connectors  []string
	Credentials map[string]*Credential
}

// Credential is the decrypted content of accounts/<account>/<connector>.yml.age.
type Credential struct {
	Account   string
	Connector string
	Secrets   []SecretField // in file order
	Settings  []Field       // in file order
}

// SecretField is one field Hummingbot keeps encrypted.
type SecretField struct {
	Name  string
	Value Secret
}

// Field is one plaintext connector setting; Value is a YAML value
// (string, int64, float64, bool, nil, []any or map[string]any).
type Field struct {
	Name  string
	Value any
}

// Bot is one bots/<bot>.yml with the fleet defaults applied.
type Bot struct {
	Name    string
	File    string
	Account string
	// State is "running" or "stopped".
	State string
	Hold  bool
	// Connectors are the connectors rendered into the bot: the ones it
	// names, or else every connector of its account.
	Connectors []string
	Image      string
	// Config is the file name of the config the bot runs, and ConfigKind
	// the folder it was found in; "" when the bot names none.
	Config     string
	ConfigKind ConfigKind
	// Needs are the files the config makes Hummingbot load from scripts/
	// and controllers/, which the fleet or the image must provide.
	Needs []Need
	// Launch is LaunchHbot or LaunchClassic.
	Launch string
	// StopTimeout is how long a stop waits before it kills the bot.
	StopTimeout time.Duration
	Headless    bool
	Env         map[string]string
	// ClientConfig is what nectar sets in the bot's conf_client.yml:
	// nectar.yaml's mqtt: bridge, then defaults.client_config, then the
	// bot's own, merged key by key. A secret in it (the broker password)
	// is a Secret, revealed only when the file is written.
	ClientConfig map[string]any
	Network      string
	Restart      string
	Resources    Resources
	// GatewayCerts is the fleet's gateway certificates folder on the
	// Docker host, bound into the bot; "" for none.
	GatewayCerts string
	// Node pins the bot to one node of a Swarm cluster (its host name);
	// "" lets nectar place it and keep it there. A single engine has one
	// node and ignores it.
	Node string
}

// ConfigPath is the config's path, relative to the fleet root and to the
// instance folder alike; "" when the bot names none.
func (b *Bot) ConfigPath() string {
	if b.Config == "" {
		return ""
	}
	return b.ConfigKind.Dir() + "/" + b.Config
}

// ContainerName is the name of a bot's container. Hummingbot's own API and
// Dashboard list containers named this way, so they see nectar's bots too,
// and Hummingbot's instance_id is set to it.
func ContainerName(bot string) string { return "hummingbot-" + bot }

// Engines a fleet can run on (nectar.yaml engine:).
const (
	EngineDocker = "docker"
	EngineSwarm  = "swarm"
)

// Bot states.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// OK reports whether the source loaded without any problem.
func (f *Fleet) OK() bool { return len(f.Problems) == 0 }

// SettingsOK reports whether nectar.yaml itself loaded. Without it nothing
// about the fleet can be trusted: no bot may be acted on.
func (f *Fleet) SettingsOK() bool {
	return !slices.ContainsFunc(f.Problems, func(p Problem) bool { return p.File == SettingsFile || p.File == "" })
}

// ReadShared returns the content of one of the Shared files, reading it
// from the source once and capping it at MaxFileSize.
func (f *Fleet) ReadShared(name string) ([]byte, error) {
	if f.shared != nil {
		if v, ok := f.shared.Load(name); ok {
			return v.([]byte), nil
		}
	}
	data, err := capread.ReadFile(f.FS, name, MaxFileSize, errTooLarge)
	if err != nil {
		return nil, err
	}
	if f.shared != nil {
		f.shared.Store(name, data)
	}
	return data, nil
}

// BotFiles lists the source files a bot depends on: its own file, its
// account's password and the credentials it uses, and the configs it names.
func (f *Fleet) BotFiles(b *Bot) []string {
	files := []string{b.File, AccountsDir + "/" + b.Account + "/" + PasswordFile}
	for _, c := range b.Connectors {
		files = append(files, credentialPath(b.Account, c))
	}
	if b.Config != "" {
		files = append(files, b.ConfigPath())
	}
	if f.MQTT != nil && f.MQTT.PasswordFile != "" {
		files = append(files, f.MQTT.PasswordFile)
	}
	return files
}

// BotProblems returns the problems that keep one bot from being applied:
// those in the files it depends on, and those in files every bot shares.
func (f *Fleet) BotProblems(name string) []Problem {
	b, ok := f.Bots[name]
	files := []string{BotsDir + "/" + name + BotSuffix}
	if ok {
		files = f.BotFiles(b)
	}
	var out []Problem
	for _, p := range f.Problems {
		if slices.Contains(files, p.File) || p.File == "" || p.File == SettingsFile || isSharedPath(p.File) {
			out = append(out, p)
		}
	}
	return out
}

// PruneBlockers returns the problems that make the list of bots
// uncertain: an entry of bots/ that could not be taken for a bot (a file
// named bot.yaml or BOT.yml, a folder in a bot file's place), and any
// failure to read the source as a whole. While there is one, a bot missing
// from the source may only be misnamed, so nothing may be pruned. A bot
// file that is there but broken is no blocker: its bot is listed, and
// Stalled.
func (f *Fleet) PruneBlockers() []Problem {
	listed := map[string]bool{}
	for _, b := range f.Bots {
		listed[b.File] = true
	}
	var out []Problem
	for _, p := range f.Problems {
		inBots := p.File == BotsDir || strings.HasPrefix(p.File, BotsDir+"/")
		if p.File == "" || inBots && !listed[p.File] {
			out = append(out, p)
		}
	}
	return out
}

// BotsUsingAccount returns the names of the bots whose files name the
// account, sorted.
func (f *Fleet) BotsUsingAccount(account string) []string {
	var out []string
	for name, b := range f.Bots {
		if b.Account == account {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func credentialPath(account, connector string) string {
	return AccountsDir + "/" + account + "/" + connector + CredentialSuffix
}
