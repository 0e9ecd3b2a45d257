package status

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/secrets"
)

const (
	exampleDir      = "../../examples/quickstart"
	exampleIdentity = "../../examples/demo-identity.key"
)

// t0 is when the fixture's story starts; the clock never reads the wall.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Revisions of the fixture's git source.
const (
	revA = "main@sha1:3f8a1c0d9e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
	revB = "main@sha1:7c2e9b41d0a3f6e8b5c4d3e2f1a0b9c8d7e6f5a4"
	revC = "main@sha1:c41d5e2a8f9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d"
)

// fixtureSource is shown as the source; its token must never appear.
const (
	fixtureSource = "https://x-access-token:ghp_FixtureTokenNeverShown@github.com/acme/fleet.git"
	fixtureToken  = "ghp_FixtureTokenNeverShown"
)

// clock is a settable clock for the Store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// exampleFS is examples/quickstart with prune off and three more bots: a
// held one, one whose file names a missing account (stalled), and one
// that will crash-loop.
func exampleFS(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := filepath.WalkDir(exampleDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(exampleDir, p)
		m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := string(m["nectar.yaml"].Data)
	if !strings.Contains(settings, "prune: true") {
		t.Fatal("examples/quickstart/nectar.yaml no longer says prune: true; adjust the fixture")
	}
	m["nectar.yaml"].Data = []byte(strings.Replace(settings, "prune: true", "prune: false", 1))
	m["bots/dca-sol.yml"] = &fstest.MapFile{Data: []byte("# Dollar-cost averaging, run by hand for now.\naccount: team_account\nconnectors: [binance]\nhold: true\nconfig: conf_pmm_btc.yml\n")}
	m["bots/grid-doge.yml"] = &fstest.MapFile{Data: []byte("# A grid bot with a typo in its account.\naccount: master_acount\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\n")}
	m["bots/twap-eth.yml"] = &fstest.MapFile{Data: []byte("# TWAP execution on KuCoin.\naccount: master_account\nconnectors: [kucoin]\nimage: hummingbot/hummingbot:2.16.0\nconfig: conf_xemm_eth.yml\n")}
	return m
}

// brokenSettings is exampleFS with a nectar.yaml that does not load.
func brokenSettings(t testing.TB) fstest.MapFS {
	m := exampleFS(t)
	settings := string(m["nectar.yaml"].Data)
	m["nectar.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(settings, "  - age1", "  - agel", 1))}
	return m
}

func exampleIdentities(t testing.TB) *secrets.Identities {
	t.Helper()
	ids, err := secrets.LoadIdentities(exampleIdentity)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func loadFleet(t testing.TB, fsys fs.FS) *fleet.Fleet {
	t.Helper()
	return fleet.Load(fsys, fleet.Options{Identities: exampleIdentities(t)})
}

// containerOf is the container of a bot as Docker would list it.
func containerOf(bot, image, state, status string, exit int) *runtime.Container {
	sum := sha256.Sum256([]byte("container/" + bot))
	return &runtime.Container{
		ID:       hex.EncodeToString(sum[:]),
		Name:     fleet.ContainerName(bot),
		Image:    image,
		Labels:   map[string]string{runtime.LabelFleet: "quickstart", runtime.LabelBot: bot},
		State:    state,
		ExitCode: exit,
		Status:   status,
		Created:  t0.Add(-72 * time.Hour),
	}
}

// fixtureInspected is what inspecting the fixture's containers says: when
// each last started, and how often Docker's restart policy restarted it.
func fixtureInspected(id string) (runtime.Inspection, bool) {
	for bot, i := range map[string]runtime.Inspection{
		"pmm-btc":  {StartedAt: t0.Add(6*time.Minute + 8*time.Second)}, // recreated at 12:06
		"xemm-eth": {StartedAt: t0.Add(2 * time.Second)},
		"dca-sol":  {StartedAt: t0.Add(-72*time.Hour + 5*time.Minute), RestartCount: 2},
		"twap-eth": {StartedAt: t0.Add(3 * time.Minute), RestartCount: 0},
	} {
		if containerOf(bot, "", "", "", 0).ID == id {
			return i, true
		}
	}
	return runtime.Inspection{}, false
}

// renderedFiles stands in for the Renderer's manifest.
func renderedFiles(bot string) []render.FileRecord {
	paths := []string{"conf/.password_verification", "conf/conf_client.yml"}
	switch bot {
	case "pmm-btc":
		paths = append(paths, "conf/connectors/binance.yml")
	case "xemm-eth":
		paths = append(paths, "conf/connectors/binance.yml", "conf/connectors/kucoin.yml")
	case "twap-eth":
		paths = append(paths, "conf/connectors/kucoin.yml")
	case "hl-perp":
		paths = append(paths, "conf/connectors/hyperliquid_perpetual.yml")
	default:
		return nil
	}
	paths = append(paths, "conf/scripts/conf_pmm_btc.yml", "conf/scripts/conf_xemm_eth.yml", "scripts/quote_logger.py")
	out := make([]render.FileRecord, len(paths))
	for i, p := range paths {
		sum := sha256.Sum256([]byte(bot + "/" + p))
		out[i] = render.FileRecord{Path: p, Digest: hex.EncodeToString(sum[:])}
	}
	return out
}

// step is one recorded pass of the fixture's story.
type step struct {
	name      string
	at        time.Time
	res       *reconcile.Result
	src       reconcile.Source
	sourceErr error
	// health, when set, is a round of the bots' own reports recorded
	// after the pass.
	health map[string]botstatus.Health
}

// story is a morning in the life of the example fleet: bots created, one
// crash-looping, one stalled, one held, one orphaned; Docker going away
// and coming back; a commit that breaks nectar.yaml; a failing fetch.
func story(t testing.TB) []step {
	good := exampleFS(t)
	fl := loadFleet(t, good)
	broken := brokenSettings(t)
	flBroken := loadFleet(t, broken)
	if flBroken.SettingsOK() {
		t.Fatal("the broken nectar.yaml loaded; the fixture needs another way to break it")
	}
	stalledReason := fl.BotProblems("grid-doge")
	if len(stalledReason) == 0 {
		t.Fatal("grid-doge has no problem; the fixture needs another way to stall it")
	}

	const testbot = "nectar-testbot:dev"
	const hb = "hummingbot/hummingbot:2.16.0"
	pass := func(rev string, at time.Time, took time.Duration, outs ...reconcile.Outcome) *reconcile.Result {
		r := &reconcile.Result{Revision: rev, Fleet: fl.Name, Loaded: fl, Started: at, Duration: took, SourceOK: true, SourceProblems: fl.Problems, Outcomes: outs}
		for _, o := range outs {
			if o.Kind.Mutates() {
				r.Mutations += 2
			}
		}
		return r
	}
	out := func(bot string, kind plan.Kind, reason string, c *runtime.Container) reconcile.Outcome {
		return reconcile.Outcome{Action: plan.Action{Bot: bot, Kind: kind, Reason: reason, Container: c}}
	}
	with := func(o reconcile.Outcome, f func(*reconcile.Outcome)) reconcile.Outcome { f(&o); return o }
	rendered := func(bot string) []string {
		var p []string
		for _, f := range renderedFiles(bot) {
			p = append(p, f.Path)
		}
		return p
	}
	held := out("dca-sol", plan.Held, "hold: true in the bot file; nectar leaves the container as it is",
		containerOf("dca-sol", hb, runtime.StateRunning, "Up 3 days", -1))
	stalled := out("grid-doge", plan.Stalled, stalledReason[0].Error(), nil)
	stopped := out("hl-perp", plan.None, "state: stopped, and there is no container", nil)
	orphan := out("old-arb", plan.Orphan, "bot removed from source; prune is off in nectar.yaml, so the container is kept",
		containerOf("old-arb", hb, runtime.StateExited, "Exited (0) 2 days ago", 0))
	upToDate := func(bot, image, status string, restarts int) reconcile.Outcome {
		return with(out(bot, plan.None, "running, up to date", containerOf(bot, image, runtime.StateRunning, status, -1)),
			func(o *reconcile.Outcome) { o.Restarts = restarts })
	}
	twapExited := containerOf("twap-eth", hb, runtime.StateExited, "Exited (1) 8 seconds ago", 1)
	dockerDown := errors.New("listing containers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
	fetchFailed := errors.New("fetching " + fixtureSource + ": dial tcp 140.82.121.4:443: connect: connection refused")

	created := func(bot string, took time.Duration) reconcile.Outcome {
		return with(out(bot, plan.Create, "no container yet", nil), func(o *reconcile.Outcome) {
			o.Rendered, o.Duration, o.Restarts = rendered(bot), took, 1
		})
	}
	return []step{
		{name: "first pass creates the bots", at: t0, res: pass(revA, t0, 1840*time.Millisecond,
			held, stalled, stopped, orphan,
			created("pmm-btc", 820*time.Millisecond),
			created("twap-eth", 640*time.Millisecond),
			created("xemm-eth", 910*time.Millisecond),
		)},
		{name: "twap-eth exits and will not start", at: t0.Add(time.Minute), res: pass(revA, t0.Add(time.Minute), 38*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 58 seconds (healthy)", 1),
			with(out("twap-eth", plan.Start, "container exited with code 1", twapExited), func(o *reconcile.Outcome) {
				o.Err = errors.New("starting hummingbot-twap-eth: Error response from daemon: failed to create task for container: exec: \"/home/hummingbot/bin/start\": no such file or directory")
				o.Duration, o.Restarts = 120*time.Millisecond, 2
			}),
			upToDate("xemm-eth", testbot, "Up 57 seconds (health: starting)", 1),
		)},
		{name: "twap-eth crash-loops", at: t0.Add(4 * time.Minute), res: pass(revA, t0.Add(4*time.Minute), 41*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 4 minutes (healthy)", 1),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 4 minutes (healthy)", 1),
		)},
		{name: "Docker goes away", at: t0.Add(5 * time.Minute), res: func() *reconcile.Result {
			r := pass(revB, t0.Add(5*time.Minute), 3*time.Millisecond)
			r.EngineErr = dockerDown
			return r
		}()},
		{name: "Docker is back; a credential changed", at: t0.Add(6 * time.Minute), res: pass(revB, t0.Add(6*time.Minute), 1310*time.Millisecond,
			held, stalled, stopped, orphan,
			with(out("pmm-btc", plan.Recreate, "credential binance changed", containerOf("pmm-btc", testbot, runtime.StateRunning, "Up 6 minutes (healthy)", -1)),
				func(o *reconcile.Outcome) {
					o.Rendered, o.Duration, o.Restarts = []string{"conf/connectors/binance.yml"}, 1250*time.Millisecond, 1
					// The container was made before the bot ran with hbot.
					o.Killed = "killed after 1m30s without exiting by itself: open orders may remain on binance"
				}),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 6 minutes (healthy)", 1),
		)},
		{name: "settled", at: t0.Add(7 * time.Minute), res: pass(revB, t0.Add(7*time.Minute), 36*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 52 seconds (healthy)", 1),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 7 minutes (healthy)", 1),
		), health: map[string]botstatus.Health{
			"pmm-btc": {State: botstatus.Trading, Reason: "the strategy runs and every connector is ready", Orders: 2,
				UpdatedAt: t0.Add(7 * time.Minute), Checked: t0.Add(7 * time.Minute)},
			"xemm-eth": {State: botstatus.Erroring, Reason: "3 error(s) among the last 600 log lines", Errors: 3,
				UpdatedAt: t0.Add(7 * time.Minute), Checked: t0.Add(7 * time.Minute)},
		}},
		{name: "a commit breaks nectar.yaml", at: t0.Add(9 * time.Minute), res: &reconcile.Result{
			Revision: revC, Fleet: flBroken.Name, Loaded: flBroken, Started: t0.Add(9 * time.Minute), Duration: 9 * time.Millisecond,
			SourceProblems: flBroken.Problems, SourceOK: false,
		}, src: reconcile.Source{Revision: revC, FS: broken}},
		{name: "the next fetch fails", at: t0.Add(10 * time.Minute), res: &reconcile.Result{
			Revision: revC, Fleet: flBroken.Name, Loaded: flBroken, Started: t0.Add(10 * time.Minute), Duration: 8 * time.Millisecond,
			SourceProblems: flBroken.Problems, SourceOK: false,
		}, src: reconcile.Source{Revision: revC, FS: broken}, sourceErr: fetchFailed},
	}
}

// play records the story's first n steps (all when n < 0) with the source
// FS each step would have had.
func play(t testing.TB, s *Store, clk *clock, steps []step, n int) {
	t.Helper()
	good := exampleFS(t)
	if n < 0 {
		n = len(steps)
	}
	for _, st := range steps[:n] {
		clk.Set(st.at.Add(st.res.Duration))
		src := st.src
		if src.FS == nil {
			src = reconcile.Source{Revision: st.res.Revision, FS: good}
		}
		s.RecordPass(st.res, src, st.sourceErr)
		if st.health != nil {
			s.RecordHealth(st.health)
		}
	}
}

// fixtureStore is a Store that has lived through the first n steps of the
// story (all when n < 0); the clock then reads a minute after the last.
func fixtureStore(t testing.TB, n int) (*Store, *clock) {
	t.Helper()
	clk := &clock{now: t0}
	s := NewStore(StoreOptions{Source: fixtureSource, Files: renderedFiles, Derivations: func() uint64 { return 7 }, Now: clk.Now,
		Inspected: fixtureInspected, Resync: time.Minute})
	steps := story(t)
	play(t, s, clk, steps, n)
	clk.Set(clk.Now().Add(time.Minute))
	return s, clk
}
