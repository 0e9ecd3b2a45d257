package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/connector"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/prompt"
)

func (a *app) credCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cred",
		Short: "Add, remove, list and edit an account's exchange credentials",
	}
	cmd.AddCommand(a.credAddCommand(), a.credRmCommand(), a.credListCommand(), a.credEditCommand())
	return cmd
}

func (a *app) credAddCommand() *cobra.Command {
	var replace bool
	cmd := &cobra.Command{
		Use:   "add ACCOUNT CONNECTOR",
		Short: "Add a credential: prompts for each field on a terminal, or reads its YAML on stdin",
		Long: "Add a credential for one connector to an account, encrypted to the fleet's recipients.\n" +
			"On a terminal nectar asks for each field of a known connector (secret fields are not echoed).\n" +
			"Otherwise it reads the credential's YAML on stdin:\n\n" +
			"  connector: binance\n  secrets:\n    binance_api_key: ...\n    binance_api_secret: ...\n  settings: {}\n\n" +
			"Secrets are never taken as arguments.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			account, conn := args[0], args[1]
			if err := errors.Join(manage.CheckName("account", account), manage.CheckName("connector", conn)); err != nil {
				return err
			}
			f, err := a.folder()
			if err != nil {
				return err
			}
			plain, err := a.readCredential(account, conn)
			if err != nil {
				return err
			}
			if err := f.AddCredential(account, conn, plain, replace); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "added %s to account %s (accounts/%s/%s%s)\n", conn, account, account, conn, fleet.CredentialSuffix)
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "replace an existing credential")
	return cmd
}

// readCredential gets a credential's plaintext from the terminal or stdin
// and returns it in canonical form.
func (a *app) readCredential(account, conn string) ([]byte, error) {
	var cred *fleet.Credential
	if prompt.IsTerminal(a.stdin) {
		spec, known := connector.Lookup(conn)
		if !known {
			return nil, hint.New(fmt.Sprintf("nectar does not know the fields of connector %s", conn),
				fmt.Sprintf("write its YAML (connector: %s, secrets:, settings:) and pipe it in: nectar cred add %s %s < file.yml", conn, account, conn))
		}
		var err error
		if cred, err = prompt.Credential(prompt.Terminal{In: a.stdin, Out: a.stderr}, account, spec); err != nil {
			return nil, err
		}
	} else {
		data, err := io.ReadAll(io.LimitReader(a.stdin, fleet.MaxFileSize+1))
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, hint.New("no credential on stdin",
				fmt.Sprintf("pipe its YAML in (nectar cred add %s %s < file.yml), or run the command on a terminal to be asked for each field", account, conn))
		}
		var problems []fleet.Problem
		cred, problems = fleet.ParseCredential(account, conn, data)
		if len(problems) > 0 {
			return nil, stdinProblems(problems)
		}
	}
	return manage.MarshalCredential(cred)
}

// stdinProblems reports problems in a credential read from stdin, which
// has no file of its own.
func stdinProblems(ps []fleet.Problem) error {
	var errs []error
	for _, p := range ps {
		p.File = "<stdin>"
		p.Hint = ""
		errs = append(errs, p)
	}
	return hint.Wrap(errors.Join(errs...), "the YAML holds connector:, secrets: and settings: (see `nectar cred add --help`)")
}

func (a *app) credRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rm ACCOUNT CONNECTOR",
		Short: "Remove a credential",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.folder()
			if err != nil {
				return err
			}
			fl, err := f.Load(nil)
			if err != nil {
				return err
			}
			if users := botsNaming(fl, args[0], args[1]); len(users) > 0 {
				warnf(a.stderr, "bot(s) %v name connector %s and will be Stalled until they stop naming it", users, args[1])
			}
			if err := f.RemoveCredential(args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed %s from account %s\n", args[1], args[0])
			return nil
		},
	}
}

// botsNaming lists the bots that use a credential.
func botsNaming(fl *fleet.Fleet, account, conn string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(fl.Bots)) {
		b := fl.Bots[name]
		if b.Account == account && slices.Contains(b.Connectors, conn) {
			out = append(out, name)
		}
	}
	return out
}

func (a *app) credListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list [ACCOUNT]",
		Short: "List credentials (names only, nothing is decrypted)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.folder()
			if err != nil {
				return err
			}
			fl, err := f.Load(nil)
			if err != nil {
				return err
			}
			accounts := slices.Sorted(maps.Keys(fl.Accounts))
			if len(args) == 1 {
				if _, ok := fl.Accounts[args[0]]; !ok {
					return hint.New(fmt.Sprintf("account %s does not exist", args[0]), "list accounts with `nectar account list`")
				}
				accounts = args
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tCONNECTOR")
			for _, name := range accounts {
				for _, c := range fl.Accounts[name].Connectors {
					fmt.Fprintf(tw, "%s\t%s\n", name, c)
				}
			}
			return tw.Flush()
		},
	}
}

func (a *app) credEditCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "edit ACCOUNT CONNECTOR",
		Short: "Edit a credential in $EDITOR (decrypted into memory-backed storage, shredded afterwards)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.folder()
			if err != nil {
				return err
			}
			ids, err := a.identities()
			if err != nil {
				return err
			}
			changed, err := f.EditCredential(args[0], args[1], ids, manage.Editor{Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr})
			if err != nil {
				return err
			}
			if !changed {
				fmt.Fprintf(a.stdout, "%s of account %s unchanged\n", args[1], args[0])
				return nil
			}
			fmt.Fprintf(a.stdout, "updated %s of account %s\n", args[1], args[0])
			return nil
		},
	}
}
