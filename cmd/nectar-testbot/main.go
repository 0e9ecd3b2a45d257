// Command nectar-testbot stands in for Hummingbot in nectar's tests and
// demo, so everything runs offline from an image built FROM scratch. At
// start it does what Hummingbot does with nectar's files: it checks
// CONFIG_PASSWORD against conf/.password_verification, decrypts every
// secret of every connector file, and rewrites conf/conf_client.yml adding
// its own defaults. Then it logs "ready" with the connector names (never a
// value), keeps a heartbeat under data/, and exits 0 on SIGTERM. Any
// failure exits 1 with the reason.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("testbot: ")
	// Catch SIGTERM before touching any file, so a stop during start-up
	// never cuts a write short.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	home := os.Getenv("HUMMINGBOT_HOME")
	if home == "" {
		home = "/home/hummingbot"
	}
	connectors, err := start(home, os.Getenv("CONFIG_PASSWORD"))
	if err != nil {
		log.Printf("failed: %v", err)
		os.Exit(1)
	}
	log.Printf("ready connectors=%s script_config=%q headless=%q", strings.Join(connectors, ","), os.Getenv("SCRIPT_CONFIG"), os.Getenv("HEADLESS_MODE"))

	interval := 2 * time.Second
	if d, err := time.ParseDuration(os.Getenv("TESTBOT_HEARTBEAT")); err == nil && d > 0 {
		interval = d
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	heartbeat := filepath.Join(home, "data", "testbot-heartbeat")
	for {
		if err := os.WriteFile(heartbeat, []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
			log.Printf("failed: heartbeat: %v", err)
			os.Exit(1)
		}
		select {
		case s := <-stop:
			log.Printf("stopping on %v", s)
			return
		case <-tick.C:
		}
	}
}

// start checks the instance folder as Hummingbot would and returns the
// connectors it found.
func start(home, password string) ([]string, error) {
	if password == "" {
		return nil, errors.New("CONFIG_PASSWORD is not set")
	}
	conf := filepath.Join(home, "conf")
	keys := hbcrypt.NewKeyring()
	verification, err := os.ReadFile(filepath.Join(conf, ".password_verification"))
	if err != nil {
		return nil, fmt.Errorf("password verification file: %w", err)
	}
	if err := keys.VerifyPassword(password, string(verification)); err != nil {
		return nil, fmt.Errorf("CONFIG_PASSWORD does not match conf/.password_verification: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(conf, "connectors", "*.yml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		name, err := checkConnector(keys, password, f)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if err := rewriteClientConfig(filepath.Join(conf, "conf_client.yml")); err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "logs"} {
		if info, err := os.Stat(filepath.Join(home, d)); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s/ is not mounted", d)
		}
	}
	return names, nil
}

// checkConnector decrypts every encrypted value of one connector file.
func checkConnector(keys *hbcrypt.Keyring, password, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var fields map[string]any
	if err := yaml.Unmarshal(data, &fields); err != nil {
		return "", fmt.Errorf("%s: invalid YAML: %w", filepath.Base(path), err)
	}
	name, _ := fields["connector"].(string)
	if name+".yml" != filepath.Base(path) {
		return "", fmt.Errorf("%s: connector: %q does not match the file name", filepath.Base(path), name)
	}
	secrets := 0
	for field, v := range fields {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if _, err := hbcrypt.Inspect(s); err != nil {
			continue // a plain setting
		}
		if _, err := keys.Decrypt(password, s); err != nil {
			return "", fmt.Errorf("%s: field %s does not decrypt: %w", filepath.Base(path), field, err)
		}
		secrets++
	}
	if secrets == 0 {
		return "", fmt.Errorf("%s: no encrypted field", filepath.Base(path))
	}
	return name, nil
}

// clientDefaults are a few of the keys Hummingbot adds to conf_client.yml
// when it starts, enough to show that nectar does not treat them as drift.
var clientDefaults = map[string]any{
	"kill_switch_mode": map[string]any{},
	"autofill_import":  "disabled",
	"testbot_started":  true,
}

func rewriteClientConfig(path string) error {
	cfg := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("conf_client.yml: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	for k, v := range clientDefaults {
		if _, ok := cfg[k]; !ok {
			cfg[k] = v
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, out, 0o600)
}
