package main

import (
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
	apply := func() *exec.Cmd {
		cmd := exec.Command(self, "--source", dir, "--state-dir", state, "apply")
		cmd.Env = append(os.Environ(), "NECTAR_TEST_AS_MAIN=1", "NECTAR_AGE_KEY_FILE="+testenv.DemoIdentity())
		return cmd
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	botFile := filepath.Join(dir, "bots", "kill-pmm-btc.yml")
	for i := range 6 {
		// Change the spec each round so every pass has real work to cut short.
		os.WriteFile(botFile, []byte("account: master_account\nconnectors: [binance]\nenv: {ROUND: \""+string(rune('a'+i))+"\"}\n"), 0o644)
		cmd := apply()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(900)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	if out, err := apply().CombinedOutput(); err != nil {
		t.Fatalf("final apply: %v\n%s", err, out)
	}
	out, err := apply().CombinedOutput()
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
