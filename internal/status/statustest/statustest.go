// Package statustest is the fixture the tests of the status Store, of the
// web page that serves it and of `nectar status` share: the example fleet,
// a morning's story of passes over it, and a clock the tests set. Only
// tests import it; it lives in a package of its own so that three
// packages' tests replay the same story instead of three copies of it.
package statustest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
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
	"github.com/nectarhq/nectar/internal/status"
)

// The example fleet and its identity, found from this file rather than
// from the test's directory, so that tests of any package can use them.
var (
	exampleDir      = fromRepo("examples/quickstart")
	exampleIdentity = fromRepo("examples/demo-identity.key")
)

// fromRepo is rel (slash-separated) in the repository this file is in.
func fromRepo(rel string) string {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		return filepath.FromSlash("../../" + rel)
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", filepath.FromSlash(rel))
}

// T0 is when the fixture's Story starts; the Clock never reads the wall.
var T0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Revisions of the fixture's git source.
const (
	RevA = "main@sha1:3f8a1c0d9e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
	RevB = "main@sha1:7c2e9b41d0a3f6e8b5c4d3e2f1a0b9c8d7e6f5a4"
	RevC = "main@sha1:c41d5e2a8f9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d"
)

// SourceURL is the fixture's source; SourceToken, the token in it, must
// never appear anywhere.
const (
	SourceURL   = "https://x-access-token:ghp_FixtureTokenNeverShown@github.com/acme/fleet.git"
	SourceToken = "ghp_FixtureTokenNeverShown"
)

