package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/yaml.v3"
)

// swarmCommand is the command nectar gives a bot on a cluster, for the
// stand-in's bash: copy the handed-over conf_client.yml into place, then
// become hbot.
func swarmCommand(seed, dst string, hbotArgs ...string) string {
	return "cp " + seed + " " + dst + " && exec " + quoteWords(append([]string{"hbot"}, hbotArgs...))
}

// quoteWords quotes as nectar does: a word with anything beyond
// [A-Za-z0-9_./=-] goes in single quotes, a quote in it closed, escaped
// and reopened. Written again here, so the parser is held to the rule and
// not to nectar's code.
func quoteWords(args []string) string {
	plain := regexp.MustCompile(`^[A-Za-z0-9_./=-]+$`)
	out := make([]string, len(args))
	for i, a := range args {
		if plain.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

func TestParseCopyExec(t *testing.T) {
	const seed, dst = "/nectar/conf_client.yml", "/home/hummingbot/conf/conf_client.yml"
	accepted := []struct {
		command string
		want    copyExec
	}{
		{"cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start 'conf_x.yml' --v2-script --foreground",
			copyExec{seed, dst, []string{"hbot", "start", "conf_x.yml", "--v2-script", "--foreground"}}},
		{"cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start conf_x.yml --controller --foreground",
			copyExec{seed, dst, []string{"hbot", "start", "conf_x.yml", "--controller", "--foreground"}}},
		{"cp /nectar/conf_client.yml /home/hummingbot/conf/conf_client.yml && exec hbot start --foreground",
			copyExec{seed, dst, []string{"hbot", "start", "--foreground"}}},
		// Blanks, tabs, && without blanks, quotes mid-word, a quoted empty word.
		{"  cp\t'/nectar/conf client.yml'  dst&&exec hbot start 'it'\\''s.yml' --v1-strategy '' --foreground ",
			copyExec{"/nectar/conf client.yml", "dst", []string{"hbot", "start", "it's.yml", "--v1-strategy", "", "--foreground"}}},
		// A backslash outside quotes keeps the next character.
		{`cp a b && exec hbot start a\$b.yml`, copyExec{"a", "b", []string{"hbot", "start", "a$b.yml"}}},
		// Quoting cannot make an operator: '&&' is a word.
		{"cp a b && exec hbot start '&&' ';' '$X' '>' '\"'", copyExec{"a", "b", []string{"hbot", "start", "&&", ";", "$X", ">", `"`}}},
	}
	for _, tt := range accepted {
		got, err := parseCopyExec(tt.command)
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("%s\n  = %q, %v\n want %q", tt.command, got, err, tt.want)
		}
	}

	// What nectar writes for awkward config names reads back as it was.
	for _, name := range []string{"conf_x.yml", "conf x.yml", "it's.yml", "a$b`c`.yml", "a&&b;c|d.yml", "'", "''", `back\slash.yml`, "~home.yml", "#hash.yml"} {
		for _, flag := range []string{"--v2-script", "--controller", "--v1-strategy"} {
			args := []string{"start", name, flag, "--foreground"}
			got, err := parseCopyExec(swarmCommand(seed, dst, args...))
			if err != nil || fmt.Sprintf("%q", got.argv) != fmt.Sprintf("%q", append([]string{"hbot"}, args...)) {
				t.Errorf("%q %s: %q, %v", name, flag, got.argv, err)
			}
		}
	}

	refused := map[string]string{
		"conda activate hummingbot && ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log": `'>' outside quotes`,
		"exec hbot start --foreground":                            "not of the shape",
		"cp a b && hbot start x.yml --foreground":                 "not of the shape",
		"cp a b; exec hbot start --foreground":                    `';' outside quotes`,
		"cp a b || exec hbot start --foreground":                  `'|' outside quotes`,
		"cp a b & exec hbot start --foreground":                   `'&' outside quotes`,
		"cp a b && exec hbot start x.yml && echo done":            "not of the shape",
		"cp a b c && exec hbot start --foreground":                "not of the shape",
		"cp a && exec hbot start --foreground":                    "not of the shape",
		"cp a b && exec":                                          "not of the shape",
		"cp a 'b && exec hbot start --foreground'":                "not of the shape",
		"cp -f a b && exec hbot start --foreground":               "not of the shape",
		"cp -f a && exec hbot start --foreground":                 `"-f" is not a file operand`,
		"cp a b && exec -a bot hbot start --foreground":           `"-a" is not a file operand`,
		"cp '' b && exec hbot start --foreground":                 `"" is not a file operand`,
		"cp a b && exec hbot start $CONFIG --foreground":          `'$' outside quotes`,
		`cp a b && exec hbot start "conf_x.yml" --foreground`:     `'"' outside quotes`,
		"cp a b && exec hbot start `x` --foreground":              "'`' outside quotes",
		"cp a b && exec hbot start conf_*.yml --foreground":       `'*' outside quotes`,
		"cp a b && exec hbot start ~/conf.yml --foreground":       `'~' outside quotes`,
		"cp a b && exec hbot start x.yml --foreground > /tmp/log": `'>' outside quotes`,
		"cp a b && exec hbot start x.yml # comment":               `'#' outside quotes`,
		"cp a b && exec hbot start x.yml\nrm -rf /":               `'\n' outside quotes`,
		"cp a b && exec hbot start 'x.yml --foreground":           "unexpected EOF while looking for matching",
		"cp a b && exec hbot start x.yml\\":                       "backslash at the end",
		"cp a b && (exec hbot start x.yml)":                       `'(' outside quotes`,
		"X=1 cp a b && exec hbot start x.yml":                     "not of the shape",
		"":                                                        "not of the shape",
	}
	for command, want := range refused {
		if got, err := parseCopyExec(command); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %q, %v; want an error with %q", command, got, err, want)
		}
	}
}

