package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/source"
	"github.com/nectarhq/nectar/internal/testenv"
)

const waitLong = 60 * time.Second

// A watched folder, end to end on the real engine: the first pass creates
// the fleet; a bot added, edited by rename-save and deleted is created,
// recreated and pruned; a new folder with files is read; a burst of writes
// is one or two passes; a container removed by hand comes back through the
// engine's events; and stopping the daemon leaves the bots running.
func TestDaemonFollowsAFolder(t *testing.T) {
	dir := testenv.CopyExample(t, "e2e-daemon", "dm-")
	d := startDaemon(t, "e2e-daemon", source.Spec{Source: dir, Debounce: 50 * time.Millisecond})
	d.converged(waitLong)
	if got := d.containers(); len(got) != 2 {
		t.Fatalf("%d containers after the first passes, want 2 (hl-perp is stopped, so none is made for it)", len(got))
	}

	t.Run("bot added", func(t *testing.T) {
		since := time.Now()
		writeFile(t, dir, "bots/dm-added.yml", "account: team_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")
		d.waitPass("dm-added was created", waitLong, func(res *reconcile.Result) bool { return acted(res, "dm-added", plan.Create) })
		d.waitReady("dm-added", since)
	})

	t.Run("bot edited by rename-save", func(t *testing.T) {
		since := time.Now()
		defer func() { d.waitReady("dm-added", since) }()
		renameSave(t, dir, "bots/dm-added.yml", "account: team_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv:\n  EXTRA: one\n")
		res := d.waitPass("dm-added was recreated", waitLong, func(res *reconcile.Result) bool { return acted(res, "dm-added", plan.Recreate) })
		o, _ := outcome(res, "dm-added")
		if !strings.Contains(o.Reason, "env") {
			t.Errorf("recreate reason %q does not name the env change", o.Reason)
		}
	})

	t.Run("bot deleted is pruned", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "bots", "dm-added.yml")); err != nil {
			t.Fatal(err)
		}
		d.waitPass("dm-added was removed", waitLong, func(res *reconcile.Result) bool { return acted(res, "dm-added", plan.Remove) })
		if _, ok := d.containers()["dm-added"]; ok {
			t.Error("the container of a deleted bot is still there")
		}
	})

	t.Run("new folder with files", func(t *testing.T) {
		d.converged(waitLong)
		d.settle()
		before := d.count.Load()
		sub := filepath.Join(dir, "controllers", "market_making")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "controllers/market_making/pmm_simple.py", "# a controller\n")
		res := d.waitPass("a pass read the new folder", waitLong, func(res *reconcile.Result) bool {
			return d.count.Load() > before && res.Loaded != nil && containsShared(res, "controllers/market_making/pmm_simple.py")
		})
		if !res.SourceOK {
			t.Fatalf("the fleet did not load:\n%s", describe(res))
		}
	})

	t.Run("a burst of 200 writes is one or two passes", func(t *testing.T) {
		d.converged(waitLong)
		d.settle()
		time.Sleep(300 * time.Millisecond) // let the events of the last actions settle
		d.drain()
		before := d.count.Load()
		for i := range 200 {
			writeFile(t, dir, "scripts/burst.py", strings.Repeat("#", i+1)+"\n")
		}
		d.waitPass("the burst was read", waitLong, func(res *reconcile.Result) bool { return containsShared(res, "scripts/burst.py") })
		time.Sleep(time.Second) // any further pass the burst caused would run by now
		// The burst changes a shared script, so the running bots are
		// recreated, and their containers' events ask for one more pass.
		passes := d.count.Load() - before
		if passes < 1 || passes > 3 {
			t.Errorf("200 writes made %d passes, want one or two (plus one for the recreates' events)", passes)
		}
		t.Logf("200 writes → %d passes", passes)
	})

	t.Run("a container removed by hand comes back", func(t *testing.T) {
		d.converged(waitLong)
		c := d.containers()["dm-pmm-btc"]
		if out, err := exec.Command("docker", "rm", "-f", c.ID).CombinedOutput(); err != nil {
			t.Fatalf("docker rm: %v\n%s", err, out)
		}
		d.waitPass("dm-pmm-btc was created again", waitLong, func(res *reconcile.Result) bool { return acted(res, "dm-pmm-btc", plan.Create) })
	})

	t.Run("a container killed by hand runs again within seconds", func(t *testing.T) {
		d.converged(waitLong)
		c := d.containers()["dm-xemm-eth"]
		if out, err := exec.Command("docker", "kill", c.ID).CombinedOutput(); err != nil {
			t.Fatalf("docker kill: %v\n%s", err, out)
		}
		// The engine's restart policy or nectar's start (through the
		// die event), whichever is first: either way it runs again, in
		// the same container.
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if now := d.containers()["dm-xemm-eth"]; now.Running() && now.ID == c.ID {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		var last *reconcile.Result
		for len(d.passes) > 0 {
			last = <-d.passes
		}
		t.Fatalf("dm-xemm-eth is not running 15s after docker kill: %+v\nlast pass:\n%s", d.containers()["dm-xemm-eth"], describe(last))
	})

	t.Run("stopping the daemon leaves the bots running", func(t *testing.T) {
		d.converged(waitLong)
		before := d.containers()
		d.stop()
		after := d.containers()
		for bot, c := range before {
			a, ok := after[bot]
			if !ok || a.ID != c.ID || a.State != c.State {
				t.Errorf("bot %s changed when the daemon stopped: %+v → %+v", bot, c, a)
			}
		}
		if !after["dm-pmm-btc"].Running() {
			t.Error("dm-pmm-btc is not running after the daemon stopped")
		}
	})
}