// Clock is a settable clock for the status.Store (StoreOptions.Now).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads t until Set.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// ExampleFS is examples/quickstart with prune off and three more bots: a
// held one, one whose file names a missing account (stalled), and one
// that will crash-loop.
func ExampleFS(t testing.TB) fstest.MapFS {
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

// BrokenSettings is ExampleFS with a nectar.yaml that does not load.
func BrokenSettings(t testing.TB) fstest.MapFS {
	m := ExampleFS(t)
	settings := string(m["nectar.yaml"].Data)
	m["nectar.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(settings, "  - age1", "  - agel", 1))}
	return m
}

// Identities are the example fleet's age identities.
func Identities(t testing.TB) *secrets.Identities {
	t.Helper()
	ids, err := secrets.LoadIdentities(exampleIdentity)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// LoadFleet loads fsys as nectar would, with the example identities.
func LoadFleet(t testing.TB, fsys fs.FS) *fleet.Fleet {
	t.Helper()
	return fleet.Load(fsys, fleet.Options{Identities: Identities(t)})
}

// ContainerOf is the container of a bot as Docker would list it.
func ContainerOf(bot, image, state, engineStatus string, exit int) *runtime.Container {
	sum := sha256.Sum256([]byte("container/" + bot))
	return &runtime.Container{
		ID:       hex.EncodeToString(sum[:]),
		Name:     fleet.ContainerName(bot),
		Image:    image,
		Labels:   map[string]string{runtime.LabelFleet: "quickstart", runtime.LabelBot: bot},
		State:    state,
		ExitCode: exit,
		Status:   engineStatus,
		Created:  T0.Add(-72 * time.Hour),
	}
}

// Inspected is what inspecting the fixture's containers says: when
// each last started, and how often Docker's restart policy restarted it.
func Inspected(id string) (runtime.Inspection, bool) {
	for bot, i := range map[string]runtime.Inspection{
		"pmm-btc":  {StartedAt: T0.Add(6*time.Minute + 8*time.Second)}, // recreated at 12:06
		"xemm-eth": {StartedAt: T0.Add(2 * time.Second)},
		"dca-sol":  {StartedAt: T0.Add(-72*time.Hour + 5*time.Minute), RestartCount: 2},
		"twap-eth": {StartedAt: T0.Add(3 * time.Minute), RestartCount: 0},
	} {
		if ContainerOf(bot, "", "", "", 0).ID == id {
			return i, true
		}
	}
	return runtime.Inspection{}, false
}

// RenderedFiles stands in for the Renderer's manifest.
func RenderedFiles(bot string) []render.FileRecord {
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

// Step is one recorded pass of the fixture's Story.
type Step struct {
	Name      string
	At        time.Time
	Res       *reconcile.Result
	Src       reconcile.Source
	SourceErr error
	// Health, when set, is a round of the bots' own reports recorded
	// after the pass.
	Health map[string]botstatus.Health
}

// Story is a morning in the life of the example fleet: bots created, one
// crash-looping, one stalled, one held, one orphaned; Docker going away
// and coming back; a commit that breaks nectar.yaml; a failing fetch.
func Story(t testing.TB) []Step {
	good := ExampleFS(t)
	fl := LoadFleet(t, good)
	broken := BrokenSettings(t)
	flBroken := LoadFleet(t, broken)
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
		for _, f := range RenderedFiles(bot) {
			p = append(p, f.Path)
		}
		return p
	}
	held := out("dca-sol", plan.Held, "hold: true in the bot file; nectar leaves the container as it is",
		ContainerOf("dca-sol", hb, runtime.StateRunning, "Up 3 days", -1))
	stalled := out("grid-doge", plan.Stalled, stalledReason[0].Error(), nil)
	stopped := out("hl-perp", plan.None, "state: stopped, and there is no container", nil)
	orphan := out("old-arb", plan.Orphan, "bot removed from source; prune is off in nectar.yaml, so the container is kept",
		ContainerOf("old-arb", hb, runtime.StateExited, "Exited (0) 2 days ago", 0))
	upToDate := func(bot, image, status string, restarts int) reconcile.Outcome {
		return with(out(bot, plan.None, "running, up to date", ContainerOf(bot, image, runtime.StateRunning, status, -1)),
			func(o *reconcile.Outcome) { o.Restarts = restarts })
	}
	twapExited := ContainerOf("twap-eth", hb, runtime.StateExited, "Exited (1) 8 seconds ago", 1)
	dockerDown := errors.New("list containers of fleet " + fl.Name + ": Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
	fetchFailed := errors.New("cannot fetch " + SourceURL + ": dial tcp 140.82.121.4:443: connect: connection refused")

	created := func(bot string, took time.Duration) reconcile.Outcome {
		return with(out(bot, plan.Create, "no container yet", nil), func(o *reconcile.Outcome) {
			o.Rendered, o.Duration, o.Restarts = rendered(bot), took, 1
		})
	}
	return []Step{
		{Name: "first pass creates the bots", At: T0, Res: pass(RevA, T0, 1840*time.Millisecond,
			held, stalled, stopped, orphan,
			created("pmm-btc", 820*time.Millisecond),
			created("twap-eth", 640*time.Millisecond),
			created("xemm-eth", 910*time.Millisecond),
		)},
		{Name: "twap-eth exits and will not start", At: T0.Add(time.Minute), Res: pass(RevA, T0.Add(time.Minute), 38*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 58 seconds (healthy)", 1),
			with(out("twap-eth", plan.Start, "container exited with code 1", twapExited), func(o *reconcile.Outcome) {
				o.Err = errors.New("cannot start container hummingbot-twap-eth: Error response from daemon: failed to create task for container: exec: \"/home/hummingbot/bin/start\": no such file or directory")
				o.Duration, o.Restarts = 120*time.Millisecond, 2
			}),
			upToDate("xemm-eth", testbot, "Up 57 seconds (health: starting)", 1),
		)},
		{Name: "twap-eth crash-loops", At: T0.Add(4 * time.Minute), Res: pass(RevA, T0.Add(4*time.Minute), 41*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 4 minutes (healthy)", 1),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 4 minutes (healthy)", 1),
		)},
		{Name: "Docker goes away", At: T0.Add(5 * time.Minute), Res: func() *reconcile.Result {
			r := pass(RevB, T0.Add(5*time.Minute), 3*time.Millisecond)
			r.EngineErr = dockerDown
			return r
		}()},
		{Name: "Docker is back; a credential changed", At: T0.Add(6 * time.Minute), Res: pass(RevB, T0.Add(6*time.Minute), 1310*time.Millisecond,
			held, stalled, stopped, orphan,
			with(out("pmm-btc", plan.Recreate, "credential binance changed", ContainerOf("pmm-btc", testbot, runtime.StateRunning, "Up 6 minutes (healthy)", -1)),
				func(o *reconcile.Outcome) {
					o.Rendered, o.Duration, o.Restarts = []string{"conf/connectors/binance.yml"}, 1250*time.Millisecond, 1
					// The container was made before the bot ran with hbot.
					o.Killed = "killed after 1m30s without exiting by itself: open orders may remain on binance"
				}),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 6 minutes (healthy)", 1),
		)},
		{Name: "settled", At: T0.Add(7 * time.Minute), Res: pass(RevB, T0.Add(7*time.Minute), 36*time.Millisecond,
			held, stalled, stopped, orphan,
			upToDate("pmm-btc", testbot, "Up 52 seconds (healthy)", 1),
			with(out("twap-eth", plan.CrashLoop, "container exited with code 1; started 5 times in 10m0s, so nectar stops starting it until the bot's configuration changes", twapExited),
				func(o *reconcile.Outcome) { o.Restarts = 5 }),
			upToDate("xemm-eth", testbot, "Up 7 minutes (healthy)", 1),
		), Health: map[string]botstatus.Health{
			"pmm-btc": {State: botstatus.Trading, Reason: "the strategy runs and every connector is ready", Orders: 2,
				UpdatedAt: T0.Add(7 * time.Minute), Checked: T0.Add(7 * time.Minute)},
			"xemm-eth": {State: botstatus.Erroring, Reason: "3 error(s) among the last 600 log lines", Errors: 3,
				UpdatedAt: T0.Add(7 * time.Minute), Checked: T0.Add(7 * time.Minute)},
		}},
		{Name: "a commit breaks nectar.yaml", At: T0.Add(9 * time.Minute), Res: &reconcile.Result{
			Revision: RevC, Fleet: flBroken.Name, Loaded: flBroken, Started: T0.Add(9 * time.Minute), Duration: 9 * time.Millisecond,
			SourceProblems: flBroken.Problems, SourceOK: false,
		}, Src: reconcile.Source{Revision: RevC, FS: broken}},
		{Name: "the next fetch fails", At: T0.Add(10 * time.Minute), Res: &reconcile.Result{
			Revision: RevC, Fleet: flBroken.Name, Loaded: flBroken, Started: T0.Add(10 * time.Minute), Duration: 8 * time.Millisecond,
			SourceProblems: flBroken.Problems, SourceOK: false,
		}, Src: reconcile.Source{Revision: RevC, FS: broken}, SourceErr: fetchFailed},
	}
}

// Play records the Story's first n steps (all when n < 0) with the source
// FS each Step would have had.
func Play(t testing.TB, s *status.Store, clk *Clock, steps []Step, n int) {
	t.Helper()
	good := ExampleFS(t)
	if n < 0 {
		n = len(steps)
	}
	for _, st := range steps[:n] {
		clk.Set(st.At.Add(st.Res.Duration))
		st.Record(s, good)
	}
}

// Record records the Step in s: its pass, with good as the source when the
// Step names none, then its health round, if any. The clock is the
// caller's to set.
func (st Step) Record(s *status.Store, good fs.FS) {
	src := st.Src
	if src.FS == nil {
		src = reconcile.Source{Revision: st.Res.Revision, FS: good}
	}
	s.RecordPass(st.Res, src, st.SourceErr)
	if st.Health != nil {
		s.RecordHealth(st.Health)
	}
}

// NewStore returns a status.Store that has lived through the first n steps
// of the Story (all when n < 0), and its clock, which then reads a minute
// after the last step.
func NewStore(t testing.TB, n int) (*status.Store, *Clock) {
	t.Helper()
	clk := NewClock(T0)
	s := status.NewStore(status.StoreOptions{Source: SourceURL, Files: RenderedFiles, Derivations: func() uint64 { return 7 }, Now: clk.Now,
		Inspected: Inspected, Resync: time.Minute})
	steps := Story(t)
	Play(t, s, clk, steps, n)
	clk.Set(clk.Now().Add(time.Minute))
	return s, clk
}

// OnePass is a pass of a one-bot fleet "solo" with the given outcomes.
func OnePass(rev string, at time.Time, outs ...reconcile.Outcome) *reconcile.Result {
	fl := &fleet.Fleet{Name: "t", Bots: map[string]*fleet.Bot{
		"solo": {Name: "solo", Account: "main", State: fleet.StateRunning, Image: "hb:1", Connectors: []string{"binance"}},
	}, Accounts: map[string]*fleet.Account{"main": {Name: "main", Connectors: []string{"binance", "kucoin"}}}}
	return &reconcile.Result{Revision: rev, Fleet: "t", Loaded: fl, Started: at, SourceOK: true, Outcomes: outs}
}

// Outcome is what a pass did, or tried to do, to the bot "solo".
func Outcome(kind plan.Kind, reason string, c *runtime.Container, err error) reconcile.Outcome {
	return reconcile.Outcome{Action: plan.Action{Bot: "solo", Kind: kind, Reason: reason, Container: c}, Err: err}
}

// Secret is a value that must not be shown, and a name for it that may.
type Secret struct{ What, Value string }

// Secrets returns every string that must never reach a page, an answer
// or the Store: the example fleet's passwords and credential secrets
// (decrypted here to learn them), every line of its age ciphertexts,
// markers of encrypted material, and the token inside SourceURL.
func Secrets(t testing.TB) []Secret {
	t.Helper()
	fsys := ExampleFS(t)
	fl := LoadFleet(t, fsys)
	var out []Secret
	add := func(what, s string) {
		if len(s) < 8 {
			t.Fatalf("%s is %d bytes; too short to search for without false alarms", what, len(s))
		}
		out = append(out, Secret{what, s})
	}
	for name, a := range fl.Accounts {
		add(name+" password", a.Password.Reveal())
		for c, cred := range a.Credentials {
			for _, f := range cred.Secrets {
				add(name+"/"+c+"/"+f.Name, f.Value.Reveal())
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d secret values in the example fleet; did the identity decrypt it?", len(out))
	}
	for p, f := range fsys {
		if !strings.HasPrefix(p, fleet.AccountsDir+"/") || !strings.HasSuffix(p, ".age") {
			continue
		}
		for i, line := range strings.Split(string(f.Data), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, Secret{p + " line " + strconv.Itoa(i+1), line})
			}
		}
	}
	for _, marker := range []string{"-----BEGIN AGE", "age-encryption.org", `"crypto"`, `"ciphertext"`} {
		out = append(out, Secret{"the marker " + marker, marker})
	}
	return append(out, Secret{"the token in the source URL", SourceToken})
}
