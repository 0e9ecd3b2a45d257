package leakscan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hbcrypt"
	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/testenv"
)

// runTag makes this run's markers unlike any text seen before.
var runTag = fmt.Sprintf("%08x", uint32(time.Now().UnixNano()))

// marker returns a secret value no other text could hold by chance.
func marker(what string) string { return "LEAKMARK" + runTag + "-" + what }

// world is everything the scan runs nectar on and then searches.
type world struct {
	t        *testing.T
	bin      string
	root     string // every file nectar could write lives below it
	fleet    string
	state    string
	identity string
	tmp      string // TMPDIR of every nectar process

	mu      sync.Mutex
	outputs bytes.Buffer // stdout and stderr of every nectar run
	markers []string
	// mqttPassword may sit in a bot's conf/conf_client.yml, and only there.
	mqttPassword string
}

func (w *world) secret(what string) string {
	m := marker(what)
	w.markers = append(w.markers, m)
	return m
}

// nectar runs the binary with stdin and records all it printed.
func (w *world) nectar(stdin string, args ...string) (string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := w.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	w.record(out)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("nectar %s: %v", strings.Join(args, " "), err)
	}
	return string(out), code
}

func (w *world) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--source", w.fleet, "--state-dir", w.state, "--log-level", "debug"}, args...)
	cmd := exec.CommandContext(ctx, w.bin, full...)
	cmd.Env = append(os.Environ(), "NECTAR_AGE_KEY_FILE="+w.identity, "TMPDIR="+w.tmp, "HOME="+w.root)
	return cmd
}

func (w *world) record(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outputs.Write(b)
	w.outputs.WriteByte('\n')
}