func containsShared(res *reconcile.Result, p string) bool {
	if res.Loaded == nil {
		return false
	}
	for _, s := range res.Loaded.Shared {
		if s == p {
			return true
		}
	}
	return false
}

// A local commit in a file:// repository is applied through its refs, with
// the poll period far longer than the test.
func TestDaemonAppliesALocalCommit(t *testing.T) {
	work := gitFleet(t, "e2e-daemon-git", "dg-")
	d := startDaemon(t, "e2e-daemon-git", source.Spec{Source: "file://" + work, Branch: "main", Poll: time.Hour})
	start := time.Now()
	res := d.converged(waitLong)
	if !strings.HasPrefix(res.Revision, "main@sha1:") {
		t.Errorf("revision %q, want main@sha1:<commit>", res.Revision)
	}
	d.waitReady("dg-pmm-btc", start)
	writeFile(t, work, "bots/dg-pmm-btc.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv:\n  EXTRA: one\n")
	commit := commitAll(t, work)
	res = d.waitPass("the commit was applied", waitLong, func(res *reconcile.Result) bool { return acted(res, "dg-pmm-btc", plan.Recreate) })
	if res.Revision != "main@sha1:"+commit {
		t.Errorf("revision %s, want main@sha1:%s", res.Revision, commit)
	}
	if c := d.containers()["dg-pmm-btc"]; c.Labels[runtime.LabelRevision] != res.Revision {
		t.Errorf("container labelled with revision %q, want %q", c.Labels[runtime.LabelRevision], res.Revision)
	}
}

// A push to a remote served over smart HTTP on loopback is applied at the
// next poll; a force-push back to the first commit is applied too.
func TestDaemonAppliesAPushOverHTTP(t *testing.T) {
	work := gitFleet(t, "e2e-daemon-http", "dh-")
	first := testenv.Git(t, work, "rev-parse", "HEAD")
	bare := filepath.Join(t.TempDir(), "fleet.git")
	testenv.Git(t, "", "clone", "-q", "--bare", work, bare)
	testenv.Git(t, work, "remote", "add", "origin", bare)
	srv, _ := testenv.GitHTTPServer(t, filepath.Dir(bare), "")

	start := time.Now()
	d := startDaemon(t, "e2e-daemon-http", source.Spec{Source: srv.URL + "/fleet.git", Poll: 200 * time.Millisecond})
	d.converged(waitLong)
	d.waitReady("dh-pmm-btc", start)

	writeFile(t, work, "bots/dh-pmm-btc.yml", "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv:\n  EXTRA: one\n")
	commit := commitAll(t, work)
	testenv.Git(t, work, "push", "-q", "origin", "main")
	res := d.waitPass("the push was applied", waitLong, func(res *reconcile.Result) bool { return acted(res, "dh-pmm-btc", plan.Recreate) })
	if !strings.HasSuffix(res.Revision, "@sha1:"+commit) {
		t.Errorf("revision %s, want the pushed commit %s", res.Revision, commit)
	}
	d.waitReady("dh-pmm-btc", res.Started)

	testenv.Git(t, work, "reset", "-q", "--hard", first)
	testenv.Git(t, work, "push", "-q", "-f", "origin", "main")
	res = d.waitPass("the force-push was applied", waitLong, func(res *reconcile.Result) bool { return acted(res, "dh-pmm-btc", plan.Recreate) })
	if !strings.HasSuffix(res.Revision, "@sha1:"+first) {
		t.Errorf("revision %s after the force-push, want %s", res.Revision, first)
	}
}

// gitFleet makes a git work tree holding a copy of the example fleet, with
// one commit on main.
func gitFleet(t testing.TB, fleetName, prefix string) string {
	t.Helper()
	testenv.RequireGit(t)
	work := testenv.CopyExample(t, fleetName, prefix)
	testenv.Git(t, work, "init", "-q", "-b", "main")
	commitAll(t, work)
	return work
}

func commitAll(t testing.TB, work string) string {
	t.Helper()
	testenv.Git(t, work, "add", "-A")
	testenv.Git(t, work, "commit", "-q", "-m", "change")
	return testenv.Git(t, work, "rev-parse", "HEAD")
}

// The git remote gone: the passes that follow report the fetch error and
// keep the last good revision applied; nothing is stopped or pruned.
func TestDaemonKeepsTheLastGoodRevisionWhenTheRemoteIsGone(t *testing.T) {
	work := gitFleet(t, "e2e-daemon-gone", "dn-")
	bare := filepath.Join(t.TempDir(), "fleet.git")
	testenv.Git(t, "", "clone", "-q", "--bare", work, bare)
	srv, _ := testenv.GitHTTPServer(t, filepath.Dir(bare), "")
	d := startDaemon(t, "e2e-daemon-gone", source.Spec{Source: srv.URL + "/fleet.git", Poll: 100 * time.Millisecond})
	good := d.converged(waitLong)
	before := d.containers()
	srv.Close()
	res := d.waitPass("a pass after the remote went away", waitLong, func(res *reconcile.Result) bool {
		_, failed := d.srcErr.Load(res)
		return failed
	})
	if res.Revision != good.Revision || !res.SourceOK {
		t.Errorf("after the remote went away the pass ran on %s (source ok %v), want the last good %s", res.Revision, res.SourceOK, good.Revision)
	}
	for _, o := range res.Outcomes {
		if o.Kind.Mutates() {
			t.Errorf("with the remote gone nectar acted: %s", o.Action)
		}
	}
	after := d.containers()
	for bot, c := range before {
		if a := after[bot]; a.ID != c.ID || a.State != c.State {
			t.Errorf("bot %s changed while the remote was gone: %+v → %+v", bot, c, a)
		}
	}
}
