package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/manage"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/source"
)

// app holds the global flags and the process's standard streams.
type app struct {
	stdin          *os.File
	stdout, stderr io.Writer

	source    string
	branch    string
	subPath   string
	identity  string
	stateDir  string
	logFormat string
	logLevel  slog.Level
}

func (a *app) rootCommand() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "nectar",
		Short: "GitOps for Hummingbot fleets",
		Long: "nectar keeps a fleet of Hummingbot bots on Docker in step with a folder or git repository\n" +
			"holding their accounts (age-encrypted exchange keys), bots, scripts and configs.",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.warnSourcePassword()
			if a.logFormat != "text" && a.logFormat != "json" {
				return hint.New(fmt.Sprintf("--log-format %q is not known", a.logFormat), "use text or json")
			}
			if err := a.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
				return hint.New(fmt.Sprintf("--log-level %q is not known", logLevel), "use debug, info, warn or error")
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		// `nectar completion bash|zsh|fish|powershell` prints the shell's
		// completion script; its help says how to load it.
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.source, "source", ".", "the fleet source: a folder, or a git URL (https://, ssh://, git@host:path, file://)")
	pf.StringVar(&a.branch, "branch", "", "git branch of the source (default: the remote HEAD)")
	pf.StringVar(&a.subPath, "path", "", "sub-folder of the source that holds the fleet")
	pf.StringVar(&a.identity, "identity", "", "age identity file (default: $NECTAR_AGE_KEY_FILE, $NECTAR_AGE_KEY, ~/.config/nectar/age.key)")
	pf.StringVar(&a.stateDir, "state-dir", "", "where nectar keeps rendered bot folders (default: ~/.local/state/nectar)")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		a.initCommand(),
		a.keygenCommand(),
		a.accountCommand(),
		a.credCommand(),
		a.rekeyCommand(),
		a.validateCommand(),
		a.renderCommand(), a.importCommand(),
		a.planCommand(), a.applyCommand(), a.runCommand(), a.statusCommand(),
		a.suspendCommand(), a.resumeCommand(), a.adoptCommand(),
		a.versionCommand(),
	)
	return root
}

// warnSourcePassword warns when --source is a URL with a password in it.
// nectar can use it, and never shows it, but it sits in the process's
// command line, which every user of the machine can read (ps, /proc), and
// in the shell's history. The warning shows the URL with the password
// masked.
func (a *app) warnSourcePassword() {
	shown, ok := source.RedactURL(a.source)
	if !ok {
		return
	}
	warnf(a.stderr, "--source %s holds a password, which any user of this machine can read in nectar's command line (ps)", shown)
	fmt.Fprintf(a.stderr, "nectar: hint: drop the password from the URL and put it in $%s (and the user name in $%s) instead\n",
		source.EnvGitToken, source.EnvGitUsername)
}

// folder returns the source as a local folder, for commands that change it.
func (a *app) folder() (manage.Folder, error) {
	src := a.source
	// The same test a pass uses to choose between a clone and a folder, so
	// that any scp-like remote (deploy@host:repo, not only git@...) is
	// called a remote here, and a folder whose name looks like one is
	// still a folder.
	if source.IsGit(src) {
		shown, _ := source.RedactURL(src)
		return manage.Folder{}, hint.New(fmt.Sprintf("--source %s is not a local folder", shown),
			"this command changes files: run it in a clone of the repository, then commit and push")
	}
	if a.subPath != "" {
		src = src + string(os.PathSeparator) + a.subPath
	}
	info, err := os.Stat(src)
	if err != nil || !info.IsDir() {
		return manage.Folder{}, hint.New(fmt.Sprintf("fleet folder %s not found", src),
			"pass the fleet folder with --source, or run `nectar init` to make one")
	}
	return manage.Folder{Dir: src}, nil
}

// loadFleet loads the local fleet source, decrypting it with the user's
// identity.
func (a *app) loadFleet() (*fleet.Fleet, error) {
	f, err := a.folder()
	if err != nil {
		return nil, err
	}
	ids, err := a.identities()
	if err != nil {
		return nil, err
	}
	return f.Load(ids)
}

// logger writes structured logs to stderr in the chosen format.
func (a *app) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: a.logLevel}
	if a.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

func (a *app) identities() (*secrets.Identities, error) {
	ids, err := secrets.LoadIdentities(a.identity)
	if err != nil {
		return nil, hint.Wrap(err, a.identityHint())
	}
	return ids, nil
}