func (w *world) mustNectar(stdin string, args ...string) string {
	w.t.Helper()
	out, code := w.nectar(stdin, args...)
	if code != 0 {
		w.t.Fatalf("nectar %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// hummingbotFolder writes a Hummingbot credentials folder (what `nectar
// import` reads) whose password and secrets are markers.
func (w *world) hummingbotFolder(password string) string {
	w.t.Helper()
	dir := filepath.Join(w.root, "hb-credentials")
	if err := os.MkdirAll(filepath.Join(dir, "connectors"), 0o700); err != nil {
		w.t.Fatal(err)
	}
	k := hbcrypt.NewKeyring()
	salt := hbcrypt.NewSalt()
	pv, err := k.PasswordVerification(password, salt)
	if err != nil {
		w.t.Fatal(err)
	}
	write := func(rel, text string) {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(text), 0o600); err != nil {
			w.t.Fatal(err)
		}
	}
	write(".password_verification", pv)
	var b strings.Builder
	b.WriteString("connector: kucoin\n")
	for _, f := range []string{"kucoin_api_key", "kucoin_secret_key", "kucoin_passphrase"} {
		v, err := k.Encrypt(password, salt, []byte(w.secret("imported-"+f)))
		if err != nil {
			w.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", f, v)
	}
	write("connectors/kucoin.yml", b.String())
	return dir
}

// TestNoSecretLeaks gives every secret and password a unique marker, runs
// nectar's commands (their error paths too) and the daemon with debug
// logging, then searches everything nectar produced for any marker: its
// output, every file it wrote (the rendered connector files hold the
// secrets encrypted, as Hummingbot does), its temporary folder, the
// containers' labels, arguments and logs, and the daemon's command line.
// The one place an account password may appear is the password variable
// in a container's environment: that is how Hummingbot receives it. The
// MQTT broker password may appear only as mqtt_password in a bot's
// conf/conf_client.yml (mode 0600), where Hummingbot reads it.
func TestNoSecretLeaks(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "leakscan"
	testenv.RemoveFleet(t, fleetName)
	root := t.TempDir()
	w := &world{t: t, bin: testenv.NectarBinary(t), root: root,
		fleet: filepath.Join(root, "fleet"), state: filepath.Join(root, "state"),
		identity: filepath.Join(root, "age.key"), tmp: filepath.Join(root, "tmp")}
	os.MkdirAll(w.tmp, 0o700)
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })

	// A fleet made with nectar's own commands.
	w.mustNectar("", "keygen", "-o", w.identity)
	w.mustNectar("", "init", w.fleet)
	settings := filepath.Join(w.fleet, "nectar.yaml")
	data, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("fleet: fleet"), []byte("fleet: "+fleetName), 1)
	data = bytes.Replace(data, []byte("image: "+manage.DefaultImage), []byte("image: "+testenv.TestbotImage), 1)
	data = bytes.Replace(data, []byte("network: host"), []byte("network: none"), 1)
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		t.Fatal(err)
	}
	w.mqttBroker(settings)
	w.mustNectar("", "account", "create", "main")
	w.mustNectar(fmt.Sprintf("connector: binance\nsecrets:\n  binance_api_key: %s\n  binance_api_secret: %s\n",
		w.secret("binance-key"), w.secret("binance-secret")), "cred", "add", "main", "binance")
	w.mustNectar(fmt.Sprintf("connector: hyperliquid_perpetual\nsecrets:\n  hyperliquid_perpetual_secret_key: %s\n  hyperliquid_perpetual_address: %s\nsettings:\n  hyperliquid_perpetual_mode: arb_wallet\n",
		w.secret("hl-secret"), w.secret("hl-address")), "cred", "add", "main", "hyperliquid_perpetual")
	importPassword := w.secret("import-password")
	hb := w.hummingbotFolder(importPassword)
	w.mustNectar(importPassword+"\n", "import", hb, "--account", "imported", "--password-stdin")

	// The generated password of account main is a secret as well.
	ids, err := secrets.LoadIdentities(w.identity)
	if err != nil {
		t.Fatal(err)
	}
	pwFile, err := os.ReadFile(filepath.Join(w.fleet, "accounts", "main", "password.age"))
	if err != nil {
		t.Fatal(err)
	}
	mainPassword, err := secrets.Decrypt(pwFile, ids)
	if err != nil {
		t.Fatal(err)
	}
	w.markers = append(w.markers, strings.TrimSpace(string(mainPassword)))

	botFile := func(name, body string) {
		if err := os.WriteFile(filepath.Join(w.fleet, "bots", name+".yml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, body := range map[string]string{"scripts/lk.py": "# a script\n", "conf/scripts/conf_lk.yml": "script_file_name: lk.py\n"} {
		if err := os.WriteFile(filepath.Join(w.fleet, filepath.FromSlash(p)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	botFile("lk-binance", "account: main\nconnectors: [binance, hyperliquid_perpetual]\nconfig: conf_lk.yml\n")
	botFile("lk-imported", "account: imported\nconnectors: [kucoin]\nconfig: conf_lk.yml\n")

	// Every command that reads the secrets, with the daemon's log at debug.
	w.mustNectar("", "validate")
	w.mustNectar("", "cred", "list")
	w.mustNectar("", "render", "--out", filepath.Join(root, "rendered"))
	w.nectar("", "plan")
	w.mustNectar("", "apply")
	w.runDaemon(func() {
		// A credential replaced while the daemon runs: a recreate.
		w.mustNectar(fmt.Sprintf("connector: binance\nsecrets:\n  binance_api_key: %s\n  binance_api_secret: %s\n",
			w.secret("binance-key-2"), w.secret("binance-secret-2")), "cred", "add", "main", "binance", "--replace")
	})

	// Error paths, each fed a secret.
	w.nectar(fmt.Sprintf("connector: binance\nsecrets:\n  binance_api_key: [%s\n", w.secret("bad-yaml")), "cred", "add", "main", "binance", "--replace")
	w.nectar(fmt.Sprintf("connector: binance\nsettings:\n  binance_api_secret: %s\nsecrets:\n  binance_api_key: %s\n", w.secret("misplaced"), w.secret("k3")), "cred", "add", "main", "binance", "--replace")
	w.nectar(w.secret("wrong-password")+"\n", "import", hb, "--account", "again", "--password-stdin")
	plain := filepath.Join(w.fleet, "accounts", "main", "kucoin.yml")
	os.WriteFile(plain, []byte("connector: kucoin\nsecrets:\n  kucoin_api_key: "+w.secret("plaintext-in-fleet")+"\n"), 0o600)
	w.nectar("", "validate")
	w.nectar("", "plan")
	os.Remove(plain)
	// The broker password pasted where it does not belong: a bot's
	// client_config, and a URL as the broker's host.
	botFile("lk-mqtt-plain", "account: main\nconfig: conf_lk.yml\nclient_config:\n  mqtt_bridge: {mqtt_password: "+w.secret("mqtt-plaintext")+"}\n")
	w.nectar("", "validate")
	w.nectar("", "plan")
	os.Remove(filepath.Join(w.fleet, "bots", "lk-mqtt-plain.yml"))
	good := readFile(t, settings)
	os.WriteFile(settings, bytes.Replace(good, []byte("host: 127.0.0.1"), []byte("host: hbot:"+w.secret("mqtt-in-url")+"@127.0.0.1"), 1), 0o644)
	w.nectar("", "validate")
	w.nectar("", "apply")
	os.WriteFile(settings, good, 0o644)
	stranger := filepath.Join(root, "stranger.key")
	w.mustNectar("", "keygen", "-o", stranger)
	mine := w.identity
	w.identity = stranger
	w.nectar("", "apply")
	w.identity = mine

	w.scan()
}

// mqttBroker points the fleet's bots at an MQTT broker (none listens:
// the bots run without a network) whose password is a marker, in an age
// file of the fleet. Hummingbot reads that password in plaintext from
// conf/conf_client.yml, so there, as mqtt_password, is the one place the
// scan lets it be.
func (w *world) mqttBroker(settings string) {
	w.t.Helper()
	w.mqttPassword = w.secret("mqtt-password")
	ids, err := secrets.LoadIdentities(w.identity)
	if err != nil {
		w.t.Fatal(err)
	}
	rs, err := secrets.ParseRecipients(ids.Recipients)
	if err != nil {
		w.t.Fatal(err)
	}
	sealed, err := secrets.Encrypt([]byte(w.mqttPassword+"\n"), rs)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.fleet, "mqtt"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.fleet, "mqtt", "password.age"), sealed, 0o644); err != nil {
		w.t.Fatal(err)
	}
	data := append(readFile(w.t, settings), "mqtt:\n  host: 127.0.0.1\n  port: 18830\n  username: hbot\n  password_file: mqtt/password.age\n"...)
	if err := os.WriteFile(settings, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runDaemon runs `nectar run` for a few seconds around during, and also
// records its command line as the system shows it.
func (w *world) runDaemon(during func()) {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := w.command(ctx, "run", "--log-format", "json", "--listen", "127.0.0.1:0")
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	w.readStatusPages(out.String())
	if argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); err == nil {
		w.record(argv)
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid)); err == nil {
		w.record(env) // nectar's own environment holds no secret either
	}
	during()
	time.Sleep(3 * time.Second)
	w.readStatusPages(out.String())
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	w.record([]byte(out.String()))
	if !strings.Contains(out.String(), `"level":"DEBUG"`) {
		w.t.Errorf("the daemon logged nothing at debug level; the scan would miss its debug lines:\n%s", out.String())
	}
}

// reachedBots are the secrets that reached a bot at some point, so a bot
// could log them: account passwords, connector secrets (before and after a
// rotation), the broker's password. The others were refused or never
// meant for a bot.
func (w *world) reachedBots() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.markers {
		what, isMarker := strings.CutPrefix(m, marker(""))
		switch {
		case !isMarker, // the account password nectar made
			strings.HasPrefix(what, "binance-"), strings.HasPrefix(what, "hl-"),
			strings.HasPrefix(what, "imported-"), what == "import-password", what == "mqtt-password":
			out = append(out, m)
		}
	}
	return out
}

// scan searches everything for every marker, as is and encoded.
func (w *world) scan() {
	w.t.Helper()
	var forms []string
	for _, m := range w.markers {
		forms = append(forms, m, hex.EncodeToString([]byte(m)), base64.StdEncoding.EncodeToString([]byte(m)))
	}
	check := func(where string, data []byte) {
		for _, f := range forms {
			if bytes.Contains(data, []byte(f)) {
				w.t.Errorf("a secret (%.20s…) leaked into %s", f, where)
			}
		}
	}
	w.mu.Lock()
	check("nectar's output", w.outputs.Bytes())
	w.mu.Unlock()

	clientConfigs := 0
	filepath.WalkDir(w.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if strings.HasPrefix(p, filepath.Join(w.root, "hb-credentials")) {
			return nil // the test's own input
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if filepath.Base(p) == "conf_client.yml" && filepath.Base(filepath.Dir(p)) == "conf" {
			// Where Hummingbot reads the broker password, in plaintext as
			// it keeps it, in a file of mode 0600.
			allowed := []byte("mqtt_password: " + w.mqttPassword + "\n")
			if bytes.Contains(data, allowed) {
				clientConfigs++
				if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
					w.t.Errorf("%s holds the broker password with mode %v, want 0600", p, info.Mode().Perm())
				}
			}
			data = bytes.ReplaceAll(data, allowed, nil)
		}
		check(p, data)
		return nil
	})
	if clientConfigs == 0 {
		w.t.Error("no conf/conf_client.yml holds the broker password: the bots' MQTT bridge is off, and the scan would look at nothing")
	}

	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=nectar.fleet=leakscan").Output()
	if err != nil {
		w.t.Fatal(err)
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		w.t.Fatal("no container to inspect")
	}
	for _, id := range ids {
		for _, format := range []string{"{{json .Config.Labels}}", "{{json .Args}}", "{{json .Config.Cmd}}", "{{json .Config.Entrypoint}}", "{{json .HostConfig.Binds}}", "{{.Name}}"} {
			v, err := exec.Command("docker", "inspect", "--format", format, id).Output()
			if err != nil {
				w.t.Fatal(err)
			}
			check("container "+id+" "+format, v)
		}
		logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
		check("container "+id+" logs", logs)
	}
}

