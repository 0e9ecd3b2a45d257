package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// The stand-in runs as a subprocess, built without the race detector: the
// password check derives a PBKDF2 key (a million rounds), which takes
// seconds per run under -race. The in-process tests below cover the rest.
var (
	binDir   string // the binary under each of its names
	template string // an instance folder, copied by each test
)

const password = "correct horse battery staple"

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.RemoveAll(binDir)
	os.RemoveAll(template)
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var err error
	if binDir, err = os.MkdirTemp("", "nectar-testbot-bin-"); err != nil {
		return 1, err
	}
	bin := filepath.Join(binDir, "nectar-testbot")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("building the test bot: %v\n%s", err, out)
	}
	for name := range modes {
		if err := os.Symlink(bin, filepath.Join(binDir, name)); err != nil {
			return 1, err
		}
	}
	if template, err = os.MkdirTemp("", "nectar-testbot-home-"); err != nil {
		return 1, err
	}
	if err := writeInstance(home(template)); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// writeInstance lays out an instance folder as nectar renders one: the
// password's verification file, two connectors with encrypted secrets,
// configs of each kind, the scripts and controllers they need, data/ and
// logs/, and bin/hummingbot_quickstart.py for the bash mode to start.
func writeInstance(h home) error {
	keys := hbcrypt.NewKeyring()
	salt := hbcrypt.NewSalt() // one salt: one key derivation per run
	enc := func(s string) string {
		v, err := keys.Encrypt(password, salt, []byte(s))
		if err != nil {
			panic(err)
		}
		return v
	}
	verification, err := keys.PasswordVerification(password, salt)
	if err != nil {
		return err
	}
	image := filepath.Join("image", "home", "hummingbot")
	v2Loader, err := os.ReadFile(filepath.Join(image, "scripts", "v2_with_controllers.py"))
	if err != nil {
		return err
	}
	pmm, err := os.ReadFile(filepath.Join(image, "controllers", "market_making", "pmm_simple.py"))
	if err != nil {
		return err
	}
	files := map[string]string{
		"conf/.password_verification":             verification,
		"conf/conf_client.yml":                    "instance_id: hummingbot-test\nlog_level: INFO\nmqtt_bridge:\n  mqtt_autostart: true\n",
		"conf/connectors/binance.yml":             "connector: binance\nbinance_api_key: " + enc("key-one") + "\nbinance_api_secret: " + enc("secret-one") + "\n",
		"conf/connectors/kucoin.yml":              "connector: kucoin\nkucoin_api_key: " + enc("key-two") + "\nkucoin_secret_key: " + enc("secret-two") + "\nkucoin_passphrase: " + enc("phrase-two") + "\n",
		"conf/scripts/conf_quotes.yml":            "script_file_name: quote_logger.py\nmarkets:\n  binance:\n  - BTC-USDT\n",
		"conf/controllers/conf_pmm.yml":           "id: pmm\ncontroller_name: pmm_simple\ncontroller_type: market_making\nconnector_name: kucoin\ntrading_pair: ETH-USDT\n",
		"conf/strategies/conf_pure.yml":           "template_version: 7\nstrategy: pure_market_making\nexchange: binance\nmarket: BTC-USDT\n",
		"scripts/quote_logger.py":                 "# a fleet's own script\n",
		"scripts/v2_with_controllers.py":          string(v2Loader),
		"controllers/market_making/pmm_simple.py": string(pmm),
	}
	for _, d := range []string{"data", "logs", "bin"} {
		if err := os.MkdirAll(h.path(d), 0o755); err != nil {
			return err
		}
	}
	for rel, content := range files {
		p := h.path(filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return os.Symlink(filepath.Join(binDir, "hummingbot_quickstart.py"), h.path("bin", "hummingbot_quickstart.py"))
}

// instance returns a fresh copy of the template instance folder.
func instance(t *testing.T) home {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(template, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(template, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return home(dst)
}

// bot is one run of the stand-in under one of its names.
type bot struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

// syncBuffer is a buffer a test may read while the process still writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// botEnv is the environment of a run: only what is given, so nothing
// from the test's own environment (a password) leaks in.
func botEnv(h home, env ...string) []string {
	return append([]string{"HUMMINGBOT_HOME=" + string(h), "TESTBOT_HEARTBEAT=50ms", "TESTBOT_STOP_DELAY=300ms"}, env...)
}

func start(t *testing.T, h home, env []string, mode string, args ...string) *bot {
	t.Helper()
	b := &bot{cmd: exec.Command(filepath.Join(binDir, mode), args...), done: make(chan struct{})}
	b.cmd.Env = botEnv(h, env...)
	b.cmd.Dir = string(h)
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	// Its own process group, so a test can kill bash and the bot together.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
	})
	return b
}

// wait waits for the run to end and returns its exit code (-1 when a
// signal ended it).
func (b *bot) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not exit; stderr:\n%s", b.cmd.Path, &b.stderr)
	}
	var exit *exec.ExitError
	if errors.As(b.err, &exit) {
		return exit.ExitCode()
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return 0
}

func (b *bot) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// runBot runs the stand-in to its end.
func runBot(t *testing.T, h home, env []string, mode string, args ...string) (int, *bot) {
	t.Helper()
	b := start(t, h, env, mode, args...)
	return b.wait(t), b
}

// waitFile waits until path exists (and, when it is the heartbeat, until
// the bot is up), failing early if the bot exits first.
func waitFile(t *testing.T, b *bot, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if b != nil && b.exited() {
			t.Fatalf("the bot exited before %s appeared; stdout:\n%s\nstderr:\n%s", path, &b.stdout, &b.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readStatus(t *testing.T, h home) map[string]any {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(read(t, h.botFile("status.json"))), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// hbotStart is `hbot start … --foreground` with the password in HBOT_PASSWORD.
var withPassword = []string{"HBOT_PASSWORD=" + password}

func TestHbotStartRefusals(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		args   []string
		mutate func(h home)
		code   int
		stderr string // exact, unless it ends with "…"
		log    string // a line expected in logs/logs_<log name>.log
	}{
		{name: "not in the foreground", env: withPassword, args: []string{"start", "conf_quotes.yml"}, code: 1,
			stderr: "Error: nectar-testbot runs only in the foreground: pass --foreground…"},
		{name: "not found", env: withPassword, args: []string{"start", "conf_nope.yml", "--foreground"}, code: 2,
			stderr: "Error: config not found: conf_nope.yml (code 2)"},
		{name: "no .yml added", env: withPassword, args: []string{"start", "conf_quotes", "--foreground"}, code: 2,
			stderr: "Error: config not found: conf_quotes (code 2)"},
		{name: "flag names another folder", env: withPassword, args: []string{"start", "--controller", "conf_quotes.yml", "--foreground"}, code: 2,
			stderr: "Error: controller config not found: conf_quotes.yml (code 2)"},
		{name: "in two folders", env: withPassword, args: []string{"start", "conf_pmm.yml", "--foreground"}, code: 4,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "scripts", "conf_pmm.yml"), []byte("script_file_name: v2_with_controllers.py\n"), 0o644)
			},
			stderr: "Error: 'conf_pmm.yml' exists as v2-script and controller — pass --v2-script / --controller to disambiguate (code 4)"},
		{name: "two type flags", env: withPassword, args: []string{"start", "conf_pmm.yml", "--v2-script", "--controller", "--foreground"}, code: 4,
			stderr: "Error: use only one of --v1-strategy / --v2-script / --controller (code 4)"},
		{name: "no file and none loaded", env: withPassword, args: []string{"start", "--foreground"}, code: 4,
			stderr: "Error: no config given and none imported — pass a config file or run `hbot import <file>` first (code 4)"},
		{name: "unknown option", env: withPassword, args: []string{"start", "conf_quotes.yml", "--foreground", "--detach"}, code: 2,
			stderr: "Usage: hbot start [OPTIONS] [FILE]…"},
		{name: "no password", args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 4,
			stderr: "Error: no password provided — use --password-stdin, set $HBOT_PASSWORD, or run interactively (code 4)"},
		{name: "wrong password", env: []string{"HBOT_PASSWORD=wrong"}, args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 4,
			stderr: "Error: invalid password (code 4)"},
		{name: "HBOT_PASSWORD before CONFIG_PASSWORD", env: []string{"HBOT_PASSWORD=wrong", "CONFIG_PASSWORD=" + password},
			args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 4, stderr: "Error: invalid password (code 4)"},
		{name: "controller without a type", env: withPassword, args: []string{"start", "conf_pmm.yml", "--foreground"}, code: 4,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "controllers", "conf_pmm.yml"), []byte("controller_name: pmm_simple\n"), 0o644)
			},
			stderr: "Error: invalid controller config: Missing controller_type or controller_name in conf_pmm.yml (code 4)"},
		{name: "controller module missing", env: withPassword, args: []string{"start", "conf_pmm.yml", "--foreground"}, code: 4,
			mutate: func(h home) { os.Remove(h.path("controllers", "market_making", "pmm_simple.py")) },
			stderr: "Error: invalid controller config: No module named 'controllers.market_making.pmm_simple' (code 4)"},
		{name: "script missing", env: withPassword, args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 1,
			mutate: func(h home) { os.Remove(h.path("scripts", "quote_logger.py")) },
			log:    "conf_quotes: Failed to start strategy quote_logger: Unknown strategy: quote_logger"},
		{name: "no script_file_name", env: withPassword, args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 1,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "scripts", "conf_quotes.yml"), []byte("markets: {}\n"), 0o644)
			},
			log: "conf_quotes: Config file is missing 'script_file_name' field."},
		{name: "loader without the image's script", env: withPassword, args: []string{"start", "conf_pmm.yml", "--foreground"}, code: 1,
			mutate: func(h home) { os.Remove(h.path("scripts", "v2_with_controllers.py")) },
			log:    "conf_pmm: Failed to start strategy v2_with_controllers: Unknown strategy: v2_with_controllers"},
		{name: "V1 without strategy", env: withPassword, args: []string{"start", "conf_pure.yml", "--foreground"}, code: 1,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "strategies", "conf_pure.yml"), []byte("exchange: binance\n"), 0o644)
			},
			log: "conf_pure: Failed to load strategy. Exiting."},
		{name: "tampered secret", env: withPassword, args: []string{"start", "conf_quotes.yml", "--foreground"}, code: 1,
			mutate: func(h home) { tamper(h.path("conf", "connectors", "binance.yml"), "binance_api_secret") },
			stderr: "Traceback (most recent call last):…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := instance(t)
			if tt.mutate != nil {
				tt.mutate(h)
			}
			code, b := runBot(t, h, tt.env, "hbot", tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.code, &b.stderr)
			}
			got := strings.TrimSpace(b.stderr.String())
			if want, prefix := strings.CutSuffix(tt.stderr, "…"); prefix && !strings.HasPrefix(got, want) || !prefix && want != "" && got != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tt.stderr)
			}
			if strings.Contains(b.stdout.String()+b.stderr.String(), password) {
				t.Error("the password was printed")
			}
			if tt.log != "" {
				name, line, _ := strings.Cut(tt.log, ": ")
				log := read(t, h.path("logs", "logs_"+name+".log"))
				if !strings.Contains(log, " - ERROR - "+line) || !strings.Contains(log, " - ERROR - Failed to load strategy. Exiting.") {
					t.Errorf("log:\n%s\nwant an ERROR line %q", log, line)
				}
			}
		})
	}
}

