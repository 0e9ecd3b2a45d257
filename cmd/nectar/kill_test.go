package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// TestKillDuringApply kills `nectar apply` with SIGKILL at random moments
// of its passes, then applies again: the fleet converges, with exactly one
// container per running bot and no half-written file left anywhere.
func TestKillDuringApply(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-kill"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "kill-")
	state := t.TempDir()
	// Registered after the folders, so it runs before they are deleted:
	// a running bot keeps writing into its data/.
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	nectar := func(args ...string) *exec.Cmd {
		cmd := exec.Command(self, append([]string{"--source", dir, "--state-dir", state}, args...)...)
		cmd.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1", "NECTAR_AGE_KEY_FILE="+testenv.DemoIdentity())
		return cmd
	}
	apply := func() *exec.Cmd { return nectar("apply") }
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	botFile := filepath.Join(dir, "bots", "kill-pmm-btc.yml")
	for i := range 6 {
		// Change the spec each round so every pass has real work to cut short.
		os.WriteFile(botFile, []byte("account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nstop_timeout: 3s\nenv: {ROUND: \""+string(rune('a'+i))+"\"}\n"), 0o644)
		cmd := apply()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(900)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	// With work pending, plan --exit-code exits 2 and names the action.
	os.WriteFile(botFile, []byte("account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nstop_timeout: 3s\nenv: {ROUND: final}\n"), 0o644)
	out, err := nectar("plan", "--exit-code").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "kill-pmm-btc") {
		t.Fatalf("plan --exit-code with changes pending: exit %d\n%s", code, out)
	}
	if out, err := apply().CombinedOutput(); err != nil {
		t.Fatalf("final apply: %v\n%s", err, out)
	}
	if out, err := nectar("plan", "--exit-code").CombinedOutput(); err != nil {
		t.Fatalf("plan --exit-code after convergence: %v\n%s", err, out)
	}
	out, err = apply().CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 none") || strings.Contains(string(out), "create") {
		t.Fatalf("apply after convergence is not a no-op: %v\n%s", err, out)
	}
	ps, _ := exec.Command("docker", "ps", "-a", "--filter", "label=nectar.fleet="+fleetName, "--format", "{{.Names}} {{.State}}").Output()
	lines := strings.Fields(strings.TrimSpace(string(ps)))
	if len(lines) != 4 || !strings.Contains(string(ps), "hummingbot-kill-pmm-btc running") || !strings.Contains(string(ps), "hummingbot-kill-xemm-eth running") {
		t.Fatalf("containers after kills:\n%s", ps)
	}
	filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("half-written file left behind: %s", p)
		}
		return nil
	})
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
