package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// errorsRedirect finds the image command's "2>> ./logs/errors.log".
var errorsRedirect = regexp.MustCompile(`2>>\s*(\S+)`)

// bashMain plays /bin/bash for the two commands nectar gives the image:
//
//   - the image's own command, `bash -lc "conda activate hummingbot &&
//     ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log"` (runImageCommand);
//   - on a cluster, `bash -c "cp SRC DST && exec PROG ARGS..."`, which puts
//     the conf_client.yml nectar hands over into place and then becomes the
//     bot (copyThenExec).
//
// Anything else is refused: a command the stand-in would only pretend to
// run could pass a test the real image fails.
func bashMain(args []string) int {
	command, ok := shellCommand(args)
	if !ok {
		return refuseCommand("no -c command")
	}
	ce, err := parseCopyExec(command)
	switch {
	case err == nil:
		return copyThenExec(ce)
	case strings.Contains(command, "hummingbot_quickstart.py"):
		return runImageCommand(command)
	}
	return refuseCommand(err.Error())
}

func refuseCommand(why string) int {
	fmt.Fprintf(os.Stderr, "bash: nectar-testbot only runs the image's own command (bash -lc \"... ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log\") or bash -c \"cp SRC DST && exec PROG ARGS...\": %s\n", why)
	return 2
}

// runImageCommand is the official image's PID 1. Bash forks for the compound
// command and installs no SIGTERM handler, and the kernel drops signals
// with no handler sent to a namespace's PID 1, so SIGTERM and SIGINT do
// nothing: `docker stop` waits its whole timeout, then SIGKILL takes the
// container down with the bot still trading.
func runImageCommand(command string) int {
	// Catch rather than ignore: an ignored signal stays ignored in the
	// child across exec, but a caught one is reset to its default there,
	// which is how the real quickstart under bash sees it.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for range sigs {
		}
	}()

	h := homeFromEnv()
	child := exec.Command(h.path("bin", "hummingbot_quickstart.py"))
	child.Dir = string(h)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if m := errorsRedirect.FindStringSubmatch(command); m != nil {
		f, err := os.OpenFile(h.path(strings.TrimPrefix(m[1], "./")), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bash: %s: No such file or directory\n", m[1])
			return 1
		}
		defer f.Close()
		child.Stderr = f
	}
	return runChild(child)
}

// runChild runs a command to its end and returns its status as bash
// reports it: the exit code, or 128 plus the signal that ended it.
func runChild(child *exec.Cmd) int {
	err := child.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "bash: %s: %v\n", child.Path, err)
	return 127
}

