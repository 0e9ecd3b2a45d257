package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/secrets"
)

func (a *app) initCommand() *cobra.Command {
	var opts manage.InitOptions
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a fleet; make an age identity if none exists and print its recipient",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			recipient, err := a.recipientForInit()
			if err != nil {
				return err
			}
			opts.Recipients = []string{recipient}
			if err := manage.Init(dir, opts); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Initialised fleet in %s, encrypted to %s\n", dir, recipient)
			fmt.Fprintln(a.stdout, "Next: nectar account create <account>; nectar cred add <account> <connector>; write bots/<bot>.yml; nectar validate")
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Fleet, "fleet", "", "fleet name (default: the folder's name)")
	cmd.Flags().StringVar(&opts.Image, "image", manage.DefaultImage, "default bot image")
	return cmd
}

// recipientForInit returns the public key of the identity nectar would
// use, creating an identity at the usual place when there is none.
func (a *app) recipientForInit() (string, error) {
	ids, err := secrets.LoadIdentities(a.identity)
	if err == nil {
		return ids.Recipients[0], nil
	}
	if !errors.Is(err, secrets.ErrNoIdentity) {
		return "", err
	}
	path := a.identity
	if path == "" {
		path = os.Getenv(secrets.EnvKeyFile)
	}
	if path == "" {
		if path, err = secrets.DefaultIdentityPath(); err != nil {
			return "", err
		}
	}
	recipient, err := secrets.GenerateIdentity(path)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(a.stderr, "nectar: created a new age identity in %s; back it up, it is the only key to this fleet's secrets\n", path)
	return recipient, nil
}

func (a *app) keygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen [-o FILE]",
		Short: "Make a new age identity",
		Long:  "Make a new age identity. With -o it is written to FILE (mode 0600); otherwise to standard output.\nThe public key (the recipient to list in nectar.yaml) goes to standard error.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" {
				recipient, err := secrets.GenerateIdentity(out)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "Public key: %s\n", recipient)
				return nil
			}
			text, recipient, err := secrets.NewIdentityText()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "Public key: %s\n", recipient)
			_, err = a.stdout.Write(text)
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the identity to this file")
	return cmd
}

func (a *app) rekeyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rekey",
		Short: "Re-encrypt every age file to the recipients in nectar.yaml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.folder()
			if err != nil {
				return err
			}
			ids, err := a.identities()
			if err != nil {
				return err
			}
			written, err := f.Rekey(ids)
			for _, w := range written {
				fmt.Fprintf(a.stdout, "re-encrypted %s\n", w)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d file(s) re-encrypted\n", len(written))
			return nil
		},
	}
}