var statusURL = regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+)"`)

// readStatusPages fetches every page, API and metrics endpoint of the
// running daemon (its address is in its log) and records the bodies.
func (w *world) readStatusPages(log string) {
	w.t.Helper()
	m := statusURL.FindStringSubmatch(log)
	if m == nil {
		w.t.Fatalf("the daemon did not log its status page address:\n%s", log)
	}
	base := m[1]
	paths := []string{"/", "/accounts", "/files", "/files/scripts", "/files/conf/scripts", "/files/accounts/main/password.age",
		"/files/../accounts/main/binance.yml.age", "/api/v1/status", "/metrics", "/healthz", "/readyz", "/events?once=1"}
	for _, bot := range []string{"lk-binance", "lk-imported"} {
		paths = append(paths, "/bots/"+bot, "/api/v1/bots/"+bot)
	}
	// A bot that logs its own secrets: the bot page shows the end of its
	// log, which must come out masked. The planted log goes again before
	// the disk is scanned (it is the bot's doing, not nectar's).
	for _, bot := range []string{"lk-binance", "lk-imported"} {
		logs := filepath.Join(w.state, "instances", bot, "logs")
		planted := filepath.Join(logs, "logs_zz_planted.log")
		text := "a careless bot logs: " + strings.Join(w.reachedBots(), " and ") + "\n"
		if err := os.WriteFile(planted, []byte(text), 0o600); err != nil {
			w.t.Fatalf("planting a log for %s: %v", bot, err)
		}
		// The page shows the newest log; the bot keeps writing its own.
		future := time.Now().Add(time.Hour)
		if err := os.Chtimes(planted, future, future); err != nil {
			w.t.Fatal(err)
		}
		defer os.Remove(planted)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(p string) ([]byte, *http.Response, error) {
		resp, err := client.Get(base + p)
		if err != nil {
			return nil, nil, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20)) // /events streams: cut by the timeout
		resp.Body.Close()
		return body, resp, nil
	}
	for _, p := range paths {
		body, resp, err := get(p)
		if err != nil {
			w.t.Errorf("GET %s: %v", p, err)
			continue
		}
		if strings.HasPrefix(p, "/bots/") {
			// The log is shown once the daemon has loaded the fleet (it
			// must know the secrets to mask them): a slow first pass is
			// waited for.
			for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(body, []byte("a careless bot logs")) && time.Now().Before(deadline); {
				w.record(body)
				time.Sleep(250 * time.Millisecond)
				if body, resp, err = get(p); err != nil {
					break
				}
			}
			if !bytes.Contains(body, []byte("a careless bot logs")) {
				w.t.Errorf("GET %s shows no log tail: the scan would not see how it masks secrets", p)
			}
		}
		if strings.HasPrefix(p, "/api/v1/") && (resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("lk-"))) {
			w.t.Errorf("GET %s: %s, and the body names no bot: the scan would look at nothing", p, resp.Status)
		}
		w.record(body)
	}
}
