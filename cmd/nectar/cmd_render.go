package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/render"
)

func (a *app) renderCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render --out DIR [BOT...]",
		Short: "Write bots' Hummingbot instance folders into DIR, without Docker",
		Long: "Write the instance folder of each named bot (every bot when none is named) as DIR/<bot>/,\n" +
			"exactly as nectar run would: connector files encrypted with the account password,\n" +
			".password_verification, conf_client.yml, and the fleet's scripts, controllers and configs\n" +
			"(not the image's own scripts and controllers, which nectar run copies in from the engine).\n" +
			"Running it again writes only what changed. DIR/.nectar-render.key keeps the key of the\n" +
			"digests nectar records; keep DIR private.\n\n" +
			"Bots with problems (see `nectar validate`) are not rendered; the others still are.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return hint.New("no output folder", "name one with --out DIR")
			}
			fl, err := a.loadFleet()
			if err != nil {
				return err
			}
			bots := args
			if len(bots) == 0 {
				bots = slices.Sorted(maps.Keys(fl.Bots))
				if len(bots) == 0 {
					return hint.New("the fleet has no bots", "add one as bots/<bot>.yml")
				}
			}
			for _, b := range bots {
				if _, ok := fl.Bots[b]; !ok {
					return hint.New(fmt.Sprintf("bot %s is not in the fleet (no bots/%s.yml)", b, b),
						"bots: "+strings.Join(slices.Sorted(maps.Keys(fl.Bots)), ", "))
				}
			}
			r, err := render.New(render.Options{Dir: out})
			if err != nil {
				return err
			}
			var failed []string
			for _, b := range bots {
				if problems := fl.BotProblems(b); len(problems) > 0 {
					fmt.Fprintf(a.stderr, "nectar: error: bot %s not rendered: %d problem(s):\n", b, len(problems))
					for _, p := range problems {
						fmt.Fprintf(a.stderr, "  %s\n", strings.ReplaceAll(p.String(), "\n", "\n  "))
					}
					failed = append(failed, b)
					continue
				}
				res, err := r.Render(fl, b, nil)
				if res != nil {
					a.printRender(res)
				}
				if err != nil {
					printError(a.stderr, err)
					failed = append(failed, b)
				}
			}
			if len(failed) > 0 {
				return hint.New(fmt.Sprintf("%d of %d bot(s) not rendered: %s", len(failed), len(bots), strings.Join(failed, ", ")),
					"fix what is reported above; `nectar validate` lists every problem of the source")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write DIR/<bot>/ into (required)")
	return cmd
}

func (a *app) printRender(res *render.Result) {
	if !res.Changed() {
		fmt.Fprintf(a.stdout, "%s: up to date (%s)\n", res.Bot, res.Dir)
		return
	}
	fmt.Fprintf(a.stdout, "%s: %d written, %d removed (%s)\n", res.Bot, len(res.Written), len(res.Removed), res.Dir)
	for _, p := range res.Written {
		fmt.Fprintf(a.stdout, "  wrote   %s\n", p)
	}
	for _, p := range res.Removed {
		fmt.Fprintf(a.stdout, "  removed %s\n", p)
	}
}
