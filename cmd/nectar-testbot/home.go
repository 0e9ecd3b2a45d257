package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/hbcrypt"
	"github.com/nectarhq/nectar/internal/hummingbot"
)

// home is an instance folder, laid out as /home/hummingbot is in the image.
type home string

func homeFromEnv() home {
	if h := os.Getenv("HUMMINGBOT_HOME"); h != "" {
		return home(h)
	}
	return "/home/hummingbot"
}

func (h home) path(elem ...string) string {
	return filepath.Join(append([]string{string(h)}, elem...)...)
}

// errNoVerification: conf/.password_verification is missing. The classic
// launch crashes on it; hbot creates the file instead.
var errNoVerification = errors.New("conf/.password_verification is missing")

// errWrongPassword: the password does not open conf/.password_verification.
var errWrongPassword = errors.New("invalid password")

// unlock checks password against conf/.password_verification (creating the
// file first when create is set and it is missing), then decrypts every
// secret of every connector file, as Hummingbot's Security.login does. It
// returns the connector names, sorted.
func (h home) unlock(password string, create bool) ([]string, error) {
	keys := hbcrypt.NewKeyring()
	path := h.path("conf", ".password_verification")
	verification, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && create:
		v, err := keys.PasswordVerification(password, hbcrypt.NewSalt())
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(path, []byte(v), 0o644); err != nil {
			return nil, err
		}
		verification = []byte(v)
	case errors.Is(err, os.ErrNotExist):
		return nil, errNoVerification
	case err != nil:
		return nil, err
	}
	// A malformed file fails the same way as a wrong password upstream.
	if err := keys.VerifyPassword(password, string(verification)); err != nil {
		return nil, errWrongPassword
	}
	files, err := filepath.Glob(h.path("conf", "connectors", "*.yml"))
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
	// Outside a container a folder nectar forgot to create would go
	// unnoticed (the image has its own), so refuse to start without them.
	for _, d := range []string{"data", "logs"} {
		if info, err := os.Stat(h.path(d)); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s/ is not mounted", d)
		}
	}
	return names, nil
}

// checkConnector decrypts every encrypted value of one connector file. For
// a connector Hummingbot 2.16 has, it holds each field to the connector's
// facts: a field Hummingbot decrypts must decrypt (plaintext there is
// Hummingbot's "Non-hexadecimal digit found", which aborts the login), and
// a secret-typed field it never decrypts must not hold ciphertext (the
// connector would read the ciphertext as the value). Of another connector
// it cannot tell a secret field from a plain one, so a file with no
// encrypted value at all counts as broken.
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
	spec, known := connector.Lookup(name)
	secrets := 0
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		s, ok := fields[field].(string)
		_, inspectErr := hbcrypt.Inspect(s)
		encrypted := ok && inspectErr == nil
		switch {
		case known && spec.FieldKind(field) == connector.SecretField && fields[field] != nil && !encrypted:
			return "", fmt.Errorf("%s: field %s: Non-hexadecimal digit found", filepath.Base(path), field)
		case known && spec.FieldKind(field) == connector.PlaintextSecretField && encrypted:
			return "", fmt.Errorf("%s: field %s holds ciphertext, but Hummingbot never decrypts it: the connector would read the ciphertext as its value", filepath.Base(path), field)
		}
		if !encrypted {
			continue // a plain setting
		}
		if _, err := keys.Decrypt(password, s); err != nil {
			return "", fmt.Errorf("%s: field %s does not decrypt: %w", filepath.Base(path), field, err)
		}
		secrets++
	}
	if secrets == 0 && !(known && len(spec.Secret) == 0) {
		return "", fmt.Errorf("%s: no encrypted field", filepath.Base(path))
	}
	return name, nil
}

