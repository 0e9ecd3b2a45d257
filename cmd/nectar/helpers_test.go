package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/secrets"
)

// decryptFile reads an age file of a test's fleet with the identity given.
func decryptFile(t *testing.T, identityFile, path string) string {
	t.Helper()
	ids, err := secrets.LoadIdentities(identityFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := secrets.Decrypt(data, ids)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

// isolatedEnv is the environment of a nectar run under test with its own
// home, so its identity lands in HOME/.config/nectar and no key of the
// machine's user is found.
func isolatedEnv(home string) []string {
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=", "NECTAR_AGE_KEY=", "NECTAR_AGE_KEY_FILE="}
}

// nectarIn runs the test binary as nectar in dir with env added and stdin
// given, failing the test if it fails; it returns the combined output.
func nectarIn(t *testing.T, dir string, env []string, stdin string, args ...string) string {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nectar %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// newFleetWithAccount makes work/fleet with `nectar init` and an account
// "main", under its own home (work/home); it returns the environment.
func newFleetWithAccount(t *testing.T, work string) []string {
	t.Helper()
	env := isolatedEnv(filepath.Join(work, "home"))
	nectarIn(t, work, env, "", "init", "fleet")
	nectarIn(t, work, env, "", "--source", "fleet", "account", "create", "main")
	return env
}
