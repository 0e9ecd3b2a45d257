package reconcile

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/render"
	"github.com/nectarhq/nectar/internal/runtime/docker"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/testenv"
)

// The bad-input corpus (testdata/bad-fleets, described in its README.md):
// broken fleets, each a change to the example fleet with the problems it
// must produce. Each runs end to end through a reconcile pass against a
// fleet that is already running, and must leave that fleet exactly as it
// was.

const (
	badFleetName = "e2e-badinput"
	badPrefix    = "bi-"
	// minBadCases is what issue 7 asks of the corpus.
	minBadCases = 40
)

// badCase is one folder of the corpus.
type badCase struct {
	name string
	// want lists substrings the problems (or the plan's reasons) must hold.
	want []string
	// stalls names the bots that must be Stalled; nil with source set when
	// the source as a whole must fail to load.
	stalls []string
	source bool
	// secrets are values the case writes that no output may contain.
	secrets []string
	// gap, when set, names a known loader gap: while the plan for the
	// case falls short of what it expects, the case is skipped with this
	// text rather than failed.
	gap   string
	steps []txtar.File
}

// Step names beyond plain file paths; each is "-- NAME:path --" except
// DELETE and SYMLINK, which list their paths in the body.
const (
	stepDelete   = "DELETE"
	stepSymlink  = "SYMLINK"
	stepAge      = "AGE:"
	stepStranger = "AGE-STRANGER:"
	stepTruncate = "TRUNCATE:"
	stepFlip     = "FLIP:"
	stepPad      = "PAD:"
)

func badCorpusDir() string { return filepath.Join(testenv.Root(), "testdata", "bad-fleets") }

