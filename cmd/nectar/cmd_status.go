package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	var addr string
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Ask a running daemon what it sees",
		Long: "status asks `nectar run` for its view of the fleet (GET /api/v1/status) and prints it.\n" +
			"A token the daemon requires comes from $" + EnvStatusToken + ".\n\n" +
			"The exit status says whether the fleet needs a person:\n" +
			"  0  every bot is where the source wants it, or on its way there\n" +
			"  1  the daemon could not be asked\n" +
			"  3  a bot failed, is stalled or crash-loops, the source does not load or cannot\n" +
			"     be fetched, or Docker does not answer the daemon (the same 3 as `plan --exit-code`'s)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("addr") {
				warnf(a.stderr, "--addr is deprecated: use --listen, as in `nectar run`")
			}
			if !strings.Contains(addr, "://") {
				addr = "http://" + addr
			}
			st, err := fetchStatus(cmd.Context(), addr, strings.TrimSpace(os.Getenv(EnvStatusToken)))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if err := writeStatus(a.stdout, st); err != nil {
				return err
			}
			if st.NeedsAttention() {
				return exitError(exitProblems)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the daemon's JSON as is")
	// --listen, as in `nectar run`: the address given to one is the one to
	// give the other. --addr was this command's name for it before.
	cmd.Flags().StringVar(&addr, "listen", "127.0.0.1:8090", "the `address` of the daemon's status page, as given to nectar run --listen")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "old name of --listen")
	// Hidden, and warned about here rather than by cobra, which would print
	// its warning on standard output, into a --json reader's input.
	_ = cmd.Flags().MarkHidden("addr")
	return cmd
}
