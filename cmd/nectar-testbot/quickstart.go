package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

// quickstartOptions are bin/hummingbot_quickstart.py's flags; the
// environment fills in those not given.
type quickstartOptions struct {
	configFile string // --config-file-name/-f, CONFIG_FILE_NAME: conf/strategies/
	v2Conf     string // --v2, SCRIPT_CONFIG: conf/scripts/
	password   string // --config-password/-p, CONFIG_PASSWORD
	headless   bool   // --headless, HEADLESS_MODE=true
}

func parseQuickstartArgs(args []string) (quickstartOptions, error) {
	var o quickstartOptions
	headlessSet := false
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		next := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
				return "", fmt.Errorf("argument %s: expected one argument", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "--config-file-name", "-f":
			o.configFile, err = next()
		case "--v2":
			o.v2Conf, err = next()
		case "--config-password", "-p":
			o.password, err = next()
		case "--auto-set-permissions":
			_, err = next() // changing owners needs sudo, which the image lacks
		case "--headless":
			// argparse's type=bool makes any given value true.
			o.headless, headlessSet = true, true
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
		default:
			return o, fmt.Errorf("unrecognized arguments: %s", args[i])
		}
		if err != nil {
			return o, err
		}
	}
	if o.configFile == "" {
		o.configFile = os.Getenv("CONFIG_FILE_NAME")
	}
	if o.v2Conf == "" {
		o.v2Conf = os.Getenv("SCRIPT_CONFIG")
	}
	if o.password == "" {
		o.password = os.Getenv("CONFIG_PASSWORD")
	}
	if v := os.Getenv("HEADLESS_MODE"); !headlessSet && v != "" {
		o.headless = strings.EqualFold(v, "true")
	}
	return o, nil
}

// signalsDroppedByPID1 are the signals a process that handles none loses
// when it is a PID namespace's init: the kernel drops them.
var signalsDroppedByPID1 = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// dropSignalsAsPID1 gives the stand-in, when it is PID 1, the kernel's
// treatment of a process without handlers: the signals vanish. Go's own
// default would turn them into an exit, which Python as PID 1 never sees.
// It returns the channel the signals are parked on, for a launch that
// installs handlers later; nil when not PID 1.
func dropSignalsAsPID1() chan os.Signal {
	if os.Getpid() != 1 {
		return nil
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, signalsDroppedByPID1...)
	return sigs
}

// quickstartMain is the classic launch. Upstream it installs no signal
// handler at all, so SIGTERM is the end (default action) with no stop
// path; under the image's bash it never even gets the signal.
func quickstartMain(args []string) int {
	o, err := parseQuickstartArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "usage: hummingbot_quickstart.py [-h] [--config-file-name CONFIG_FILE_NAME] [--v2 V2_CONF] [--config-password CONFIG_PASSWORD] [--auto-set-permissions AUTO_SET_PERMISSIONS] [--headless [HEADLESS]]\nhummingbot_quickstart.py: error: %v\n", err)
		return 2
	}
	if parked := dropSignalsAsPID1(); parked != nil {
		go func() {
			for range parked {
			}
		}()
	}
	h := homeFromEnv()
	// The quickstart loads the client config twice, in main and again in
	// quick_start; both writes fail alike on a read-only file, and both
	// only log it.
	if _, err := h.rewriteClientConfig(os.Stderr); err != nil {
		return traceback(err)
	}
	client, err := h.rewriteClientConfig(os.Stderr)
	if err != nil {
		return traceback(err)
	}
	password := o.password
	if password == "" {
		// Upstream shows its login screen; with nothing to type on, the
		// stand-in says so and stops.
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			fmt.Fprintln(os.Stderr, "no CONFIG_PASSWORD and stdin is not a terminal: nothing can answer Hummingbot's login prompt")
			return 1
		}
		fmt.Print("Enter your password >>> ")
		p, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Println()
		if err != nil || len(p) == 0 {
			return 0 // the prompt was left: main() returns
		}
		password = string(p)
	}
	connectors, err := h.unlock(password, false)
	switch {
	case errors.Is(err, errNoVerification):
		// The classic launch never creates the file: it crashes reading it.
		return traceback(fmt.Errorf("FileNotFoundError: [Errno 2] No such file or directory: '%s'", h.path("conf", ".password_verification")))
	case errors.Is(err, errWrongPassword):
		// Logged before logging is set up, so it lands on stderr; then
		// quick_start returns and the process exits 0, as upstream.
		fmt.Fprintln(os.Stderr, "Invalid password.")
		return 0
	case err != nil:
		return traceback(err)
	}
	if err := h.createLegacyFiles(); err != nil {
		return traceback(err)
	}
	level := parseLevel(client["log_level"])
	lg, err := h.openLog("hummingbot", level)
	if err != nil {
		return traceback(err)
	}
	var s *strategy
	switch {
	case o.v2Conf != "": // wins over CONFIG_FILE_NAME
		s, err = h.loadScriptConfig(o.v2Conf)
	case o.configFile != "":
		s, err = h.loadStrategyConfig(o.configFile)
	}
	if err != nil {
		lg.error("root", "%v", err)
		lg.error("root", "Failed to load strategy. Exiting.")
		return 1
	}
	config := ""
	if s != nil {
		config = s.File
		// Once the strategy is known its log takes over, named after the
		// config file up to its first dot.
		stem, _, _ := strings.Cut(s.File, ".")
		lg.Close()
		if lg, err = h.openLog(stem, level); err != nil {
			return traceback(err)
		}
		lg.info("hummingbot.core.trading_core", "Strategy %s started successfully", s.Name)
	}
	defer lg.Close()
	// Nothing stops it: the classic launch has no stop path.
	startBridge(client, lg)
	ready(connectors, "classic", config)
	logErrors(lg)
	tick := time.NewTicker(heartbeatInterval())
	defer tick.Stop()
	for {
		if err := h.heartbeat(); err != nil {
			return traceback(err)
		}
		<-tick.C
	}
}

// traceback reports an error Hummingbot does not catch: Python prints the
// traceback on stderr and exits 1.
func traceback(err error) int {
	fmt.Fprintf(os.Stderr, "Traceback (most recent call last):\n  (nectar-testbot)\n%v\n", err)
	return 1
}