// TestCp: the stand-in's /bin/cp copies one file as coreutils does, and
// fails as it does.
func TestCp(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.yml")
	os.WriteFile(src, []byte("instance_id: seed\n"), 0o600)

	// A new file, with the source's mode (0600 survives any usual umask).
	dst := filepath.Join(dir, "new.yml")
	if code, b := runBot(t, home(dir), nil, "cp", src, dst); code != 0 || b.stderr.String() != "" {
		t.Fatalf("cp: %d %s", code, &b.stderr)
	}
	if info, err := os.Stat(dst); err != nil || info.Mode().Perm() != 0o600 || read(t, dst) != "instance_id: seed\n" {
		t.Errorf("copy: %v %v %q", info.Mode(), err, read(t, dst))
	}

	// An existing file is written in place: same inode, its own mode,
	// nothing of its longer old content left.
	old := filepath.Join(dir, "old.yml")
	os.WriteFile(old, []byte("a much longer file that was here before the copy\n"), 0o640)
	os.Chmod(old, 0o640)
	before, _ := os.Stat(old)
	if code, b := runBot(t, home(dir), nil, "cp", src, old); code != 0 {
		t.Fatalf("cp over a file: %d %s", code, &b.stderr)
	}
	after, _ := os.Stat(old)
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o640 || read(t, old) != "instance_id: seed\n" {
		t.Errorf("cp over a file: same inode %v, mode %v, %q", os.SameFile(before, after), after.Mode(), read(t, old))
	}

	// Into a folder.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	if code, _ := runBot(t, home(dir), nil, "cp", src, sub); code != 0 || read(t, filepath.Join(sub, "src.yml")) != "instance_id: seed\n" {
		t.Errorf("cp into a folder: %d", code)
	}

	missing := filepath.Join(dir, "gone.yml")
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{missing, dst}, "cp: cannot stat '" + missing + "': No such file or directory\n"},
		{[]string{sub, dst}, "cp: -r not specified; omitting directory '" + sub + "'\n"},
		{[]string{src, src}, "cp: '" + src + "' and '" + src + "' are the same file\n"},
		{[]string{src, filepath.Join(dir, "nowhere", "x.yml")}, "cp: cannot create regular file '" + filepath.Join(dir, "nowhere", "x.yml") + "': No such file or directory\n"},
		{[]string{}, "cp: missing file operand\n"},
		{[]string{src}, "cp: missing destination file operand after '" + src + "'\n"},
		{[]string{"-f", src, dst}, "cp: nectar-testbot's cp takes no options"},
		{[]string{src, dst, sub}, "cp: nectar-testbot's cp copies one file"},
	} {
		code, b := runBot(t, home(dir), nil, "cp", tt.args...)
		if code != 1 || !strings.HasPrefix(b.stderr.String(), tt.stderr) {
			t.Errorf("cp %q: exit %d, stderr %q; want 1 and %q", tt.args, code, &b.stderr, tt.stderr)
		}
	}
}

// swarmSeed is the conf_client.yml the cluster tests hand over: no MQTT,
// so nothing but the copy and the rewrite is at play.
const swarmSeed = "instance_id: swarm-bot\nlog_level: INFO\n"

