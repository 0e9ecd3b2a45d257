package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/status"
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
			if !strings.Contains(addr, "://") {
				addr = "http://" + addr
			}
			st, err := status.Fetch(cmd.Context(), addr, strings.TrimSpace(os.Getenv(EnvStatusToken)))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if err := status.WriteText(a.stdout, st); err != nil {
				return err
			}
			if st.NeedsAttention() {
				return exitError(exitProblems)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the daemon's JSON as is")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "where the daemon serves its status page")
	return cmd
}
