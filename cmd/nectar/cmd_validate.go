package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/connector"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the whole source offline and report every problem with file:line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl, err := a.loadFleet()
			if err != nil {
				return err
			}
			for _, p := range fl.Problems {
				fmt.Fprintln(a.stdout, p.String())
			}
			if n := len(fl.Problems); n > 0 {
				fmt.Fprintf(a.stderr, "nectar: error: %d problem(s) found\n", n)
				return exitError(1)
			}
			creds := 0
			for _, acct := range fl.Accounts {
				creds += len(acct.Credentials)
			}
			fmt.Fprintf(a.stdout, "fleet %s is valid: %d account(s), %d credential(s), %d bot(s)\n", fl.Name, len(fl.Accounts), creds, len(fl.Bots))
			return nil
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nectar's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version
			if v == "" {
				v = "(devel)"
				if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
					v = info.Main.Version
				}
			}
			fmt.Fprintf(a.stdout, "nectar %s (Hummingbot connector table %s)\n", v, connector.HummingbotVersion)
			return nil
		},
	}
}
