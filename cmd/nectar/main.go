// Command nectar keeps a fleet of Hummingbot bots on Docker in step with a
// folder or git repository. This package only parses flags and wires the
// internal packages together.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nectarhq/nectar/internal/hint"
)

// exitError carries an exit status without a message of its own, for
// commands whose output already said what went wrong.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run executes one command line and returns the process exit status.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var code exitError
	if errors.As(err, &code) {
		return int(code)
	}
	printError(stderr, err)
	return 1
}

// printError writes err as "nectar: error: ..." lines followed by its hints.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "nectar: error: %s\n", line)
	}
	seen := map[string]bool{}
	for _, h := range hint.Of(err) {
		if !seen[h] {
			seen[h] = true
			fmt.Fprintf(w, "nectar: hint: %s\n", h)
		}
	}
}

func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "nectar: warning: "+format+"\n", args...)
}
