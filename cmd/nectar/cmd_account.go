package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) accountCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Create, delete and list accounts",
	}
	var force bool
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an account and its credentials (refused while a bot uses it, unless --force)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.folder()
			if err != nil {
				return err
			}
			if err := f.DeleteAccount(args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "deleted account %s\n", args[0])
			return nil
		},
	}
	del.Flags().BoolVar(&force, "force", false, "delete even while bots use the account")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "create NAME",
			Short: "Create accounts/NAME/password.age with a random Hummingbot password",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				f, err := a.folder()
				if err != nil {
					return err
				}
				if err := f.CreateAccount(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "created account %s (password in accounts/%s/password.age)\n", args[0], args[0])
				return nil
			},
		},
		del,
		&cobra.Command{
			Use:   "list",
			Short: "List accounts, their connectors and the bots using them",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				f, err := a.folder()
				if err != nil {
					return err
				}
				fl, err := f.Load(nil)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ACCOUNT\tCONNECTORS\tBOTS")
				for _, name := range slices.Sorted(maps.Keys(fl.Accounts)) {
					acct := fl.Accounts[name]
					fmt.Fprintf(tw, "%s\t%s\t%s\n", name, dash(strings.Join(acct.Connectors, ",")), dash(strings.Join(fl.BotsUsingAccount(name), ",")))
				}
				return tw.Flush()
			},
		},
	)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