// TestBashCopyThenExec: the cluster command copies conf_client.yml into
// place with cp, then bash becomes hbot, which keeps bash's pid and so
// handles SIGTERM itself, with its graceful stop.
func TestBashCopyThenExec(t *testing.T) {
	h := instance(t)
	seed := filepath.Join(t.TempDir(), "conf_client.yml")
	os.WriteFile(seed, []byte(swarmSeed), 0o600)
	dst := h.path("conf", "conf_client.yml")
	os.Remove(dst)
	command := swarmCommand(seed, dst, "start", "conf_pmm.yml", "--controller", "--foreground")
	b := start(t, h, append([]string{"PATH=" + binDir}, withPassword...), "bash", "-c", command)
	waitFile(t, b, h.path("data", "testbot-heartbeat"))

	pid := b.cmd.Process.Pid
	if st := readStatus(t, h); st["pid"] != float64(pid) {
		t.Errorf("status.json pid %v, want bash's own pid %d: bash did not exec hbot", st["pid"], pid)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(read(t, dst)), &cfg); err != nil {
		t.Fatal(err)
	}
	mqtt, _ := cfg["mqtt_bridge"].(map[string]any)
	if cfg["instance_id"] != "swarm-bot" || cfg["testbot_started"] != true || mqtt["mqtt_namespace"] != "hbot" {
		t.Errorf("conf_client.yml is not the seed rewritten by the bot: %v", cfg)
	}
	if got := read(t, seed); got != swarmSeed {
		t.Errorf("the seed changed: %q", got)
	}
	if strings.Contains(b.stderr.String(), "Error writing configs") {
		t.Errorf("the copy could not be written:\n%s", &b.stderr)
	}

	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0 (hbot's graceful stop); stderr:\n%s", code, &b.stderr)
	}
	if stops := read(t, h.path("data", "testbot-stops")); !strings.HasSuffix(stops, " cancelled orders connectors=kucoin\n") {
		t.Errorf("testbot-stops = %q", stops)
	}
}

// TestBashCopyFails: when cp fails, && stops there: bash exits with cp's
// code and hbot never starts. A program that is not there is bash's 127.
func TestBashCopyFails(t *testing.T) {
	env := append([]string{"PATH=" + binDir}, withPassword...)
	t.Run("missing seed", func(t *testing.T) {
		h := instance(t)
		seed := filepath.Join(t.TempDir(), "conf_client.yml")
		code, b := runBot(t, h, env, "bash", "-c", swarmCommand(seed, h.path("conf", "conf_client.yml"), "start", "conf_pmm.yml", "--controller", "--foreground"))
		if code != 1 || b.stderr.String() != "cp: cannot stat '"+seed+"': No such file or directory\n" {
			t.Errorf("exit code %d, stderr %q", code, &b.stderr)
		}
		if _, err := os.Stat(h.botFile("loaded.json")); err == nil {
			t.Error("hbot ran after cp failed")
		}
	})
	t.Run("no cp on PATH", func(t *testing.T) {
		h := instance(t)
		empty := t.TempDir()
		code, b := runBot(t, h, []string{"PATH=" + empty}, "bash", "-c", swarmCommand(h.path("conf", "conf_client.yml"), h.path("x.yml"), "start", "--foreground"))
		if code != 127 || !strings.Contains(b.stderr.String(), "cp: command not found") {
			t.Errorf("exit code %d, stderr %q", code, &b.stderr)
		}
	})
	t.Run("no such program", func(t *testing.T) {
		h := instance(t)
		code, b := runBot(t, h, env, "bash", "-c", "cp "+h.path("conf", "conf_client.yml")+" "+h.path("x.yml")+" && exec nope start --foreground")
		if code != 127 || !strings.Contains(b.stderr.String(), "exec: nope: not found") {
			t.Errorf("exit code %d, stderr %q", code, &b.stderr)
		}
	})
	t.Run("another shape", func(t *testing.T) {
		h := instance(t)
		code, b := runBot(t, h, env, "bash", "-c", "cp a b; exec hbot start --foreground")
		if code != 2 || !strings.Contains(b.stderr.String(), "only runs the image's own command") {
			t.Errorf("exit code %d, stderr %q", code, &b.stderr)
		}
	})
}