// tamper flips one hex digit of a secret's MAC.
func tamper(path, field string) {
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, field+": "); ok {
			at := strings.Index(v, hexOf(`"mac": "`)) + len(hexOf(`"mac": "`))
			digit := "30" // '0'
			if v[at:at+2] == digit {
				digit = "31"
			}
			lines[i] = field + ": " + v[:at] + digit + v[at+2:]
		}
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \d+ - [\w.]+ - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - .+$`)

// TestHbotRunsAndStops walks a V2 script bot through its life: the files
// hbot writes, status.json and its refresh on SIGUSR1, the stop on SIGTERM.
func TestHbotRunsAndStops(t *testing.T) {
	h := instance(t)
	b := start(t, h, withPassword, "hbot", "start", "--v2-script", "conf_quotes.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	pid := b.cmd.Process.Pid

	if got := read(t, h.botFile("bot.pid")); got != strconv.Itoa(pid) {
		t.Errorf("bot.pid = %q, want %d", got, pid)
	}
	var loaded map[string]any
	json.Unmarshal([]byte(read(t, h.botFile("loaded.json"))), &loaded)
	if fmt.Sprint(loaded) != "map[file:conf_quotes.yml type:v2-script]" {
		t.Errorf("loaded.json = %v", loaded)
	}
	var m map[string]any
	json.Unmarshal([]byte(read(t, h.botFile("meta.json"))), &m)
	if m["name"] != "conf_quotes" || m["type"] != "v2-script" || m["file"] != "conf_quotes.yml" || m["config"] != nil ||
		m["script_config"] != "conf_quotes.yml" || m["pid"] != float64(pid) || m["strategy_name"] != "quote_logger" ||
		m["config_file_path"] != "conf_quotes.yml" || m["db_path"] != h.path("data", "conf_quotes.sqlite") {
		t.Errorf("meta.json = %v", m)
	}
	for _, f := range []string{"bot.pid", "meta.json", "loaded.json", "status.json"} {
		if info, err := os.Stat(h.botFile(f)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("data/bot/%s: %v %v, want mode 0600", f, info.Mode(), err)
		}
	}

	st := readStatus(t, h)
	keys := regexp.MustCompile(`(?m)^  "(\w+)"`).FindAllStringSubmatch(read(t, h.botFile("status.json")), -1)
	var order []string
	for _, k := range keys {
		order = append(order, k[1])
	}
	if strings.Join(order, ",") != "name,pid,running,updated_at,engine,format_status,balances" {
		t.Errorf("status.json keys %v", order)
	}
	eng := st["engine"].(map[string]any)
	if st["name"] != "conf_quotes" || st["pid"] != float64(pid) || st["running"] != true ||
		eng["clock_running"] != true || eng["strategy_running"] != true || eng["strategy_name"] != "quote_logger" ||
		eng["strategy_file_name"] != "conf_quotes.yml" || eng["strategy_type"] != "v2" ||
		eng["kill_switch_enabled"] != false || eng["markets_recorder_active"] != true {
		t.Errorf("status.json = %v", st)
	}
	updated := st["updated_at"].(float64)
	if now := float64(time.Now().UnixNano()) / 1e9; updated > now || updated < now-30 {
		t.Errorf("updated_at %v is not unix seconds", updated)
	}
	if start := eng["start_time"].(float64); start < updated*1e3-30e3 || start > updated*1e3 {
		t.Errorf("start_time %v is not unix milliseconds", start)
	}
	if _, ok := eng["uptime"].(float64); !ok {
		t.Errorf("uptime %v", eng["uptime"])
	}
	conns := eng["connectors"].(map[string]any)
	binance, _ := conns["binance"].(map[string]any)
	if len(conns) != 1 || binance["ready"] != true || fmt.Sprint(binance["trading_pairs"]) != "[BTC-USDT]" ||
		binance["orders_count"] != float64(2) || fmt.Sprint(binance["balances"]) != "map[BTC:1.5 USDT:1000.25]" {
		t.Errorf("connectors = %v", conns)
	}
	if bal := fmt.Sprint(st["balances"]); bal != "map[binance:map[BTC:1.5 USDT:1000.25]]" {
		t.Errorf("balances = %s", bal)
	}
	if fs, _ := st["format_status"].(string); fs == "" {
		t.Error("no format_status")
	}

	// hbot status: SIGUSR1, then updated_at moves on.
	time.Sleep(20 * time.Millisecond)
	b.cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(10 * time.Second)
	for readStatus(t, h)["updated_at"].(float64) <= updated {
		if time.Now().After(deadline) {
			t.Fatal("SIGUSR1 did not refresh status.json")
		}
		time.Sleep(10 * time.Millisecond)
	}

	stopAt := time.Now()
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Process.Signal(syscall.SIGTERM) // a second one changes nothing
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; stderr:\n%s", code, &b.stderr)
	}
	if took := time.Since(stopAt); took < 300*time.Millisecond {
		t.Errorf("the stop took %v, less than TESTBOT_STOP_DELAY", took)
	}
	stops := read(t, h.path("data", "testbot-stops"))
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ cancelled orders connectors=binance\n$`).MatchString(stops) {
		t.Errorf("testbot-stops = %q", stops)
	}
	final := readStatus(t, h)
	eng = final["engine"].(map[string]any)
	if final["running"] != false || eng["clock_running"] != false || eng["strategy_running"] != false ||
		eng["strategy_name"] != nil || eng["strategy_file_name"] != nil || eng["strategy_type"] != nil ||
		fmt.Sprint(eng["connectors"]) != "map[]" || eng["markets_recorder_active"] != false || final["format_status"] != nil {
		t.Errorf("final status.json = %v", final)
	}
	if _, ok := final["balances"]; ok {
		t.Error("the final status.json has balances")
	}
	if final["updated_at"].(float64) <= updated || eng["start_time"] == nil {
		t.Errorf("final status.json = %v", final)
	}
	if _, err := os.Stat(h.botFile("bot.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bot.pid still there: %v", err)
	}

	log := read(t, h.path("logs", "logs_conf_quotes.log"))
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !logLine.MatchString(l) {
			t.Errorf("log line %q is not in Hummingbot's format", l)
		}
	}
	for _, want := range []string{
		" - " + strconv.Itoa(pid) + " - hummingbot.core.trading_core - INFO - Strategy quote_logger started successfully\n",
		" - INFO - Stop requested — winding down strategy and cancelling orders.\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, " - ERROR - ") {
		t.Errorf("errors logged:\n%s", log)
	}
	if out := b.stdout.String(); !strings.Contains(out, "testbot: ready connectors=binance,kucoin launch=hbot") || strings.Count(out, "\n") != 1 {
		t.Errorf("stdout = %q", out)
	}
	// Hummingbot's rewrite of conf_client.yml keeps nectar's keys.
	var client map[string]any
	yaml.Unmarshal([]byte(read(t, h.path("conf", "conf_client.yml"))), &client)
	if client["instance_id"] != "hummingbot-test" || client["testbot_started"] != true {
		t.Errorf("conf_client.yml = %v", client)
	}
	for _, f := range []string{"hummingbot_logs.yml", "conf_fee_overrides.yml"} {
		if _, err := os.Stat(h.path("conf", f)); err != nil {
			t.Errorf("conf/%s was not created: %v", f, err)
		}
	}
}

