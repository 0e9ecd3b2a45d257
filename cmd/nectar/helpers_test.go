package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/testenv"
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

// runningNectar is `nectar run` started by a test as a separate process
// (the test binary as nectar), with its output kept.
type runningNectar struct {
	cmd *exec.Cmd
	out *testenv.SyncBuffer
}

// startRun starts nectar with args (global flags first, then "run" and
// its own) and env added to the test's environment. It is sent SIGTERM
// and waited for when the test ends.
func startRun(t *testing.T, env []string, args ...string) *runningNectar {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &runningNectar{cmd: exec.Command(self, args...), out: &testenv.SyncBuffer{}}
	n.cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1"), env...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	})
	return n
}

// statusURLRe finds the status page's address in nectar's log, text or JSON.
var statusURLRe = regexp.MustCompile(`url(?:=|":")(http://127\.0\.0\.1:\d+)`)

// statusURL waits until nectar serves its status page and is ready, and
// returns the page's base URL.
func (n *runningNectar) statusURL(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := statusURLRe.FindStringSubmatch(n.out.String()); m != nil {
			if resp, err := http.Get(m[1] + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return m[1]
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nectar never served a ready status page; output:\n%s", n.out.String())
	return ""
}