// shellCommand finds the command string of `bash -c CMD` or `bash -lc CMD`.
func shellCommand(args []string) (string, bool) {
	for i, a := range args {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// copyExec is a cluster bot's command, `cp src dst && exec argv...`.
type copyExec struct {
	src, dst string
	argv     []string
}

// parseCopyExec reads a command of exactly the shape `cp SRC DST && exec
// PROG ARGS...`. Words may be single-quoted, as nectar quotes a config
// name; what would make a shell do more than run those two commands
// (another operator, a redirection, an expansion, an option to cp or exec)
// is an error, so a command nectar gets wrong fails here as it could on
// the real image rather than run by luck.
func parseCopyExec(command string) (copyExec, error) {
	words, err := shellWords(command)
	if err != nil {
		return copyExec{}, err
	}
	shape := errors.New("not of the shape cp SRC DST && exec PROG ARGS")
	if len(words) < 6 {
		return copyExec{}, shape
	}
	for i, w := range words {
		if w.op != (i == 3) {
			return copyExec{}, shape
		}
	}
	if words[0].text != "cp" || words[4].text != "exec" {
		return copyExec{}, shape
	}
	// A leading dash would be an option to cp or exec, which nectar never
	// passes; an empty word is an operand neither accepts.
	for _, i := range []int{1, 2, 5} {
		if w := words[i].text; w == "" || strings.HasPrefix(w, "-") {
			return copyExec{}, fmt.Errorf("%q is not a file operand or program name nectar-testbot takes", w)
		}
	}
	ce := copyExec{src: words[1].text, dst: words[2].text}
	for _, w := range words[5:] {
		ce.argv = append(ce.argv, w.text)
	}
	return ce, nil
}

// word is one word of a command line after quote removal, or the
// operator && (op).
type word struct {
	text string
	op   bool
}

// plainShellChar is what the shell takes literally outside quotes in any
// position of a word that is not a command's first. Everything else
// outside quotes ($, `, ", *, ?, [, ~, #, ;, |, <, >, (, ), {, }, !, a
// single &, ...) may mean something to it, and the stand-in refuses it
// rather than guess.
func plainShellChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_./=:,+@%-", c) >= 0
}

// shellWords splits a command line as a POSIX shell does, for the little
// it needs: blanks separate words, a single quote keeps everything up to
// the next one, a backslash outside quotes keeps the character after it
// (nectar writes a quote inside a quoted word as close, backslash-quote,
// reopen), and && is an operator wherever it stands.
func shellWords(line string) ([]word, error) {
	var words []word
	var cur strings.Builder
	inWord := false // an empty '' is still a word
	end := func() {
		if inWord {
			words = append(words, word{text: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unexpected EOF while looking for matching `''")
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, errors.New("a backslash at the end of a line, which nectar-testbot's bash does not take")
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '&' && i+1 < len(line) && line[i+1] == '&':
			end()
			words = append(words, word{text: "&&", op: true})
			i++
		case plainShellChar(c):
			cur.WriteByte(c)
			inWord = true
		default:
			return nil, fmt.Errorf("%q outside quotes, which nectar-testbot's bash does not take", c)
		}
	}
	end()
	return words, nil
}

// bashDefaultPath is where bash looks for commands when PATH is unset.
const bashDefaultPath = "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:."

// lookPath finds a command as bash does: a name with a slash is used as
// it is, any other is searched in PATH, where an empty entry means the
// current folder.
func lookPath(name string) (string, bool) {
	executable := func(p string) bool {
		info, err := os.Stat(p)
		return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
	}
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	path, set := os.LookupEnv("PATH")
	if !set {
		path = bashDefaultPath
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); executable(p) {
			return p, true
		}
	}
	return "", false
}

// copyThenExec runs `cp src dst && exec argv...` as bash does: cp is a
// program of its own (/bin/cp), run as a child; only when it succeeds
// does bash exec the bot in its own place, so the bot keeps bash's pid.
// In a container that is PID 1, and `docker stop`'s SIGTERM reaches the
// bot's handler instead of a bash that would let the kernel drop it.
func copyThenExec(ce copyExec) int {
	// Bash sets no handler while cp runs; as PID 1 that means signals are
	// dropped, which Go left alone would not do. Go's caught signals go
	// back to their default action across exec, so the bot starts as it
	// would from bash.
	if parked := dropSignalsAsPID1(); parked != nil {
		go func() {
			for range parked {
			}
		}()
	}
	cpPath, ok := lookPath("cp")
	if !ok {
		fmt.Fprintln(os.Stderr, "bash: line 1: cp: command not found")
		return 127
	}
	cp := &exec.Cmd{Path: cpPath, Args: []string{"cp", ce.src, ce.dst}}
	cp.Stdin, cp.Stdout, cp.Stderr = os.Stdin, os.Stdout, os.Stderr
	if code := runChild(cp); code != 0 {
		return code // && stops here
	}
	prog, ok := lookPath(ce.argv[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "bash: line 1: exec: %s: not found\n", ce.argv[0])
		return 127
	}
	err := syscall.Exec(prog, ce.argv, os.Environ())
	fmt.Fprintf(os.Stderr, "bash: line 1: %s: cannot execute: %s\n", prog, pyStrerror(err))
	return 126
}