// TestHbotController: a controller runs through a loader script config
// written next to the fleet's, which then makes the name ambiguous unless
// the type is given (or taken from loaded.json).
func TestHbotController(t *testing.T) {
	h := instance(t)
	b := start(t, h, withPassword, "hbot", "start", "conf_pmm.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	want := "script_file_name: v2_with_controllers.py\ncontrollers_config:\n- conf_pmm.yml\nmax_global_drawdown_quote: null\nmax_controller_drawdown_quote: null\n"
	if got := read(t, h.path("conf", "scripts", "conf_pmm.yml")); got != want {
		t.Errorf("loader:\n%s\nwant:\n%s", got, want)
	}
	st := readStatus(t, h)
	eng := st["engine"].(map[string]any)
	if st["name"] != "conf_pmm" || eng["strategy_name"] != "v2_with_controllers" || eng["strategy_file_name"] != "conf_pmm.yml" ||
		eng["strategy_type"] != "v2" || fmt.Sprint(eng["connectors"].(map[string]any)["kucoin"].(map[string]any)["trading_pairs"]) != "[ETH-USDT]" {
		t.Errorf("status.json = %v", st)
	}
	var m map[string]any
	json.Unmarshal([]byte(read(t, h.botFile("meta.json"))), &m)
	if m["type"] != "controller" || m["file"] != "conf_pmm.yml" || m["script_config"] != "conf_pmm.yml" || m["name"] != "conf_pmm" {
		t.Errorf("meta.json = %v", m)
	}
	b.cmd.Process.Signal(syscall.SIGINT)
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, &b.stderr)
	}
	if stops := read(t, h.path("data", "testbot-stops")); !strings.HasSuffix(stops, " cancelled orders connectors=kucoin\n") {
		t.Errorf("testbot-stops = %q", stops)
	}

	// The restart hbot's README warns about.
	code, b := runBot(t, h, withPassword, "hbot", "start", "conf_pmm.yml", "--foreground")
	if code != 4 || !strings.Contains(b.stderr.String(), "exists as v2-script and controller") {
		t.Fatalf("restart without a type: %d %s", code, &b.stderr)
	}
	// With no file, hbot runs what loaded.json names, with its type.
	b = start(t, h, withPassword, "hbot", "start", "--foreground")
	os.Remove(h.path("data", "testbot-heartbeat"))
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	if st := readStatus(t, h); st["name"] != "conf_pmm" {
		t.Errorf("status.json = %v", st)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestHbotKnobs: a V1 strategy, not trading, with errors in its log; and
// hbot creating conf/.password_verification from the first password.
func TestHbotKnobs(t *testing.T) {
	h := instance(t)
	os.Remove(h.path("conf", ".password_verification"))
	env := []string{"CONFIG_PASSWORD=" + password, "TESTBOT_NOT_TRADING=1", "TESTBOT_ERRORS=3"}
	b := start(t, h, env, "hbot", "start", "conf_pure.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	st := readStatus(t, h)
	eng := st["engine"].(map[string]any)
	if st["running"] != true || eng["strategy_running"] != false || eng["strategy_type"] != "regular" ||
		eng["strategy_name"] != "pure_market_making" || eng["strategy_file_name"] != "conf_pure.yml" {
		t.Errorf("status.json = %v", st)
	}
	if n := strings.Count(read(t, h.path("logs", "logs_conf_pure.log")), " - ERROR - "); n != 3 {
		t.Errorf("%d ERROR lines, want 3", n)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(h.path("conf", ".password_verification")); err != nil {
		t.Fatal(err)
	}
	// The file now holds that password: another one is refused.
	code, b := runBot(t, h, []string{"HBOT_PASSWORD=another"}, "hbot", "start", "conf_pure.yml", "--foreground")
	if code != 4 || strings.TrimSpace(b.stderr.String()) != "Error: invalid password (code 4)" {
		t.Errorf("%d %s", code, &b.stderr)
	}
}

// TestQuickstart covers the classic launch's exits, faithful quirks
// included.
func TestQuickstart(t *testing.T) {
	pw := "CONFIG_PASSWORD=" + password
	tests := []struct {
		name   string
		env    []string
		mutate func(h home)
		code   int
		stderr string
		log    string // an ERROR line in logs/logs_hummingbot.log
	}{
		{name: "no verification file", env: []string{pw, "SCRIPT_CONFIG=conf_quotes.yml"}, code: 1,
			mutate: func(h home) { os.Remove(h.path("conf", ".password_verification")) },
			stderr: "FileNotFoundError: [Errno 2] No such file or directory"},
		{name: "wrong password exits 0", env: []string{"CONFIG_PASSWORD=wrong", "SCRIPT_CONFIG=conf_quotes.yml"}, code: 0, stderr: "Invalid password."},
		{name: "no password and no terminal", env: []string{"SCRIPT_CONFIG=conf_quotes.yml"}, code: 1, stderr: "no CONFIG_PASSWORD"},
		{name: "script config missing", env: []string{pw, "SCRIPT_CONFIG=conf_nope.yml"}, code: 1, log: "V2 config file not found: "},
		{name: "script missing", env: []string{pw, "SCRIPT_CONFIG=conf_quotes.yml"}, code: 1,
			mutate: func(h home) { os.Remove(h.path("scripts", "quote_logger.py")) },
			log:    "Failed to start strategy quote_logger: Unknown strategy: quote_logger"},
		{name: "a .py is no V1 config", env: []string{pw, "CONFIG_FILE_NAME=quote_logger.py"}, code: 1, log: "Strategy config file not found: "},
		{name: "unknown V1 strategy", env: []string{pw, "CONFIG_FILE_NAME=conf_pure.yml"}, code: 1,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "strategies", "conf_pure.yml"), []byte("strategy: my_strategy\n"), 0o644)
			},
			log: "Error loading strategy config file: No module named 'hummingbot.strategy.my_strategy'"},
		{name: "controller of the script config missing", env: []string{pw, "SCRIPT_CONFIG=conf_loader.yml"}, code: 1,
			mutate: func(h home) {
				os.WriteFile(h.path("conf", "scripts", "conf_loader.yml"), []byte("script_file_name: v2_with_controllers.py\ncontrollers_config: [conf_gone.yml]\n"), 0o644)
			},
			log: "Failed to start strategy v2_with_controllers: [Errno 2] No such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := instance(t)
			if tt.mutate != nil {
				tt.mutate(h)
			}
			code, b := runBot(t, h, tt.env, "hummingbot_quickstart.py")
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.code, &b.stderr)
			}
			if !strings.Contains(b.stderr.String(), tt.stderr) {
				t.Errorf("stderr:\n%s\nwant %q", &b.stderr, tt.stderr)
			}
			if tt.log != "" {
				log := read(t, h.path("logs", "logs_hummingbot.log"))
				if !strings.Contains(log, " - ERROR - "+tt.log) || !strings.HasSuffix(log, " - root - ERROR - Failed to load strategy. Exiting.\n") {
					t.Errorf("log:\n%s\nwant an ERROR line %q", log, tt.log)
				}
			}
		})
	}
}