// clientDefaults are keys Hummingbot fills into conf/conf_client.yml when it
// loads it (a subset, nested maps merged key by key), enough to show that
// nectar must not take the rewrite for drift. testbot_started is ours.
func clientDefaults() map[string]any {
	return map[string]any{
		"instance_id":      newInstanceID(),
		"log_level":        "INFO",
		"kill_switch_mode": map[string]any{},
		"autofill_import":  "disabled",
		"mqtt_bridge": map[string]any{
			"mqtt_host":            "localhost",
			"mqtt_port":            1883,
			"mqtt_username":        "",
			"mqtt_password":        "",
			"mqtt_namespace":       "hbot",
			"mqtt_ssl":             false,
			"mqtt_logger":          true,
			"mqtt_notifier":        true,
			"mqtt_commands":        true,
			"mqtt_events":          true,
			"mqtt_external_events": true,
			"mqtt_autostart":       false,
		},
		"testbot_started": true,
	}
}

// newInstanceID stands for Hummingbot's random client id, which it
// persists the first time it rewrites conf_client.yml.
func newInstanceID() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// rewriteClientConfig is Hummingbot's load of conf/conf_client.yml, which
// it does at every start (twice, in fact: hbot's login and the engine,
// the quickstart's main and quick_start): read the file, build the client
// config model from it, write the model back with the defaults filled in,
// and return the merged settings.
//
// The two halves fail differently upstream. A file the model refuses
// raises out of the load and the bot does not start: an error here. A
// file that cannot be written (a read-only mount, a folder that is not
// there) is only logged, "Error writing configs: ...", and the bot goes on
// with the settings it read; the log line goes to stderr (see
// logWriteError), which is where it goes before Hummingbot has set up its
// logging.
func (h home) rewriteClientConfig(stderr io.Writer) (map[string]any, error) {
	path := h.path("conf", "conf_client.yml")
	cfg := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("conf_client.yml: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	// Hummingbot builds its client config model from the file before
	// anything else, and refuses a key it lacks or a value of the wrong
	// type; the stand-in holds the file to the same facts (its own marker,
	// testbot_started, aside).
	own := maps.Clone(cfg)
	delete(own, "testbot_started")
	if ps := hummingbot.CheckClientConfig(own); len(ps) > 0 {
		return nil, fmt.Errorf("conf_client.yml: %d validation error(s) for ClientConfigMap, first: %s", len(ps), ps[0])
	}
	mergeDefaults(cfg, clientDefaults())
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := writeInPlace(path, out); err != nil {
		logWriteError(stderr, err)
	}
	return cfg, nil
}

// writeInPlace writes a file as Python's open(path, "w") does: truncated
// and written through its own inode, created (mode 0666 less the umask)
// when missing. Not a rename: a file mounted on its own can be written in
// place but never replaced, and Hummingbot does not replace it.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// logWriteError reports a failed conf_client.yml write as Hummingbot's
// root logger does before its logging is configured: Python's last-resort
// handler prints the bare message and, as the call asks for exc_info, the
// exception after it, on stderr. Under the image's own command that stderr
// is logs/errors.log; under hbot it is the container's output.
func logWriteError(w io.Writer, err error) {
	exc := pyOSError(err)
	fmt.Fprintf(w, "Error writing configs: %s\nTraceback (most recent call last):\n  (nectar-testbot)\n%s: %s\n", exc.msg, exc.class, exc.msg)
}

type pyException struct{ class, msg string }

// pyOSError is the OSError Python raises for err: its subclass by errno,
// and "[Errno N] Text: 'path'" (the path only when opening failed; a
// failed write names none).
func pyOSError(err error) pyException {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return pyException{"OSError", err.Error()}
	}
	class := "OSError"
	switch errno {
	case syscall.ENOENT:
		class = "FileNotFoundError"
	case syscall.EACCES, syscall.EPERM:
		class = "PermissionError"
	case syscall.EISDIR:
		class = "IsADirectoryError"
	}
	msg := fmt.Sprintf("[Errno %d] %s", int(errno), pyStrerror(errno))
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "open" {
		msg += fmt.Sprintf(": '%s'", pe.Path)
	}
	return pyException{class, msg}
}

