package reconcile

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/runtime"
)

// hummingbotHome is where Hummingbot's image keeps its instance.
const hummingbotHome = "/home/hummingbot"

// Defaults for settings neither the bot nor nectar.yaml sets, as
// Hummingbot's own deploy runs its bots.
const (
	defaultNetwork = "host"
	defaultRestart = "unless-stopped"
)

// instanceMounts are the folders of an instance bound into the container,
// as Hummingbot's deploy binds them.
var instanceMounts = []string{
	"conf", "conf/connectors", "conf/scripts", "conf/controllers", "conf/strategies",
	"data", "logs", "scripts", "controllers",
}

// hbotTypeFlags tell hbot the kind of a config, which it would otherwise
// guess from the folders: after a controller's first start the name is in
// two of them (hbot writes the controller's loader into conf/scripts/ under
// the same name), and a guess would then refuse to start.
var hbotTypeFlags = map[fleet.ConfigKind]string{
	fleet.ConfigScript:     "--v2-script",
	fleet.ConfigController: "--controller",
	fleet.ConfigStrategy:   "--v1-strategy",
}

// command is the container's command: for hbot, `hbot start` in the
// foreground, exec form, so the bot is the main process and SIGTERM
// reaches it; for classic, the image's own (nil).
func command(b *fleet.Bot) []string {
	switch {
	case b.Launch != fleet.LaunchHbot:
		return nil
	case b.Config == "":
		// Only a stopped bot may name none (the loader sees to it); hbot
		// would start the config it last imported.
		return []string{"hbot", "start", "--foreground"}
	}
	return []string{"hbot", "start", b.Config, hbotTypeFlags[b.ConfigKind], "--foreground"}
}

// containerSpec builds the container of one bot. The password travels
// only in the environment, which is how Hummingbot receives it.
func containerSpec(fleetName, revision, hash, instanceDir string, b *fleet.Bot, password fleet.Secret) (runtime.Spec, error) {
	res, err := parseResources(b.Resources)
	if err != nil {
		return runtime.Spec{}, err
	}
	s := runtime.Spec{
		Name:        fleet.ContainerName(b.Name),
		Image:       b.Image,
		Cmd:         command(b),
		StopTimeout: b.StopTimeout,
		Env:         containerEnv(b, password),
		Network:     cmp.Or(b.Network, defaultNetwork),
		Restart:     cmp.Or(b.Restart, defaultRestart),
		NanoCPUs:    res.NanoCPUs,
		MemoryBytes: res.MemoryBytes,
		LogMaxSize:  "10m",
		LogMaxFiles: 5,
		Labels: map[string]string{
			runtime.LabelFleet:    fleetName,
			runtime.LabelBot:      b.Name,
			runtime.LabelRevision: revision,
			runtime.LabelHash:     hash,
			runtime.LabelLaunch:   b.Launch,
			runtime.LabelAccount:  b.Account,
			// Names only: where a kill may leave orders open.
			runtime.LabelConnectors: strings.Join(b.Connectors, ","),
		},
	}
	for _, m := range instanceMounts {
		s.Mounts = append(s.Mounts, runtime.Mount{
			Source: filepath.Join(instanceDir, filepath.FromSlash(m)),
			Target: hummingbotHome + "/" + m,
		})
	}
	if b.GatewayCerts != "" {
		// Where Hummingbot looks for the certificates that secure its
		// connection to Gateway, and where Hummingbot's API binds them.
		s.Mounts = append(s.Mounts, runtime.Mount{Source: b.GatewayCerts, Target: gatewayCertsTarget, ReadOnly: true})
	}
	return s, nil
}

// gatewayCertsTarget is the folder Hummingbot reads its gateway
// certificates from (certs/ under its home).
const gatewayCertsTarget = hummingbotHome + "/certs"

// passwordVars are the variables that carry the account password: hbot
// reads HBOT_PASSWORD, the image's own command CONFIG_PASSWORD.
var passwordVars = []string{"HBOT_PASSWORD", "CONFIG_PASSWORD"}

// containerEnv is the bot's environment, sorted: its own env and the
// variables its launch reads.
func containerEnv(b *fleet.Bot, password fleet.Secret) []string {
	env := maps.Clone(b.Env)
	if env == nil {
		env = map[string]string{}
	}
	switch b.Launch {
	case fleet.LaunchHbot:
		env["HBOT_PASSWORD"] = password.Reveal()
	default:
		env["CONFIG_PASSWORD"] = password.Reveal()
		switch b.ConfigKind {
		case fleet.ConfigScript:
			env["SCRIPT_CONFIG"] = b.Config
		case fleet.ConfigStrategy:
			env["CONFIG_FILE_NAME"] = b.Config
		}
		if b.Headless {
			env["HEADLESS_MODE"] = "true"
		}
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// specForHash is the spec with what may not or need not shape the hash
// left out: the password (hashed separately, keyed), the revision (a new
// commit that changes nothing for a bot must not restart it) and the hash
// label itself.
func specForHash(s runtime.Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%s\nimage=%s\nnetwork=%s\nrestart=%s\ncpus=%d\nmemory=%d\nlogs=%s/%d\nstop=%s\n",
		s.Name, s.Image, s.Network, s.Restart, s.NanoCPUs, s.MemoryBytes, s.LogMaxSize, s.LogMaxFiles, s.StopTimeout)
	if s.Cmd != nil {
		fmt.Fprintf(&b, "cmd=%q\n", s.Cmd)
	}
	if s.Node != "" {
		// Only when set, so that single-engine hashes stay as they were.
		fmt.Fprintf(&b, "node=%s\n", s.Node)
	}
	for _, e := range s.Env {
		k, _, _ := strings.Cut(e, "=")
		if slices.Contains(passwordVars, k) {
			continue
		}
		fmt.Fprintf(&b, "env=%s\n", e)
	}
	for _, m := range s.Mounts {
		ro := ""
		if m.ReadOnly {
			ro = ":ro"
		}
		fmt.Fprintf(&b, "mount=%s:%s%s\n", m.Source, m.Target, ro)
	}
	return b.String()
}

type resources struct {
	NanoCPUs    int64
	MemoryBytes int64
}

// parseResources reads the limits as Docker's CLI does: cpus as a decimal
// number of CPUs, memory as a number with an optional b, k, m or g unit.
func parseResources(r fleet.Resources) (resources, error) {
	var out resources
	if r.CPUs != "" {
		f, err := strconv.ParseFloat(r.CPUs, 64)
		if err != nil || f <= 0 {
			return out, fmt.Errorf("resources.cpus %q is not a positive number", r.CPUs)
		}
		out.NanoCPUs = int64(f * 1e9)
	}
	if r.Memory != "" {
		// Docker's own reading of --memory.
		n, err := units.RAMInBytes(r.Memory)
		if err != nil || n <= 0 {
			return out, fmt.Errorf("resources.memory %q is not a size like 512m or 1g", r.Memory)
		}
		out.MemoryBytes = n
	}
	return out, nil
}
