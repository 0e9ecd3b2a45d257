// Command sleeper is the container the runtime tests run: it sleeps until
// SIGTERM or SIGINT and exits 0, or, with SLEEPER_EXIT set, exits at once
// with that code. It runs as PID 1, which ignores signals it does not
// handle, so it must handle SIGTERM itself.
package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	if s := os.Getenv("SLEEPER_EXIT"); s != "" {
		code, err := strconv.Atoi(s)
		if err != nil {
			code = 2
		}
		os.Exit(code)
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