func mergeDefaults(dst, defaults map[string]any) {
	for k, v := range defaults {
		cur, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			if have, ok := cur.(map[string]any); ok {
				mergeDefaults(have, sub)
			}
		}
	}
}

// legacyFiles are the files Hummingbot copies into conf/ from its templates
// at every start when they are missing: nectar finds them in an instance
// folder it did not write them to.
var legacyFiles = map[string]string{
	"hummingbot_logs.yml":    "# Written by nectar-testbot, as Hummingbot writes its logging template.\nversion: 1\ntemplate_version: 12\n",
	"conf_fee_overrides.yml": "# Written by nectar-testbot, as Hummingbot writes its fee overrides template.\ntemplate_version: 14\n",
}

func (h home) createLegacyFiles() error {
	for name, content := range legacyFiles {
		path := h.path("conf", name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Python logging levels, by value.
const (
	levelDebug    = 10
	levelInfo     = 20
	levelWarning  = 30
	levelError    = 40
	levelCritical = 50
)

var levelNames = map[int]string{levelDebug: "DEBUG", levelInfo: "INFO", levelWarning: "WARNING", levelError: "ERROR", levelCritical: "CRITICAL"}

// parseLevel reads conf_client.yml's log_level; anything unknown is INFO.
func parseLevel(v any) int {
	s, _ := v.(string)
	for n, name := range levelNames {
		if strings.EqualFold(s, name) {
			return n
		}
	}
	return levelInfo
}

// botLog writes Hummingbot's structured log, logs/logs_<name>.log, in its
// format, so whatever nectar reads from it (ERROR lines) is where and how
// Hummingbot puts it.
type botLog struct {
	mu  sync.Mutex
	f   *os.File
	min int
}

func (h home) openLog(name string, min int) (*botLog, error) {
	f, err := os.OpenFile(h.path("logs", "logs_"+name+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &botLog{f: f, min: min}, nil
}

func (l *botLog) Close() error { return l.f.Close() }

func (l *botLog) log(logger string, level int, format string, args ...any) {
	if level < l.min {
		return
	}
	line := fmt.Sprintf("%s - %d - %s - %s - %s\n",
		time.Now().Format("2006-01-02 15:04:05,000"), os.Getpid(), logger, levelNames[level], fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.WriteString(line)
}

func (l *botLog) info(logger, format string, args ...any) {
	l.log(logger, levelInfo, format, args...)
}

func (l *botLog) error(logger, format string, args ...any) {
	l.log(logger, levelError, format, args...)
}

// logErrors is the TESTBOT_ERRORS knob: that many ERROR lines, so a test
// can check that nectar counts them.
func logErrors(l *botLog) {
	n, _ := strconv.Atoi(os.Getenv("TESTBOT_ERRORS"))
	for i := 1; i <= n; i++ {
		l.error("hummingbot.strategy.script_strategy_base", "Testbot simulated error %d of %d.", i, n)
	}
}

func durationEnv(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d >= 0 {
		return d
	}
	return def
}

// heartbeat rewrites data/testbot-heartbeat, the stand-in's own sign of
// life that tests wait for; it is written only once everything else the
// start writes is in place.
func (h home) heartbeat() error {
	return os.WriteFile(h.path("data", "testbot-heartbeat"), []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644)
}

func heartbeatInterval() time.Duration {
	if d := durationEnv("TESTBOT_HEARTBEAT", 2*time.Second); d > 0 {
		return d
	}
	return 2 * time.Second
}

// ready prints the one line the stand-in puts on stdout: connector names,
// never a value.
func ready(connectors []string, launch, config string) {
	fmt.Printf("testbot: ready connectors=%s launch=%s config=%q\n", strings.Join(connectors, ","), launch, config)
}
