package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nectarhq/nectar/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.DefaultSignals()
	// Tests that need a real process (a terminal, say) run this test
	// binary as nectar itself.
	if os.Getenv("NECTAR_TEST_AS_MAIN") == "1" {
		main()
	}
	testscript.Main(m, map[string]func(){
		"nectar": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script, one per command.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			// Each script gets its own home, so identities land in
			// $WORK/home/.config/nectar and nothing leaks between scripts.
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("XDG_CONFIG_HOME", "")
			e.Setenv("NECTAR_AGE_KEY", "")
			e.Setenv("NECTAR_AGE_KEY_FILE", "")
			e.Setenv("EDITOR", "")
			e.Setenv("VISUAL", "")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "agecli":
				_, err := exec.LookPath("age")
				if err != nil && os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
					// CI installs the age CLI; its absence there is a failure, not a skip.
					t.Fatal("the age CLI is required (NECTAR_REQUIRE_DOCKER is set) but not installed")
				}
				return err == nil, nil
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"nosecret": cmdNoSecret,
		},
	})
}

// cmdNoSecret fails if any file under the given folders contains the
// marker, in its content or its name: `nosecret MARKER DIR...`.
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecret MARKER DIR...")
	}
	marker := []byte(args[0])
	for _, dir := range args[1:] {
		root := ts.MkAbs(dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if bytes.Contains([]byte(p), marker) {
				ts.Fatalf("file name %s holds the secret", p)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(data, marker) {
				ts.Fatalf("%s holds the secret in plaintext", p)
			}
			return nil
		})
		ts.Check(err)
	}
}