// TestQuickstartRunsWithoutStopPath: SCRIPT_CONFIG wins over
// CONFIG_FILE_NAME, and SIGTERM ends the classic bot on the spot: no stop
// record, no status.json.
func TestQuickstartRunsWithoutStopPath(t *testing.T) {
	h := instance(t)
	b := start(t, h, []string{"CONFIG_PASSWORD=" + password, "SCRIPT_CONFIG=conf_quotes.yml", "CONFIG_FILE_NAME=quote_logger.py", "HEADLESS_MODE=true"},
		"hummingbot_quickstart.py")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	if log := read(t, h.path("logs", "logs_conf_quotes.log")); !strings.Contains(log, "Strategy quote_logger started successfully") {
		t.Errorf("log:\n%s", log)
	}
	if !strings.Contains(b.stdout.String(), "testbot: ready connectors=binance,kucoin launch=classic") {
		t.Errorf("stdout %q", &b.stdout)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait(t)
	if ws := b.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("the classic bot ended with %v, want killed by SIGTERM", b.cmd.ProcessState)
	}
	for _, f := range []string{h.path("data", "testbot-stops"), h.botFile("status.json")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists: %v", f, err)
		}
	}
}

// imageCommand is the official image's CMD after `bash`.
var imageCommand = []string{"-lc", "conda activate hummingbot && ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log"}

