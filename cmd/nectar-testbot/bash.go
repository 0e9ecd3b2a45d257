package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
)

// errorsRedirect finds the image command's "2>> ./logs/errors.log".
var errorsRedirect = regexp.MustCompile(`2>>\s*(\S+)`)

// bashMain plays the official image's PID 1: `/bin/bash -lc "conda
// activate hummingbot && ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log"`.
// Bash forks for the compound command and installs no SIGTERM handler, and
// the kernel drops signals with no handler sent to a namespace's PID 1, so
// SIGTERM and SIGINT do nothing: `docker stop` waits its whole timeout,
// then SIGKILL takes the container down with the bot still trading.
func bashMain(args []string) int {
	command, ok := shellCommand(args)
	if !ok || !strings.Contains(command, "hummingbot_quickstart.py") {
		fmt.Fprintln(os.Stderr, "bash: nectar-testbot only runs the image's own command: bash -lc \"... ./bin/hummingbot_quickstart.py 2>> ./logs/errors.log\"")
		return 2
	}
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
