package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/testenv"
)

// Two state dirs of one fleet name: the second sees the first's containers
// as another's (stalled, exit code 3, untouched); `nectar adopt --all`
// makes them its own without a restart, after which its plan acts on them
// (the first nectar must be stopped by then, as adopt's help says).
func TestAdoptTakesOverAnotherStateDirsContainers(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	const fleetName = "e2e-adopt"
	testenv.RemoveFleet(t, fleetName)
	dir := testenv.CopyExample(t, fleetName, "ad-")
	first, second := t.TempDir(), t.TempDir()
	t.Cleanup(func() { testenv.RemoveFleet(t, fleetName) })
	t.Setenv("NECTAR_AGE_KEY_FILE", testenv.DemoIdentity())
	pmm := "hummingbot-ad-pmm-btc"
	id := func() string {
		out, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", pmm).Output()
		if err != nil {
			t.Fatalf("docker inspect %s: %v", pmm, err)
		}
		return strings.TrimSpace(string(out))
	}

	if code, out := nectarCode(t, "--source", dir, "--state-dir", first, "apply"); code != 0 {
		t.Fatalf("apply with the first state dir: %d\n%s", code, out)
	}
	before := id()

	code, out := nectarCode(t, "--source", dir, "--state-dir", second, "plan", "--exit-code")
	if code != 3 || !strings.Contains(out, "stalled") || !strings.Contains(out, first) {
		t.Errorf("the second state dir's plan: exit %d, want 3 naming the owner's state dir:\n%s", code, out)
	}
	if code, out := nectarCode(t, "--source", dir, "--state-dir", second, "apply"); id() != before {
		t.Fatalf("the second state dir touched the first's container (apply exit %d):\n%s", code, out)
	}

	code, out = nectarCode(t, "--source", dir, "--state-dir", second, "adopt", "--all")
	if code != 0 || !strings.Contains(out, "adopted "+pmm) {
		t.Fatalf("adopt: exit %d\n%s", code, out)
	}
	if id() != before {
		t.Error("adopting restarted the container")
	}
	code, out = nectarCode(t, "--source", dir, "--state-dir", second, "plan")
	t.Logf("plan after adopt:\n%s", out)
	if strings.Contains(out, "stalled") || !strings.Contains(out, "ad-pmm-btc") {
		t.Errorf("after adopt the second state dir still sees a conflict (exit %d):\n%s", code, out)
	}
	code, out = nectarCode(t, "--source", dir, "--state-dir", second, "adopt", "--all")
	if code == 0 || !strings.Contains(out, "no container to adopt") {
		t.Errorf("a second adopt: exit %d\n%s", code, out)
	}
}