// TestBashIgnoresSIGTERM: the image's PID 1 shrugs SIGTERM off and its
// bot keeps running, so only a kill ends it.
func TestBashIgnoresSIGTERM(t *testing.T) {
	h := instance(t)
	b := start(t, h, []string{"CONFIG_PASSWORD=" + password, "SCRIPT_CONFIG=conf_quotes.yml"}, "bash", imageCommand...)
	beat := h.path("data", "testbot-heartbeat")
	waitFile(t, b, beat)
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(300 * time.Millisecond)
	if b.exited() {
		t.Fatalf("bash exited on SIGTERM: %v", b.cmd.ProcessState)
	}
	// The bot is still beating.
	first := read(t, beat)
	deadline := time.Now().Add(10 * time.Second)
	for read(t, beat) == first {
		if time.Now().After(deadline) {
			t.Fatal("the bot under bash stopped after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.wait(t)
	if _, err := os.Stat(h.path("data", "testbot-stops")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed classic bot left a stop record: %v", err)
	}
}

// TestBashPassesOn: bash appends the bot's stderr to logs/errors.log and
// exits with its code.
func TestBashPassesOn(t *testing.T) {
	h := instance(t)
	code, _ := runBot(t, h, []string{"CONFIG_PASSWORD=wrong"}, "bash", imageCommand...)
	if code != 0 {
		t.Errorf("exit code %d after a wrong password, want 0", code)
	}
	os.Remove(h.path("conf", ".password_verification"))
	code, _ = runBot(t, h, []string{"CONFIG_PASSWORD=" + password}, "bash", imageCommand...)
	if code != 1 {
		t.Errorf("exit code %d without a verification file, want 1", code)
	}
	errs := read(t, h.path("logs", "errors.log"))
	if !strings.HasPrefix(errs, "Invalid password.\n") || !strings.Contains(errs, "FileNotFoundError") {
		t.Errorf("errors.log:\n%s", errs)
	}
	if code, b := runBot(t, h, nil, "bash", "-c", "echo hi"); code != 2 || !strings.Contains(b.stderr.String(), "only runs the image's own command") {
		t.Errorf("another command: %d %s", code, &b.stderr)
	}
}

func TestModeFromArgument(t *testing.T) {
	code, b := runBot(t, instance(t), nil, "nectar-testbot", "hbot", "--version")
	if code != 0 || b.stdout.String() != "hbot 2.16.0\n" {
		t.Errorf("%d %q", code, &b.stdout)
	}
	if code, _ := runBot(t, instance(t), nil, "nectar-testbot"); code != 2 {
		t.Errorf("no mode: exit code %d", code)
	}
}

// The rest runs in-process.

func TestRewriteClientConfig(t *testing.T) {
	h := home(t.TempDir())
	os.MkdirAll(h.path("conf"), 0o755)
	os.WriteFile(h.path("conf", "conf_client.yml"), []byte("instance_id: mine\nlog_level: DEBUG\nmqtt_bridge:\n  mqtt_autostart: true\n  mqtt_host: broker\n"), 0o600)
	cfg, err := h.rewriteClientConfig(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	yaml.Unmarshal([]byte(read(t, h.path("conf", "conf_client.yml"))), &got)
	mqtt := got["mqtt_bridge"].(map[string]any)
	if got["instance_id"] != "mine" || got["log_level"] != "DEBUG" || got["testbot_started"] != true ||
		mqtt["mqtt_autostart"] != true || mqtt["mqtt_host"] != "broker" || mqtt["mqtt_port"] != 1883 || mqtt["mqtt_namespace"] != "hbot" {
		t.Errorf("conf_client.yml = %v", got)
	}
	if parseLevel(cfg["log_level"]) != levelDebug {
		t.Errorf("log level %v", cfg["log_level"])
	}
	// A missing file gets an instance_id of its own.
	os.Remove(h.path("conf", "conf_client.yml"))
	if cfg, err := h.rewriteClientConfig(io.Discard); err != nil || len(cfg["instance_id"].(string)) != 40 {
		t.Errorf("%v %v", cfg, err)
	}
}

func TestParseStartArgs(t *testing.T) {
	o, code := parseStartArgs([]string{"--foreground", "--timeout", "30", "conf_x.yml", "--auto-set-permissions=1000:1000", "--v1-strategy", "--json"})
	if code != 0 || o.file != "conf_x.yml" || !o.foreground || fmt.Sprint(o.types) != "[v1-strategy]" {
		t.Errorf("%+v %d", o, code)
	}
}

func TestParseQuickstartArgs(t *testing.T) {
	t.Setenv("SCRIPT_CONFIG", "env.yml")
	t.Setenv("HEADLESS_MODE", "TRUE")
	t.Setenv("CONFIG_FILE_NAME", "")
	o, err := parseQuickstartArgs([]string{"-f", "v1.yml", "--config-password=pw"})
	if err != nil || o.configFile != "v1.yml" || o.v2Conf != "env.yml" || o.password != "pw" || !o.headless {
		t.Errorf("%+v %v", o, err)
	}
	if _, err := parseQuickstartArgs([]string{"--nope"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

func TestControllerLoaderName(t *testing.T) {
	h := home(t.TempDir())
	os.MkdirAll(h.path("conf", "scripts"), 0o755)
	name, err := h.writeControllerLoader("conf_generic.lp_jit.hype_usdc.yml")
	if err != nil || name != "conf_generic_lp_jit_hype_usdc.yml" {
		t.Fatalf("%q %v", name, err)
	}
	if got := read(t, h.path("conf", "scripts", name)); !strings.Contains(got, "\n- conf_generic.lp_jit.hype_usdc.yml\n") {
		t.Errorf("loader:\n%s", got)
	}
}

// The stand-in refuses at start what Hummingbot 2.16 refuses: a
// conf_client.yml key or value its client config model does not take.
func TestClientConfigHeldToHummingbot(t *testing.T) {
	for body, want := range map[string]string{
		"log_lvl: INFO\n":                          "log_lvl: unknown key",
		"mqtt_bridge:\n  mqtt_hots: x\n":           "mqtt_bridge.mqtt_hots: unknown key",
		"mqtt_bridge:\n  mqtt_port: not-a-port\n":  "mqtt_bridge.mqtt_port: wrong type",
		"log_level: INFO\ntestbot_started: true\n": "",
	} {
		h := home(t.TempDir())
		os.MkdirAll(h.path("conf"), 0o755)
		os.WriteFile(h.path("conf", "conf_client.yml"), []byte(body), 0o600)
		_, err := h.rewriteClientConfig(io.Discard)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", body, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

// A connector file is held to the connector's fields: what Hummingbot
// decrypts must be ciphertext that decrypts, what it reads as written must
// not be ciphertext.
func TestConnectorFieldsHeldToHummingbot(t *testing.T) {
	keys := hbcrypt.NewKeyring()
	const password = "pw"
	salt := hbcrypt.NewSalt()
	enc := func(s string) string {
		v, err := keys.Encrypt(password, salt, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"binance", "connector: binance\nbinance_api_key: " + enc("k") + "\nbinance_api_secret: " + enc("s") + "\n", ""},
		{"binance", "connector: binance\nbinance_api_key: " + enc("k") + "\nbinance_api_secret: plain\n", "binance_api_secret: Non-hexadecimal digit found"},
		{"lighter", "connector: lighter\nlighter_api_private_key: " + enc("k") + "\nlighter_account_limit: '5'\nlighter_l1_address: x\nlighter_api_key_index: 1\n", ""},
		{"lighter", "connector: lighter\nlighter_api_private_key: " + enc("k") + "\nlighter_account_limit: " + enc("5") + "\n", "lighter_account_limit holds ciphertext"},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, tt.name+".yml")
		os.WriteFile(p, []byte(tt.body), 0o600)
		_, err := checkConnector(keys, password, p)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
