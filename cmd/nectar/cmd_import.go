package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/hbcrypt"
	"github.com/nectarhq/nectar/internal/hbimport"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/prompt"
)

func (a *app) importCommand() *cobra.Command {
	var account string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "import DIR --account NAME",
		Short: "Import a Hummingbot credentials folder (bots/credentials/<account>) as a nectar account",
		Long: "Import the credentials Hummingbot keeps for one account: DIR holds .password_verification and\n" +
			"connectors/*.yml, as bots/credentials/<account> of Hummingbot's deploy does (an instance's conf/\n" +
			"folder works too). nectar checks the password against .password_verification, decrypts every\n" +
			"connector's secrets, and writes accounts/NAME/password.age and one <connector>.yml.age per\n" +
			"connector, encrypted to the fleet's recipients. Nothing is written unless everything decrypts.\n\n" +
			"The password is asked for on the terminal (not echoed), or read from the first line of stdin\n" +
			"with --password-stdin. It is never taken as an argument.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := manage.CheckName("account", account); err != nil {
				return err
			}
			f, err := a.folder()
			if err != nil {
				return err
			}
			if err := f.CheckImport(account); err != nil {
				return err
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				return hint.Wrap(fmt.Errorf("cannot open the Hummingbot folder: %w", err),
					"pass the folder that holds .password_verification and connectors/, e.g. hummingbot-deploy/bots/credentials/master_account")
			}
			defer root.Close()
			password, err := a.readPassword(passwordStdin, dir)
			if err != nil {
				return err
			}
			creds, err := hbimport.Read(root.FS(), account, password, hbcrypt.NewKeyring())
			switch {
			case errors.Is(err, hbimport.ErrWrongPassword):
				return hint.Wrap(fmt.Errorf("in %s: %w", dir, err), "nothing was written; give the password this Hummingbot account was created with")
			case errors.Is(err, hbimport.ErrNotCredentialsFolder):
				return hint.Wrap(fmt.Errorf("%s is %w", dir, err),
					"pass the folder that holds .password_verification and connectors/, e.g. hummingbot-deploy/bots/credentials/master_account")
			case err != nil:
				return hint.Wrap(fmt.Errorf("in %s: %w", dir, err), "nothing was written")
			}
			written, err := f.ImportAccount(account, password, creds)
			if err != nil {
				return err
			}
			names := make([]string, len(creds))
			for i, c := range creds {
				names[i] = c.Connector
			}
			list := "none"
			if len(names) > 0 {
				list = strings.Join(names, ", ")
			}
			fmt.Fprintf(a.stdout, "imported account %s: %d file(s) written, connectors: %s\n", account, len(written), list)
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "name of the nectar account to create (required)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the Hummingbot password from the first line of stdin")
	_ = cmd.MarkFlagRequired("account")
	return cmd
}

// maxPasswordInput caps what --password-stdin reads.
const maxPasswordInput = 64 << 10

// readPassword gets the Hummingbot password of the folder being imported.
func (a *app) readPassword(fromStdin bool, dir string) (string, error) {
	var pw string
	switch {
	case fromStdin:
		line, err := bufio.NewReader(io.LimitReader(a.stdin, maxPasswordInput)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", err
		}
		pw = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	case prompt.IsTerminal(a.stdin):
		var err error
		pw, err = prompt.Terminal{In: a.stdin, Out: a.stderr}.Secret(fmt.Sprintf("Hummingbot password of %s: ", dir))
		if err != nil {
			return "", err
		}
	default:
		return "", hint.New("no terminal to ask for the password",
			"pipe it in with --password-stdin, e.g. `nectar import DIR --account NAME --password-stdin < pw.txt`")
	}
	if pw == "" {
		return "", errors.New("the password is empty")
	}
	return pw, nil
}