// TestClientConfigWriteFailure: Hummingbot logs a conf_client.yml it
// cannot write and goes on with what it read; a file it cannot validate
// still stops it. A folder that is not there fails the write for root
// too, so this runs the same for any user.
func TestClientConfigWriteFailure(t *testing.T) {
	h := home(t.TempDir())
	var log bytes.Buffer
	cfg, err := h.rewriteClientConfig(&log)
	if err != nil {
		t.Fatalf("a failed write stopped the load: %v", err)
	}
	if cfg["log_level"] != "INFO" || cfg["testbot_started"] != true {
		t.Errorf("settings %v", cfg)
	}
	path := h.path("conf", "conf_client.yml")
	want := "Error writing configs: [Errno 2] No such file or directory: '" + path + "'\n"
	if !strings.HasPrefix(log.String(), want) || !strings.HasSuffix(log.String(), "\nFileNotFoundError: [Errno 2] No such file or directory: '"+path+"'\n") {
		t.Errorf("logged:\n%s\nwant it to start %q", &log, want)
	}

	for _, tt := range []struct {
		err        error
		class, msg string
	}{
		{&fs.PathError{Op: "open", Path: "/c.yml", Err: syscall.EROFS}, "OSError", "[Errno 30] Read-only file system: '/c.yml'"},
		{&fs.PathError{Op: "open", Path: "/c.yml", Err: syscall.EACCES}, "PermissionError", "[Errno 13] Permission denied: '/c.yml'"},
		{&fs.PathError{Op: "write", Path: "/c.yml", Err: syscall.ENOSPC}, "OSError", "[Errno 28] No space left on device"},
	} {
		if got := pyOSError(tt.err); got.class != tt.class || got.msg != tt.msg {
			t.Errorf("%v: %+v, want %s: %s", tt.err, got, tt.class, tt.msg)
		}
	}
}

// unwritableClientConfig makes conf/conf_client.yml a link to a file in
// a folder that does not exist: read, it is a missing file (defaults);
// written, it fails with ENOENT, whoever runs the bot.
func unwritableClientConfig(t *testing.T, h home) string {
	path := h.path("conf", "conf_client.yml")
	os.Remove(path)
	if err := os.Symlink(h.path("gone", "conf_client.yml"), path); err != nil {
		t.Fatal(err)
	}
	return "Error writing configs: [Errno 2] No such file or directory: '" + path + "'\n"
}

// TestUnwritableClientConfigRuns: both launches start and run with a
// conf_client.yml they cannot write, each load logging it on stderr
// (for the image's command, logs/errors.log).
func TestUnwritableClientConfigRuns(t *testing.T) {
	t.Run("hbot", func(t *testing.T) {
		h := instance(t)
		want := unwritableClientConfig(t, h)
		b := start(t, h, withPassword, "hbot", "start", "conf_pmm.yml", "--controller", "--foreground")
		waitFile(t, b, h.path("data", "testbot-heartbeat"))
		if n := strings.Count(b.stderr.String(), want); n != 2 {
			t.Errorf("stderr has %d × %q, want 2 (hbot's login, the engine):\n%s", n, want, &b.stderr)
		}
		b.cmd.Process.Signal(syscall.SIGTERM)
		if code := b.wait(t); code != 0 {
			t.Errorf("exit code %d after SIGTERM; stderr:\n%s", code, &b.stderr)
		}
	})
	t.Run("image command", func(t *testing.T) {
		h := instance(t)
		want := unwritableClientConfig(t, h)
		b := start(t, h, []string{"CONFIG_PASSWORD=" + password, "SCRIPT_CONFIG=conf_quotes.yml"}, "bash", imageCommand...)
		waitFile(t, b, h.path("data", "testbot-heartbeat"))
		if errs := read(t, h.path("logs", "errors.log")); strings.Count(errs, want) != 2 {
			t.Errorf("errors.log:\n%s\nwant %q twice (the quickstart's two loads)", errs, want)
		}
	})
	t.Run("read-only file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes a read-only file; TestUnwritableClientConfigRuns/hbot and the Docker test cover the failure")
		}
		h := instance(t)
		path := h.path("conf", "conf_client.yml")
		os.WriteFile(path, []byte(swarmSeed), 0o444)
		os.Chmod(path, 0o444)
		b := start(t, h, withPassword, "hbot", "start", "conf_pmm.yml", "--controller", "--foreground")
		waitFile(t, b, h.path("data", "testbot-heartbeat"))
		want := "Error writing configs: [Errno 13] Permission denied: '" + path + "'\n"
		if !strings.Contains(b.stderr.String(), want) || read(t, path) != swarmSeed {
			t.Errorf("stderr:\n%s\nwant %q, the file unchanged", &b.stderr, want)
		}
	})
	// A file the model refuses still stops the bot, writable or not.
	t.Run("invalid stays fatal", func(t *testing.T) {
		h := instance(t)
		os.WriteFile(h.path("conf", "conf_client.yml"), []byte("log_lvl: INFO\n"), 0o600)
		code, b := runBot(t, h, withPassword, "hbot", "start", "conf_pmm.yml", "--controller", "--foreground")
		if code != 1 || !strings.Contains(b.stderr.String(), "validation error") {
			t.Errorf("exit code %d, stderr:\n%s", code, &b.stderr)
		}
	})
}
