package reconcile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/testenv"
)

// TestEngineSameFleetNameTwoStateDirs is the scenario on the real
// engine: two folders that both say `fleet: <name>`, applied with their
// own state dirs. The second pass must not remove the first's bot (it was
// never in its source), and neither may the first remove the second's.
func TestEngineSameFleetNameTwoStateDirs(t *testing.T) {
	a := newEngineHarness(t)
	// Only one bot in each folder, to keep it quick.
	for _, name := range []string{"xemm-eth", "hl-perp"} {
		os.Remove(filepath.Join(a.dir, "bots", a.bot(name)+".yml"))
	}
	b := &engineHarness{t: t, fleet: a.fleet, prefix: "rc2-", eng: a.eng}
	b.dir = testenv.CopyExample(t, b.fleet, b.prefix)
	for _, name := range []string{"xemm-eth", "hl-perp"} {
		os.Remove(filepath.Join(b.dir, "bots", b.bot(name)+".yml"))
	}
	b.state = t.TempDir()
	rd, err := render.New(render.StateDirOptions(b.state))
	if err != nil {
		t.Fatal(err)
	}
	b.r = New(Options{Runtime: b.eng, Renderer: rd, StateDir: b.state, Identities: exampleIDs()})

	pa, pb := a.bot("pmm-btc"), b.bot("pmm-btc")
	a.expect(a.pass(), pa, plan.Create)
	a.waitReady(pa)
	first := a.containers()[pa][0]

	res := b.pass()
	b.expect(res, pb, plan.Create)
	o := outcome(t, res, pa)
	if o.Kind != plan.Stalled || !strings.Contains(o.Reason, a.state) {
		t.Fatalf("the other's bot: %s %q", o.Kind, o.Reason)
	}
	b.waitReady(pb)
	a.pass()
	a.pass()
	cs := a.containers()
	if len(cs[pa]) != 1 || cs[pa][0].ID != first.ID || !cs[pa][0].Running() {
		t.Fatalf("the first state dir's bot was touched: %+v", cs[pa])
	}
	if len(cs[pb]) != 1 || !cs[pb][0].Running() {
		t.Fatalf("the second state dir's bot was touched: %+v", cs[pb])
	}
	if got := cs[pb][0].Labels[runtime.LabelStateDir]; got != b.state {
		t.Errorf("%s carries state dir %q, want %q", pb, got, b.state)
	}

	// A container made by an older nectar (no owner label) from the first
	// state dir stays its own without a restart; the second leaves it be.
	out, err := exec.Command("docker", "inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}", first.ID).Output()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(l, runtime.LabelOwner+"=") && !strings.HasPrefix(l, runtime.LabelStateDir+"=") {
			labels = append(labels, "--label", l)
		}
	}
	old := "nectar-e2e-older-" + a.prefix
	args := append([]string{"create", "--name", old}, labels...)
	args = append(args, "--label", runtime.LabelBot+"="+a.bot("legacy"), testenv.TestbotImage)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", old).Run() })
	if o := outcome(t, b.pass(), a.bot("legacy")); o.Kind != plan.Stalled || !strings.Contains(o.Reason, "older nectar") {
		t.Errorf("an unlabelled container of no record: %s %q", o.Kind, o.Reason)
	}
	if _, err := exec.Command("docker", "inspect", old).Output(); err != nil {
		t.Error("the unlabelled container was removed")
	}
}
