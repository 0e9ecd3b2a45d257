package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// hbot's exit codes.
const (
	codeError       = 1
	codeNotFound    = 2
	codeConfigError = 4
)

// configTypes are hbot's config kinds, in the order it reports them, with
// the folder under conf/ that holds each and the flag that forces it.
var configTypes = []struct{ id, dir, flag string }{
	{"v1-strategy", "strategies", "--v1-strategy"},
	{"v2-script", "scripts", "--v2-script"},
	{"controller", "controllers", "--controller"},
}

// fail prints an error the way hbot does and returns its exit code.
func fail(code int, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "Error: %s (code %d)\n", fmt.Sprintf(format, args...), code)
	return code
}

// usageError is Typer's answer to a command line it cannot parse.
func usageError(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "Usage: hbot start [OPTIONS] [FILE]\nTry 'hbot start -h' for help.\n\nError: %s\n", fmt.Sprintf(format, args...))
	return 2
}

func hbotMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: hbot [OPTIONS] COMMAND [ARGS]...\n\nnectar-testbot stands in for hbot start only.")
		return 2
	}
	switch args[0] {
	case "--version":
		fmt.Println("hbot 2.16.0")
		return 0
	case "start":
		return hbotStart(args[1:])
	}
	return fail(codeError, "nectar-testbot's hbot only stands in for `hbot start`, not %q", args[0])
}

type startOptions struct {
	file          string
	types         []string // type ids forced by flags
	foreground    bool
	passwordStdin bool
}

func parseStartArgs(args []string) (startOptions, int) {
	var o startOptions
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(args[i], "=")
		switch name {
		case "--v1-strategy", "--v2-script", "--controller":
			for _, t := range configTypes {
				if t.flag == name {
					o.types = append(o.types, t.id)
				}
			}
		case "--foreground":
			o.foreground = true
		case "--password-stdin":
			o.passwordStdin = true
		case "--replace", "--json":
			// Nothing to replace in a container; output is not read.
		case "--auto-set-permissions", "--timeout":
			if !hasValue {
				if i+1 >= len(args) {
					return o, usageError("Option '%s' requires an argument.", name)
				}
				i++
			}
		default:
			if strings.HasPrefix(args[i], "-") {
				return o, usageError("No such option: %s", name)
			}
			if o.file != "" {
				return o, usageError("Got unexpected extra argument (%s)", args[i])
			}
			o.file = args[i]
		}
	}
	return o, 0
}

// resolveConfigType finds which kind of config file is, from the folder
// that holds it, as hbot does: the contents are never looked at.
func (h home) resolveConfigType(file, forced string) (string, int) {
	if forced != "" {
		for _, t := range configTypes {
			if t.id != forced {
				continue
			}
			if _, err := os.Stat(h.path("conf", t.dir, file)); err != nil {
				return "", fail(codeNotFound, "%s config not found: %s", forced, file)
			}
			return forced, 0
		}
		return "", fail(codeConfigError, "unknown config type %q", forced)
	}
	var found, flags []string
	for _, t := range configTypes {
		if _, err := os.Stat(h.path("conf", t.dir, file)); err == nil {
			found = append(found, t.id)
			flags = append(flags, t.flag)
		}
	}
	switch len(found) {
	case 0:
		return "", fail(codeNotFound, "config not found: %s", file)
	case 1:
		return found[0], 0
	}
	return "", fail(codeConfigError, "'%s' exists as %s — pass %s to disambiguate", file, strings.Join(found, " and "), strings.Join(flags, " / "))
}

// stem is Python's Path(name).stem: the name without its last suffix.
func stem(name string) string {
	return strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
}

// writeControllerLoader writes the V2 script config that runs a
// controller through the image's v2_with_controllers.py, named after the
// controller file with its dots flattened, and returns its file name.
func (h home) writeControllerLoader(controllerFile string) (string, error) {
	loader := strings.ReplaceAll(stem(controllerFile), ".", "_") + ".yml"
	name, err := yaml.Marshal(controllerFile)
	if err != nil {
		return "", err
	}
	content := "script_file_name: v2_with_controllers.py\ncontrollers_config:\n- " + strings.TrimSpace(string(name)) +
		"\nmax_global_drawdown_quote: null\nmax_controller_drawdown_quote: null\n"
	return loader, atomicfile.WriteFile(h.path("conf", "scripts", loader), []byte(content), 0o644)
}