// loadBadCases reads and checks every case of the corpus.
func loadBadCases(t *testing.T) []badCase {
	t.Helper()
	entries, err := os.ReadDir(badCorpusDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []badCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(badCorpusDir(), e.Name(), "case.txtar"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		c, err := parseBadCase(e.Name(), data)
		if err != nil {
			t.Fatalf("testdata/bad-fleets/%s/case.txtar: %v", e.Name(), err)
		}
		out = append(out, c)
	}
	return out
}

func parseBadCase(name string, data []byte) (badCase, error) {
	c := badCase{name: name}
	ar := txtar.Parse(data)
	haveStalls := false
	for i, line := range strings.Split(string(ar.Comment), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(key, " \t") {
			continue // prose
		}
		val = strings.TrimSpace(val)
		switch key {
		case "want":
			if val == "" {
				return c, fmt.Errorf("line %d: empty want", i+1)
			}
			c.want = append(c.want, val)
		case "stalls":
			if haveStalls {
				return c, fmt.Errorf("line %d: a second stalls: line", i+1)
			}
			haveStalls = true
			switch f := strings.Fields(val); {
			case len(f) == 1 && f[0] == "source":
				c.source = true
			case len(f) == 1 && f[0] == "none":
			case len(f) == 0:
				return c, fmt.Errorf("line %d: stalls: needs bot names, none or source", i+1)
			default:
				c.stalls = f
			}
		case "secret":
			c.secrets = append(c.secrets, val)
		case "gap":
			c.gap = val
		}
	}
	if len(c.want) == 0 {
		return c, fmt.Errorf("no want: line")
	}
	if !haveStalls {
		return c, fmt.Errorf("no stalls: line")
	}
	if len(ar.Files) == 0 {
		return c, fmt.Errorf("no change to the example fleet")
	}
	for _, f := range ar.Files {
		if err := checkStep(f); err != nil {
			return c, fmt.Errorf("section %q: %v", f.Name, err)
		}
	}
	c.steps = ar.Files
	return c, nil
}

func checkStep(f txtar.File) error {
	body := strings.TrimSpace(string(f.Data))
	switch op, _ := splitStep(f.Name); op {
	case stepDelete:
		if body == "" {
			return fmt.Errorf("lists no path")
		}
	case stepSymlink:
		for _, l := range strings.Split(body, "\n") {
			if _, _, ok := strings.Cut(l, " -> "); !ok {
				return fmt.Errorf("line %q is not `path -> target`", l)
			}
		}
	case stepTruncate:
		if body == "" {
			return fmt.Errorf("says neither a length nor the text to cut after")
		}
	case stepFlip, stepPad:
		if _, err := strconv.Atoi(body); err != nil {
			return fmt.Errorf("body is not a number: %v", err)
		}
	}
	return nil
}

// splitStep splits a section name into its operation and path; a plain
// file has no operation.
func splitStep(name string) (op, path string) {
	if name == stepDelete || name == stepSymlink {
		return name, ""
	}
	for _, op := range []string{stepAge, stepStranger, stepTruncate, stepFlip, stepPad} {
		if p, ok := strings.CutPrefix(name, op); ok {
			return op, p
		}
	}
	return "", name
}

// badEnv is what applying a case needs beyond the folder.
type badEnv struct {
	fleetRecipients []age.Recipient
	stranger        age.Recipient
}

// apply makes the case's changes, in order, to a copy of the example.
func (c badCase) apply(t *testing.T, dir string, env badEnv) {
	t.Helper()
	at := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "..") {
			t.Fatalf("case path %q leaves the fleet folder", p)
		}
		return filepath.Join(dir, filepath.FromSlash(p))
	}
	write := func(p string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(at(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(at(p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		t.Helper()
		data, err := os.ReadFile(at(p))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	encrypt := func(plain []byte, to ...age.Recipient) []byte {
		t.Helper()
		ct, err := secrets.Encrypt(plain, to)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	for _, s := range c.steps {
		op, p := splitStep(s.Name)
		body := strings.TrimSpace(string(s.Data))
		n, _ := strconv.Atoi(body)
		switch op {
		case "":
			write(p, s.Data)
		case stepDelete:
			for _, l := range strings.Split(body, "\n") {
				if err := os.RemoveAll(at(strings.TrimSpace(l))); err != nil {
					t.Fatal(err)
				}
			}
		case stepSymlink:
			for _, l := range strings.Split(body, "\n") {
				link, target, _ := strings.Cut(l, " -> ")
				os.RemoveAll(at(link))
				os.MkdirAll(filepath.Dir(at(link)), 0o755)
				if err := os.Symlink(target, at(link)); err != nil {
					t.Fatal(err)
				}
			}
		case stepAge:
			write(p, encrypt(s.Data, env.fleetRecipients...))
		case stepStranger:
			write(p, encrypt(s.Data, env.stranger))
		case stepTruncate:
			data := read(p)
			if _, err := strconv.Atoi(body); err != nil {
				i := bytes.Index(data, []byte(body))
				if i < 0 {
					t.Fatalf("TRUNCATE:%s: %q is not in the file", p, body)
				}
				n = i + len(body)
			}
			if n >= len(data) {
				t.Fatalf("TRUNCATE:%s to %d bytes, but it has only %d", p, n, len(data))
			}
			write(p, data[:n])
		case stepFlip:
			data := read(p)
			if n < 0 {
				n += len(data)
			}
			if n < 0 || n >= len(data) {
				t.Fatalf("FLIP:%s at byte %s, but it has %d", p, body, len(data))
			}
			data[n] ^= 1
			write(p, data)
		case stepPad:
			data := read(p)
			var b bytes.Buffer
			b.Write(data)
			line := "# " + strings.Repeat("padding ", 16) + "\n"
			for b.Len() < n {
				b.WriteString(line[:min(len(line), n-b.Len())])
			}
			write(p, b.Bytes())
		}
	}
}

// TestBadInputCorpusParses checks the corpus itself, without Docker.
func TestBadInputCorpusParses(t *testing.T) {
	cases := loadBadCases(t)
	if len(cases) < minBadCases {
		t.Errorf("the corpus holds %d cases, want at least %d", len(cases), minBadCases)
	}
	for _, c := range cases {
		for _, s := range c.stalls {
			if !fleet.ValidName(s) {
				t.Errorf("%s: stalls names %q, which is not a bot name", c.name, s)
			}
		}
		// Every case applies to a copy of the example without error.
		dir := testenv.CopyExample(t, badFleetName, badPrefix)
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		c.apply(t, dir, badEnv{fleetRecipients: []age.Recipient{id.Recipient()}, stranger: id.Recipient()})
	}
}

// exampleSecrets decrypts the example fleet and returns every password
// and secret value in it.
func exampleSecrets(t *testing.T, dir string) []string {
	t.Helper()
	fl := fleet.Load(os.DirFS(dir), fleet.Options{Identities: exampleIDs()})
	if !fl.OK() {
		t.Fatalf("the example fleet does not load: %v", fl.Problems)
	}
	var out []string
	for _, a := range fl.Accounts {
		out = append(out, a.Password.Reveal())
		for _, c := range a.Credentials {
			for _, s := range c.Secrets {
				out = append(out, s.Value.Reveal())
			}
		}
	}
	for _, s := range out {
		if len(s) < 8 {
			t.Fatalf("an example secret is too short (%d bytes) to search output for", len(s))
		}
	}
	return out
}

// stateSnapshot lists every file under the state folder with its mtime and
// size, leaving out the test bot's heartbeat, which the running bots
// rewrite every few seconds.
func stateSnapshot(t *testing.T, state string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "testbot-heartbeat" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(state, p)
		out[rel] = fmt.Sprintf("%d %s", info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInputEngine runs every case of the corpus against a converged
// fleet on the real engine: the problems are reported, the bots named are
// Stalled, and no container, file, data or log is touched.
func TestBadInputEngine(t *testing.T) {
	cases := loadBadCases(t)
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	ctx := context.Background()
	testenv.RemoveFleet(t, badFleetName)
	good := testenv.CopyExample(t, badFleetName, badPrefix)
	state := t.TempDir()
	// Registered after the folders, so it runs before they are deleted: a
	// running bot keeps writing into its data/.
	t.Cleanup(func() { testenv.RemoveFleet(t, badFleetName) })
	eng, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	rd, err := render.New(render.StateDirOptions(state))
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	r := New(Options{
		Runtime: eng, Renderer: rd, StateDir: state, Identities: exampleIDs(),
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	source := func(t *testing.T, dir string) (Source, func()) {
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		return Source{Revision: "e2e", FS: root.FS()}, func() { root.Close() }
	}

	// Converge once: two running bots (bi-hl-perp is stopped).
	start := time.Now()
	src, done := source(t, good)
	res := r.Pass(ctx, src)
	done()
	if res.EngineErr != nil || len(res.Failed()) > 0 || !res.SourceOK {
		t.Fatalf("converging the example: engine %v, failed %+v, problems %v", res.EngineErr, res.Failed(), res.SourceProblems)
	}
	running := map[string]string{} // bot → container ID
	for _, bot := range []string{badPrefix + "pmm-btc", badPrefix + "xemm-eth"} {
		if o := outcome(t, res, bot); o.Kind != plan.Create {
			t.Fatalf("%s: %s (%s), want create", bot, o.Kind, o.Reason)
		}
	}
	h := &engineHarness{t: t, state: state, fleet: badFleetName, prefix: badPrefix, eng: eng}
	for bot, cs := range h.containers() {
		if len(cs) != 1 || !cs[0].Running() {
			t.Fatalf("after converging, %s: %+v", bot, cs)
		}
		h.waitReady(bot)
		running[bot] = cs[0].ID
		// Files of the bot's own, which nectar must never touch.
		for _, d := range []string{"data", "logs"} {
			p := filepath.Join(state, "instances", bot, d, "badinput-sentinel")
			if err := os.WriteFile(p, []byte("the bot's own file\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(running) != 2 {
		t.Fatalf("after converging: %d running bots, want 2", len(running))
	}
	t.Logf("converged in %s", time.Since(start).Round(time.Millisecond))
	snapshot := stateSnapshot(t, state)
	knownSecrets := exampleSecrets(t, good)
	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	fleetRecipients, err := secrets.ParseRecipients(res.Loaded.Recipients)
	if err != nil {
		t.Fatal(err)
	}
	env := badEnv{fleetRecipients: fleetRecipients, stranger: stranger.Recipient()}
	logs.Take()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := testenv.CopyExample(t, badFleetName, badPrefix)
			c.apply(t, dir, env)
			src, done := source(t, dir)
			defer done()
			secretValues := append(slices.Clone(knownSecrets), c.secrets...)
			leaks := func(t *testing.T, reported []string) {
				t.Helper()
				out := strings.Join(reported, "\n") + "\n" + logs.Take()
				for _, s := range secretValues {
					if strings.Contains(out, s) {
						t.Errorf("a problem, reason or log line holds a secret value (%d bytes)", len(s))
					}
				}
			}

			// Plan first, which changes nothing: a case the fleet does not
			// stand up to must not reach Pass, or every later case would
			// start from a damaged fleet.
			pl := r.Plan(ctx, src)
			leaks(t, reportedText(pl))
			if bad := c.check(pl); len(bad) > 0 {
				msg := strings.Join(bad, "\n") + "\nreported:\n  " + strings.Join(reportedText(pl), "\n  ")
				if c.gap != "" {
					t.Skipf("known loader gap: %s\n%s", c.gap, msg)
				}
				t.Fatal(msg)
			}
			if c.gap != "" {
				t.Logf("the gap %q is closed: drop the gap: line", c.gap)
			}

			before := eng.Calls()
			res := r.Pass(ctx, src)
			calls := eng.Calls().Sub(before)
			if res.EngineErr != nil {
				t.Fatal(res.EngineErr)
			}
			t.Logf("reported:\n  %s", strings.Join(reportedText(res), "\n  "))
			// (1) and (2) again, for the pass that was applied.
			for _, b := range c.check(res) {
				t.Error(b)
			}

			// (3) No engine write; every container is where it was.
			if calls.Writes != 0 || res.Mutations != 0 {
				t.Errorf("the pass made %d engine writes (%d mutations)", calls.Writes, res.Mutations)
			}
			now := h.containers()
			for bot, id := range running {
				if cs := now[bot]; len(cs) != 1 || cs[0].ID != id || !cs[0].Running() {
					t.Errorf("%s: container was %s, now %+v", bot, id[:12], cs)
				}
			}
			if len(now) != len(running) {
				t.Errorf("%d bots have containers, want %d", len(now), len(running))
			}

			// (4) No file of the state folder changed: no render, no
			// record, and the bots' data/ and logs/ as they were.
			after := stateSnapshot(t, state)
			for p, m := range snapshot {
				if after[p] != m {
					t.Errorf("%s changed (%s → %q)", p, m, after[p])
				}
			}
			for p := range after {
				if _, ok := snapshot[p]; !ok {
					t.Errorf("%s appeared", p)
				}
			}

			// (5) Nothing printed holds a secret.
			leaks(t, reportedText(res))
		})
	}
	t.Logf("converging and the corpus (%d cases) took %s", len(cases), time.Since(start).Round(time.Millisecond))
}

// reportedText is everything a pass says about the source and the bots.
func reportedText(res *Result) []string {
	var out []string
	for _, p := range res.SourceProblems {
		out = append(out, p.String())
	}
	for _, o := range res.Outcomes {
		out = append(out, o.String())
		if o.Err != nil {
			out = append(out, o.Err.Error())
		}
	}
	return out
}

// check compares a plan or a pass with what the case expects: (1) every
// want: is reported, (2) the bots named, and only those, are Stalled (or
// the whole source failed), and no bot is acted on.
func (c badCase) check(res *Result) []string {
	var bad []string
	reported := reportedText(res)
	for _, w := range c.want {
		if !slices.ContainsFunc(reported, func(s string) bool { return strings.Contains(s, w) }) {
			bad = append(bad, fmt.Sprintf("no problem contains %q", w))
		}
	}
	if res.SourceOK == c.source {
		bad = append(bad, fmt.Sprintf("SourceOK = %v, want %v", res.SourceOK, !c.source))
	}
	for _, o := range res.Outcomes {
		if want := slices.Contains(c.stalls, o.Bot); (o.Kind == plan.Stalled) != want {
			bad = append(bad, fmt.Sprintf("%s; want stalled = %v", o, want))
		}
		if o.Kind.Mutates() || o.Err != nil {
			bad = append(bad, fmt.Sprintf("%s (err %v); bad input must change nothing", o, o.Err))
		}
	}
	for _, bot := range c.stalls {
		if !slices.ContainsFunc(res.Outcomes, func(o Outcome) bool { return o.Bot == bot }) {
			bad = append(bad, fmt.Sprintf("%s: no outcome; want stalled", bot))
		}
	}
	return bad
}
