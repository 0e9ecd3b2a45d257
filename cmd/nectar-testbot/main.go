// Command nectar-testbot stands in for Hummingbot 2.16 in nectar's tests and
// demo. It is one static binary, built into an image FROM scratch (no
// registry needed), that copies the official image's shape and, on every
// point nectar depends on, its behaviour, including the awkward parts: the
// point is that a test passing against the stand-in says something about
// the real image.
//
// # Image
//
// Like hummingbot/hummingbot: no ENTRYPOINT, WORKDIR /home/hummingbot,
// PATH=/opt/conda/envs/hummingbot/bin:/usr/local/bin:/usr/bin:/bin, and the
// shell-form command, stored as
//
//	["/bin/bash", "-lc", "conda activate hummingbot && ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log"]
//
// The binary is copied to /bin/bash, /bin/cp, /opt/conda/envs/hummingbot/bin/hbot
// and /home/hummingbot/bin/hummingbot_quickstart.py, and picks its behaviour from
// the base name it was started under (or, under any other name, from its
// first argument: `nectar-testbot hbot start …`). The image also holds
// scripts/v2_with_controllers.py, a few built-in controllers and empty
// conf/{connectors,strategies,controllers,scripts}, data, logs and certs
// (cmd/nectar-testbot/image plus scripts/build-testbot.sh).
//
// # bash (the default command's PID 1)
//
// Ignores SIGTERM and SIGINT, as bash does as PID 1, runs
// bin/hummingbot_quickstart.py with stderr appended to logs/errors.log and
// exits with its code. So `docker stop` of a classic bot always waits the
// whole timeout and kills it: the bot never gets to cancel its orders.
//
// It also runs the command nectar gives a bot on Docker Swarm, which cannot
// bind the instance folder and so hands conf_client.yml over read-only at
// /nectar/conf_client.yml:
//
//	["/bin/bash", "-c", "cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start 'conf_x.yml' --v2-script --foreground"]
//
// Exactly `cp SRC DST && exec PROG ARGS...`, words plain or single-quoted:
// it runs /bin/cp as a child, and when that succeeds execs PROG from PATH
// in its own place, so hbot is PID 1 and gets `docker stop`'s SIGTERM; when
// cp fails it exits with cp's code and nothing is exec'd. Any other
// command is refused with exit 2.
//
// # cp
//
// `cp SRC DST` for one file (DST may be a folder), with coreutils' messages
// and exit code 1 on failure ("cp: cannot stat 'X': No such file or
// directory"); no options.
//
// # hummingbot_quickstart.py (classic launch)
//
// Reads CONFIG_PASSWORD, SCRIPT_CONFIG (a V2 script config in conf/scripts/,
// it wins when both are set), CONFIG_FILE_NAME (a V1 strategy YAML in
// conf/strategies/; a .py there is simply not found) and HEADLESS_MODE, or
// the matching flags. A missing conf/.password_verification exits 1, a
// wrong password logs "Invalid password." and exits 0 (as upstream does), a
// config that does not load exits 1. It installs no signal handler: SIGTERM
// ends it on the spot (or is dropped by the kernel when it is PID 1), with
// no stop record.
//
// # hbot (`hbot start FILE [--v1-strategy|--v2-script|--controller] --foreground`)
//
// Resolves FILE (an exact name) in conf/strategies, conf/scripts and
// conf/controllers with hbot's exit codes and messages, takes the password
// from --password-stdin, HBOT_PASSWORD or CONFIG_PASSWORD, creates
// conf/.password_verification when missing, wraps a controller config in a
// loader script config (conf/scripts/<stem>.yml), writes data/bot/{bot.pid,
// meta.json,loaded.json} and logs to logs/logs_<name>.log. Once the strategy
// runs it writes data/bot/status.json (again on every SIGUSR1), and on
// SIGTERM or SIGINT it "cancels orders" for TESTBOT_STOP_DELAY, appends a
// line to data/testbot-stops, writes a final status.json, removes bot.pid
// and exits 0. Signals that arrive before that have their default action,
// which for PID 1 means they are dropped.
//
// # Both launches
//
// They check the instance folder as Hummingbot would: every connector
// secret must decrypt with the password, a V2 script config must name a
// script_file_name present in scripts/ (and its controllers_config entries
// must exist with their controller modules), a V1 config must be a mapping
// whose strategy: is one of Hummingbot's V1 strategies. conf/conf_client.yml
// is validated (a refused key or value stops the bot) and rewritten in
// place with defaults added; a rewrite that fails (a read-only mount) is
// only logged, "Error writing configs: [Errno 30] ...", on stderr, and the
// bot goes on, as Hummingbot does. conf/hummingbot_logs.yml and
// conf/conf_fee_overrides.yml are created when missing. A line "testbot:
// ready connectors=…" (names only, never a value) goes to stdout.
//
// # MQTT bridge (both launches)
//
// When conf_client.yml has mqtt_bridge.mqtt_autostart on, the bot connects
// to mqtt_host:mqtt_port (with mqtt_username and mqtt_password, TLS when
// mqtt_ssl is on) as client hbot.<instance_id>, says "online" on
// <namespace>/<instance_id>/status_updates and publishes {"ts": …} on
// <namespace>/<instance_id>/hb every 10 s, the heartbeat Hummingbot's API
// discovers bots by. A broker it cannot reach is logged and tried again
// every 5 s while the bot keeps running; hbot's graceful stop says
// "offline" first. See mqtt.go.
//
// # Test knobs (environment)
//
//	HUMMINGBOT_HOME         the instance folder (default /home/hummingbot)
//	TESTBOT_HEARTBEAT       how often data/testbot-heartbeat is rewritten (Go duration, default 2s)
//	TESTBOT_STOP_DELAY      how long hbot's stop "cancels orders" (Go duration, default 1s)
//	TESTBOT_NOT_TRADING=1   status.json says the strategy is not running (the bot still runs)
//	TESTBOT_ERRORS=N        log N lines at ERROR level right after start
//	TESTBOT_MQTT_HEARTBEAT  how often the MQTT bridge publishes its heartbeat (Go duration, default 10s)
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// modes maps the names the binary is installed under to what it does.
var modes = map[string]func(args []string) int{
	"bash":                     bashMain,
	"hummingbot_quickstart.py": quickstartMain,
	"hbot":                     hbotMain,
	"cp":                       cpMain,
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	if mode, ok := modes[filepath.Base(argv[0])]; ok {
		return mode(argv[1:])
	}
	// Under its build name (tests, `go run`) the mode is the first argument.
	if len(argv) > 1 {
		if mode, ok := modes[argv[1]]; ok {
			return mode(argv[2:])
		}
	}
	fmt.Fprintln(os.Stderr, "usage: nectar-testbot {bash|cp|hummingbot_quickstart.py|hbot} [args...] (or install it under one of those names)")
	return 2
}