// resolvePassword follows hbot: --password-stdin, then HBOT_PASSWORD, then
// CONFIG_PASSWORD, then a prompt if stdin is a terminal.
func resolvePassword(fromStdin bool) (string, int) {
	if fromStdin {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if p := strings.TrimSuffix(line, "\n"); p != "" {
			return p, 0
		}
		return "", fail(codeConfigError, "no password received on stdin")
	}
	for _, v := range []string{"HBOT_PASSWORD", "CONFIG_PASSWORD"} {
		if p := os.Getenv(v); p != "" {
			return p, 0
		}
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, "Keystore password: ")
		p, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil || len(p) == 0 {
			return "", fail(codeConfigError, "empty password")
		}
		return string(p), 0
	}
	return "", fail(codeConfigError, "no password provided — use --password-stdin, set $HBOT_PASSWORD, or run interactively")
}

// hbotStart is `hbot start … --foreground`: the CLI's checks, then the
// engine in the same process (upstream execs it, keeping the pid).
func hbotStart(args []string) int {
	o, code := parseStartArgs(args)
	if code != 0 {
		return code
	}
	if !o.foreground {
		return fail(codeError, "nectar-testbot runs only in the foreground: pass --foreground (a detached bot would leave the container without a main process)")
	}
	// Until the engine installs its handlers, signals have their default
	// action; as PID 1 that means none at all.
	sigs := dropSignalsAsPID1()
	h := homeFromEnv()

	if o.file == "" {
		var loaded struct{ File, Type string }
		data, err := os.ReadFile(h.botFile("loaded.json"))
		if err != nil || json.Unmarshal(data, &loaded) != nil || loaded.File == "" {
			return fail(codeConfigError, "no config given and none imported — pass a config file or run `hbot import <file>` first")
		}
		o.file, o.types = loaded.File, []string{loaded.Type}
	}
	if len(o.types) > 1 {
		return fail(codeConfigError, "use only one of --v1-strategy / --v2-script / --controller")
	}
	forced := ""
	if len(o.types) == 1 {
		forced = o.types[0]
	}
	stype, code := h.resolveConfigType(o.file, forced)
	if code != 0 {
		return code
	}
	if err := h.writeBotJSON("loaded.json", map[string]string{"file": o.file, "type": stype}); err != nil {
		return traceback(err)
	}

	var configFile, scriptConfig *string
	switch stype {
	case "v1-strategy":
		configFile = &o.file
	case "v2-script":
		scriptConfig = &o.file
	default:
		if _, err := h.loadController(o.file); err != nil {
			return fail(codeConfigError, "invalid controller config: %v", err)
		}
		loader, err := h.writeControllerLoader(o.file)
		if err != nil {
			return traceback(err)
		}
		scriptConfig = &loader
	}
	runs := *orDefault(scriptConfig, configFile)
	name := stem(runs)

	password, code := resolvePassword(o.passwordStdin)
	if code != 0 {
		return code
	}
	// hbot's login loads the client config before it unlocks the keystore;
	// the engine loads it again below. A file that cannot be written is
	// logged each time and changes nothing else.
	if _, err := h.rewriteClientConfig(os.Stderr); err != nil {
		return traceback(err)
	}
	connectors, err := h.unlock(password, true)
	if errors.Is(err, errWrongPassword) {
		return fail(codeConfigError, "invalid password")
	} else if err != nil {
		return traceback(err)
	}
	m := meta{Name: name, Type: stype, File: o.file, Config: configFile, ScriptConfig: scriptConfig, StartedAt: unixSeconds(time.Now())}
	if err := h.writeBotJSON("meta.json", m); err != nil {
		return traceback(err)
	}
	if err := atomicfile.WriteFile(h.botFile("bot.pid"), []byte(strconv.Itoa(os.Getpid())), botFileMode); err != nil {
		return traceback(err)
	}
	m.PID = os.Getpid()
	if err := h.writeBotJSON("meta.json", m); err != nil {
		return traceback(err)
	}

	// The engine. It takes the password out of its environment so that
	// nothing it starts inherits it.
	os.Unsetenv("HBOT_PASSWORD")
	os.Unsetenv("CONFIG_PASSWORD")
	client, err := h.rewriteClientConfig(os.Stderr)
	if err != nil {
		return traceback(err)
	}
	if err := h.createLegacyFiles(); err != nil {
		return traceback(err)
	}
	lg, err := h.openLog(name, parseLevel(client["log_level"]))
	if err != nil {
		return traceback(err)
	}
	defer lg.Close()
	var s *strategy
	if scriptConfig != nil {
		s, err = h.loadScriptConfig(*scriptConfig)
	} else {
		s, err = h.loadStrategyConfig(*configFile)
	}
	if err != nil {
		lg.error("root", "%v", err)
		lg.error("root", "Failed to load strategy. Exiting.")
		return 1
	}
	lg.info("hummingbot.core.trading_core", "Strategy %s started successfully", s.Name)
	db := h.path("data", name+".sqlite")
	m.DBPath, m.ConfigFilePath, m.StrategyName = &db, &s.File, &s.Name
	if err := h.writeBotJSON("meta.json", m); err != nil {
		return traceback(err)
	}

	e := &engine{
		home: h, name: name, strategy: s, unlocked: connectors, started: time.Now(),
		notTrading: os.Getenv("TESTBOT_NOT_TRADING") == "1",
		killSwitch: killSwitchEnabled(client),
	}
	// The bridge says goodbye once the strategy has wound down.
	br := startBridge(client, lg)
	defer br.Stop()
	return e.serve(lg, sigs)
}

func orDefault(a, b *string) *string {
	if a != nil {
		return a
	}
	return b
}

// serve installs the engine's handlers, writes the first status.json and
// runs until SIGTERM or SIGINT, then winds down as the engine does.
func (e *engine) serve(lg *botLog, sigs chan os.Signal) int {
	if sigs == nil {
		sigs = make(chan os.Signal, 16)
	} else {
		// PID 1: what arrived during start-up was dropped by the kernel.
		for len(sigs) > 0 {
			<-sigs
		}
	}
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	if err := e.writeStatus(true); err != nil {
		return traceback(err)
	}
	ready(e.unlocked, "hbot", e.strategy.File)
	logErrors(lg)
	tick := time.NewTicker(heartbeatInterval())
	defer tick.Stop()
	for {
		if err := e.home.heartbeat(); err != nil {
			return traceback(err)
		}
		select {
		case <-tick.C:
			continue
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				if err := e.writeStatus(true); err != nil {
					lg.error("hummingbot.cli.engine", "status snapshot failed: %v", err)
				}
				continue
			case syscall.SIGTERM, syscall.SIGINT:
			default:
				continue // parked as PID 1, where the kernel drops it
			}
		}
		break
	}
	return e.stop(lg)
}

// stop is the engine's graceful path: stop the strategy, cancel orders,
// record the final status, drop the pid file, exit 0. Further signals
// arrive on the same channel and change nothing.
func (e *engine) stop(lg *botLog) int {
	lg.info("root", "Stop requested — winding down strategy and cancelling orders.")
	names := slices.Sorted(maps.Keys(e.markets()))
	for _, c := range names {
		lg.info("hummingbot.core.trading_core", "Cancelling outstanding orders on %s.", c)
	}
	time.Sleep(durationEnv("TESTBOT_STOP_DELAY", time.Second))
	record := fmt.Sprintf("%s cancelled orders connectors=%s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(names, ","))
	f, err := os.OpenFile(e.home.path("data", "testbot-stops"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(record)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return traceback(err)
	}
	if err := e.writeStatus(false); err != nil {
		return traceback(err)
	}
	if err := atomicfile.Remove(e.home.botFile("bot.pid")); err != nil {
		return traceback(err)
	}
	lg.info("root", "Stopped.")
	return 0
}
