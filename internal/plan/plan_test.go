package plan

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/runtime"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func container(bot, hash, state string, exit int) runtime.Container {
	return runtime.Container{
		ID: "id-" + bot, Name: fleet.ContainerName(bot), State: state, ExitCode: exit,
		Labels: map[string]string{runtime.LabelFleet: "prod", runtime.LabelBot: bot, runtime.LabelHash: hash},
	}
}

func desired(bot string, mods ...func(*Desired)) Desired {
	d := Desired{Bot: bot, State: "running", Image: "hummingbot/hummingbot:2.16.0", Hash: "h2",
		Parts: partsOf(map[string]string{"image": "i2", "password": "p1", "credential/binance": "c1", "file/scripts/a.py": "f1"})}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// partsOf reads parts keyed as a record writes them ("env/TZ").
func partsOf(m map[string]string) Parts {
	out := Parts{}
	for k, v := range m {
		var key PartKey
		key.UnmarshalText([]byte(k))
		out[key] = v
	}
	return out
}

func applied() Applied {
	return Applied{Hash: "h1", Image: "hummingbot/hummingbot:2.15.0",
		Parts: partsOf(map[string]string{"image": "i1", "password": "p1", "credential/binance": "c1", "file/scripts/a.py": "f1"})}
}

func TestMake(t *testing.T) {
	starts := func(n int, hash string, every time.Duration) Starts {
		var s Starts
		for i := n; i > 0; i-- {
			s = append(s, StartRecord{At: now.Add(-time.Duration(i) * every), Hash: hash})
		}
		return s
	}
	tests := []struct {
		name     string
		in       Input
		want     Kind
		reason   string // substring
		notEmpty bool
	}{
		{
			name:   "no container, state running: create",
			in:     Input{Desired: map[string]Desired{"a": desired("a")}},
			want:   Create,
			reason: "no container yet",
		},
		{
			name: "no container, state stopped: nothing",
			in:   Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.State = "stopped" })}},
			want: None,
		},
		{
			name: "hash differs: recreate, explained by the image",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h1", "running", -1)},
				Applied: map[string]Applied{"a": applied()}},
			want:   Recreate,
			reason: "image hummingbot/hummingbot:2.15.0 → hummingbot/hummingbot:2.16.0",
		},
		{
			name: "hash differs: credential changed, connector added, file changed, password changed",
			in: Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) {
				d.Image = "hummingbot/hummingbot:2.15.0"
				d.Parts = partsOf(map[string]string{"image": "i1", "password": "p2", "credential/binance": "c2", "credential/kucoin": "k1", "file/scripts/a.py": "f2"})
			})}, Observed: []runtime.Container{container("a", "h1", "running", -1)}, Applied: map[string]Applied{"a": applied()}},
			want:   Recreate,
			reason: "credential binance changed; connector kucoin added; account password changed; scripts/a.py changed",
		},
		{
			name: "hash differs without a record of what was applied",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "old", "running", -1)},
				Applied: map[string]Applied{}},
			want:   Recreate,
			reason: "another configuration",
		},
		{
			name:   "container without a hash label",
			in:     Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "", "running", -1)}},
			want:   Recreate,
			reason: "no nectar.hash label",
		},
		{
			name:   "same hash, running: nothing",
			in:     Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   None,
			reason: "up to date",
		},
		{
			name: "same hash, restarting by Docker's policy: nothing",
			in:   Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "restarting", -1)}},
			want: None,
		},
		{
			name:   "same hash, exited: start",
			in:     Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 1)}},
			want:   Start,
			reason: "container exited with code 1",
		},
		{
			name:   "same hash, stopped by hand (created state): start",
			in:     Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "created", -1)}},
			want:   Start,
			reason: "created but not started",
		},
		{
			name: "exited soon after a start: back off",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 1)},
				Starts: map[string]Starts{"a": starts(2, "h2", 2*time.Second)}, Now: now},
			want:   Wait,
			reason: "back-off after 2 start(s)",
		},
		{
			name: "back-off elapsed: start",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 1)},
				Starts: map[string]Starts{"a": starts(2, "h2", time.Minute)}, Now: now},
			want: Start,
		},
		{
			name: "five starts in ten minutes: crash loop",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 2)},
				Starts: map[string]Starts{"a": starts(5, "h2", time.Minute)}, Now: now},
			want:   CrashLoop,
			reason: "exited with code 2; started 5 times in 10m0s",
		},
		{
			name: "starts of an older configuration do not count",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 2)},
				Starts: map[string]Starts{"a": starts(5, "h1", time.Minute)}, Now: now},
			want: Start,
		},
		{
			name: "starts older than the window do not count",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{container("a", "h2", "exited", 2)},
				Starts: map[string]Starts{"a": starts(5, "h2", 3*time.Minute)}, Now: now},
			want: Start,
		},
		{
			name:   "state stopped, running: stop",
			in:     Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.State = "stopped" })}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Stop,
			reason: "state: stopped",
		},
		{
			name: "state stopped, exited: nothing (the container is kept)",
			in:   Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.State = "stopped" })}, Observed: []runtime.Container{container("a", "h1", "exited", 0)}},
			want: None,
		},
		{
			name:   "bot deleted, prune on: remove",
			in:     Input{Prune: true, Desired: map[string]Desired{"b": desired("b")}, Observed: []runtime.Container{container("a", "h2", "running", -1), container("b", "h2", "running", -1)}},
			want:   Remove,
			reason: "bot removed from source",
		},
		{
			name:   "bot deleted, prune off: kept",
			in:     Input{Prune: false, Desired: map[string]Desired{"b": desired("b")}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Orphan,
			reason: "prune is off",
		},
		{
			name:   "bot deleted, source holds no bot: not pruned",
			in:     Input{Prune: true, Desired: map[string]Desired{}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Orphan,
			reason: "--allow-empty",
		},
		{
			name:   "bot missing while bots/ has a problem (a misnamed file): not pruned, and why",
			in:     Input{Prune: true, PruneHeld: "bots/a.yaml: unexpected file in bots/", Desired: map[string]Desired{"b": desired("b")}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Orphan,
			reason: "nothing is pruned while bots/ has problems (bots/a.yaml: unexpected file in bots/)",
		},
		{
			name:   "bot missing while bots/ has a problem, even with --allow-empty",
			in:     Input{Prune: true, AllowEmpty: true, PruneHeld: "bots/A.yml: bad bot name", Desired: map[string]Desired{}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Orphan,
			reason: "bots/A.yml: bad bot name",
		},
		{
			name: "a container left under a passing name by a cut-short recreate: recreated",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Observed: []runtime.Container{func() runtime.Container {
				c := container("a", "h2", "exited", 0)
				c.Name = "hummingbot-a-next-12345678"
				return c
			}()}},
			want:   Recreate,
			reason: "its container is named hummingbot-a-next-12345678, not hummingbot-a",
		},
		{
			name:   "a running container not run by hbot: its stop is said to be a kill",
			in:     Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.State = "stopped" })}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Stop,
			reason: "its stop cannot be graceful",
		},
		{
			name: "bot deleted, source holds no bot, --allow-empty: remove",
			in:   Input{Prune: true, AllowEmpty: true, Desired: map[string]Desired{}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want: Remove,
		},
		{
			name:   "hold: nothing, reported held",
			in:     Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.Hold = true; d.State = "stopped" })}, Observed: []runtime.Container{container("a", "h1", "running", -1)}},
			want:   Held,
			reason: "hold: true",
		},
		{
			name: "hold with broken files: held, and the problems said",
			in: Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) {
				d.Hold = true
				d.Problems = []string{"bots/a.yml:5:1: unknown key \"imagee\""}
			})}, Observed: []runtime.Container{container("a", "h1", "running", -1)}},
			want:   Held,
			reason: `its files have 1 problem(s), first: bots/a.yml:5:1: unknown key "imagee"`,
		},
		{
			name: "hold without a container: nothing",
			in:   Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.Hold = true })}},
			want: Held,
		},
		{
			name: "bot files fail to load: stalled with the problem",
			in: Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) {
				d.Problems = []string{"bots/a.yml:3:1: unknown key \"scrpt\"", "second"}
			})}, Observed: []runtime.Container{container("a", "h1", "running", -1)}},
			want:   Stalled,
			reason: "bots/a.yml:3:1: unknown key \"scrpt\" (and 1 more problem(s))",
		},
		{
			name: "connector file edited on disk: restart",
			in: Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) {
				d.DiskDrift = []string{"conf/connectors/binance.yml"}
			})}, Observed: []runtime.Container{container("a", "h2", "running", -1)}},
			want:   Restart,
			reason: "conf/connectors/binance.yml changed on disk",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.SourceOK = true
			if tt.in.Now.IsZero() {
				tt.in.Now = now
			}
			actions := Make(tt.in)
			if len(actions) == 0 {
				t.Fatal("no action")
			}
			a := actions[0]
			if a.Kind != tt.want || !strings.Contains(a.Reason, tt.reason) {
				t.Fatalf("got %s, want %s with reason containing %q", a, tt.want, tt.reason)
			}
		})
	}
}

func TestSourceFailedDoesNothing(t *testing.T) {
	actions := Make(Input{SourceOK: false, SourceError: "nectar.yaml:1: invalid YAML", Prune: true,
		Observed: []runtime.Container{container("a", "h", "running", -1), container("b", "h", "exited", 1)}})
	if len(actions) != 2 {
		t.Fatalf("%v", actions)
	}
	for _, a := range actions {
		if a.Kind != Stalled || a.Kind.Mutates() || !strings.Contains(a.Reason, "nectar.yaml:1") {
			t.Errorf("%s", a)
		}
	}
}

func TestExtraContainers(t *testing.T) {
	odd := container("a", "h2", "running", -1)
	odd.Name, odd.ID = "renamed-by-hand", "id-odd"
	actions := Make(Input{SourceOK: true, Desired: map[string]Desired{"a": desired("a")},
		Observed: []runtime.Container{odd, container("a", "h2", "running", -1)}, Now: now})
	if len(actions) != 2 || actions[0].Kind != None || actions[0].Container.ID != "id-a" ||
		actions[1].Kind != Remove || actions[1].Container.ID != "id-odd" {
		t.Fatalf("%v", actions)
	}
}

func TestOneActionPerBotSorted(t *testing.T) {
	in := Input{SourceOK: true, Prune: true, Now: now, Desired: map[string]Desired{}}
	for _, b := range []string{"c", "a", "b"} {
		in.Desired[b] = desired(b)
	}
	in.Observed = []runtime.Container{container("z", "h", "running", -1), container("b", "h2", "running", -1)}
	got := Make(in)
	var order []string
	for _, a := range got {
		order = append(order, a.Bot+":"+string(a.Kind))
	}
	if strings.Join(order, " ") != "a:create b:none c:create z:remove" {
		t.Fatalf("%v", order)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 2 * time.Minute, 2 * time.Minute}
	for n, w := range want {
		if got := Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, w)
		}
	}
}

func BenchmarkMake1000(b *testing.B) {
	in := Input{SourceOK: true, Prune: true, Now: now, Desired: map[string]Desired{}}
	for i := range 1000 {
		bot := "bot-" + strconv.Itoa(i)
		in.Desired[bot] = desired(bot)
		in.Observed = append(in.Observed, container(bot, "h2", "running", -1))
	}
	b.ReportAllocs()
	for b.Loop() {
		Make(in)
	}
}

// A bot run by hbot stops gracefully: no kill is foretold; one not
// running is not stopped at all, so neither.
func TestKillWarningOnlyForStopsThatKill(t *testing.T) {
	hbot := container("a", "h2", "running", -1)
	hbot.Labels[runtime.LabelLaunch] = fleet.LaunchHbot
	exited := container("a", "h2", "exited", 0)
	for _, c := range []runtime.Container{hbot, exited} {
		acts := Make(Input{SourceOK: true, Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.State = "stopped"; d.Hash = "h3" })}, Observed: []runtime.Container{c}})
		for _, a := range acts {
			if strings.Contains(a.Reason, "cannot be graceful") {
				t.Errorf("%s container: %s", c.State, a)
			}
		}
	}
}

// The plan names the fleet files that take the place of the image's own,
// but only for an action that writes the bot's files, and at most three.
func TestShadowNote(t *testing.T) {
	running := container("a", "h1", "running", -1)
	running.Labels[runtime.LabelLaunch] = fleet.LaunchHbot
	for _, tt := range []struct {
		name     string
		shadowed []string
		observed []runtime.Container
		want     string
	}{
		{"create, one", []string{"scripts/x.py"}, nil, "; the fleet's scripts/x.py replaces the image's own file of that name"},
		{"recreate, many", []string{"a/1", "a/2", "a/3", "a/4", "a/5"}, []runtime.Container{running},
			"; the fleet's a/1, a/2, a/3 and 2 more replace the image's own files of those names"},
		{"none", nil, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := desired("a", func(d *Desired) { d.Shadowed = tt.shadowed })
			acts := Make(Input{SourceOK: true, Desired: map[string]Desired{"a": d}, Observed: tt.observed,
				Applied: map[string]Applied{"a": applied()}})
			if len(acts) != 1 || !strings.HasSuffix(acts[0].Reason, tt.want) || (tt.want == "" && strings.Contains(acts[0].Reason, "replace")) {
				t.Errorf("got %v, want a reason ending %q", acts, tt.want)
			}
		})
	}
	// No note on an action that writes nothing.
	same := container("a", "h2", "running", -1)
	acts := Make(Input{SourceOK: true, Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.Shadowed = []string{"scripts/x.py"} })},
		Observed: []runtime.Container{same}})
	if len(acts) != 1 || acts[0].Kind != None || strings.Contains(acts[0].Reason, "replace") {
		t.Errorf("got %v", acts)
	}
}

// TestChangeReasonNamesWhatChanged: a recreate names the variable, the
// setting, the mount or the file that changed, never a value of the
// environment; an older record, with coarse parts, still explains what it
// can and never fails.
func TestChangeReasonNamesWhatChanged(t *testing.T) {
	fine := func(mods ...func(p, s map[string]string)) (map[string]string, map[string]string) {
		p := map[string]string{"image": "i1", "password": "p1", "credential/binance": "c1", "client_config": "cc1",
			"env/TZ": "tz1", "env/API_TOKEN": "tok1", "mount//home/hummingbot/conf": "m1",
			"setting/network": "n1", "setting/stop timeout": "st1", "setting/command": "cmd1"}
		s := map[string]string{"network": "host", "stop timeout": "1m30s", "command": "hbot start a.yml --v2-script --foreground"}
		for _, m := range mods {
			m(p, s)
		}
		return p, s
	}
	tests := []struct {
		name    string
		now     func(p, s map[string]string)
		record  func(a *Applied)
		want    []string
		wantNot []string
	}{
		{
			name:    "an environment variable added and one changed, by name only",
			now:     func(p, s map[string]string) { p["env/EXTRA"] = "x1"; p["env/API_TOKEN"] = "tok2" },
			want:    []string{"environment variable EXTRA added", "environment variable API_TOKEN changed"},
			wantNot: []string{"tok", "x1", "configuration changed"},
		},
		{
			name: "an environment variable removed",
			now:  func(p, s map[string]string) { delete(p, "env/TZ") },
			want: []string{"environment variable TZ removed"},
		},
		{
			name: "settings, with their values",
			now: func(p, s map[string]string) {
				p["setting/network"], s["network"] = "n2", "bridge"
				p["setting/stop timeout"], s["stop timeout"] = "st2", "30s"
			},
			want: []string{"network host → bridge", "stop timeout 1m30s → 30s"},
		},
		{
			name: "the command",
			now: func(p, s map[string]string) {
				p["setting/command"], s["command"] = "cmd2", "hbot start b.yml --v2-script --foreground"
			},
			want: []string{"command hbot start a.yml --v2-script --foreground → hbot start b.yml --v2-script --foreground"},
		},
		{
			name: "a mount added and one changed",
			now: func(p, s map[string]string) {
				p["mount//home/hummingbot/certs"] = "m9"
				p["mount//home/hummingbot/conf"] = "m2"
			},
			want: []string{"mount of /home/hummingbot/certs added", "mount of /home/hummingbot/conf changed"},
		},
		{
			name: "client_config and a file",
			now:  func(p, s map[string]string) { p["client_config"] = "cc2"; p["file/conf/scripts/x.yml"] = "f1" },
			want: []string{"client_config changed", "conf/scripts/x.yml changed"},
		},
		{
			name: "a setting whose old value the record lacks",
			now:  func(p, s map[string]string) { p["setting/network"], s["network"] = "n2", "bridge" },
			record: func(a *Applied) {
				a.Settings = nil
			},
			want: []string{"network changed"},
		},
		{
			name: "an older record, coarse: environment or settings",
			record: func(a *Applied) {
				a.Parts = partsOf(map[string]string{"image": "i1", "password": "p1", "credential/binance": "c1", "client_config": "cc1",
					"environment": "e-old", "container settings": "s-old"})
				a.Settings = nil
			},
			want:    []string{"environment or settings changed (recorded by an older nectar"},
			wantNot: []string{"variable", "mount"},
		},
		{
			name: "an older record, coarse, and the password changed",
			now:  func(p, s map[string]string) { p["password"] = "p2" },
			record: func(a *Applied) {
				a.Parts = partsOf(map[string]string{"image": "i1", "password": "p1", "credential/binance": "c1", "client_config": "cc1",
					"environment": "e-old", "container settings": "s-old"})
			},
			want:    []string{"account password changed"},
			wantNot: []string{"variable", "mount", "setting"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasP, wasS := fine()
			last := Applied{Hash: "h1", Image: "img", Parts: partsOf(wasP), Settings: wasS}
			if tt.record != nil {
				tt.record(&last)
			}
			nowP, nowS := fine()
			if tt.now != nil {
				tt.now(nowP, nowS)
			}
			d := desired("a", func(d *Desired) { d.Image, d.Parts, d.Settings = "img", partsOf(nowP), nowS })
			got := Make(Input{SourceOK: true, Desired: map[string]Desired{"a": d},
				Observed: []runtime.Container{container("a", "h1", "running", -1)}, Applied: map[string]Applied{"a": last}, Now: now})
			if len(got) != 1 || got[0].Kind != Recreate {
				t.Fatalf("%v", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0].Reason, w) {
					t.Errorf("reason %q lacks %q", got[0].Reason, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got[0].Reason, w) {
					t.Errorf("reason %q holds %q", got[0].Reason, w)
				}
			}
		})
	}
}

func owned(c runtime.Container, owner string) runtime.Container {
	c.Labels[runtime.LabelOwner] = owner
	if owner != "" {
		c.Labels[runtime.LabelStateDir] = "/srv/" + owner
	}
	return c
}

// TestOwnership: with an owner set, only containers carrying it (or
// adopted, or made from this state dir by an older nectar) are acted on;
// any other of the fleet is Stalled, never pruned, stopped or recreated.
func TestOwnership(t *testing.T) {
	tests := []struct {
		name     string
		in       Input
		want     map[string]Kind
		reason   string
		byReason string
	}{
		{
			name: "another state dir's bot is not pruned",
			in: Input{Prune: true, Desired: map[string]Desired{"mine": desired("mine")},
				Observed: []runtime.Container{owned(container("theirs", "hx", "running", -1), "other")}},
			want:   map[string]Kind{"mine": Create, "theirs": Stalled},
			reason: "belongs to another nectar of fleet prod (fleet id other, state dir /srv/other)",
		},
		{
			name: "a bot of ours held by another's container is neither created nor recreated",
			in: Input{Desired: map[string]Desired{"a": desired("a")},
				Observed: []runtime.Container{owned(container("a", "h1", "exited", 0), "other")}},
			want:   map[string]Kind{"a": Stalled},
			reason: "nectar adopt a",
		},
		{
			name: "our own label: acted on",
			in: Input{Prune: true, Desired: map[string]Desired{"a": desired("a")},
				Observed: []runtime.Container{owned(container("a", "h1", "running", -1), "me"), owned(container("gone", "h", "running", -1), "me")}},
			want: map[string]Kind{"a": Recreate, "gone": Remove},
		},
		{
			name: "adopted by id: acted on",
			in: Input{Prune: true, Desired: map[string]Desired{"x": desired("x")}, Adopted: map[string]bool{"id-gone": true},
				Observed: []runtime.Container{owned(container("gone", "h", "running", -1), "other")}},
			want: map[string]Kind{"gone": Remove},
		},
		{
			name: "no label, made from this state dir (hash as desired): adopted without a restart",
			in: Input{Desired: map[string]Desired{"a": desired("a")},
				Observed: []runtime.Container{owned(container("a", "h2", "running", -1), "")}},
			want: map[string]Kind{"a": None},
		},
		{
			name: "no label, the hash this state dir last applied: ours, recreated",
			in: Input{Desired: map[string]Desired{"a": desired("a")}, Applied: map[string]Applied{"a": applied()},
				Observed: []runtime.Container{owned(container("a", "h1", "running", -1), "")}},
			want: map[string]Kind{"a": Recreate},
		},
		{
			name: "no label, pruned only with this state dir's record",
			in: Input{Prune: true, Desired: map[string]Desired{"x": desired("x")}, Applied: map[string]Applied{"gone": {Hash: "hg"}},
				Observed: []runtime.Container{owned(container("gone", "hg", "running", -1), ""), owned(container("nc-a", "hz", "running", -1), "")}},
			want:     map[string]Kind{"gone": Remove, "nc-a": Stalled},
			byReason: "nc-a",
			reason:   "made by an older nectar that did not label its owner",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.SourceOK, tt.in.Owner, tt.in.Now = true, "me", now
			got := map[string]Kind{}
			for _, a := range Make(tt.in) {
				if _, ok := tt.want[a.Bot]; !ok {
					continue
				}
				got[a.Bot] = a.Kind
				if a.Kind == Stalled && tt.reason != "" && (tt.byReason == "" || tt.byReason == a.Bot) && !strings.Contains(a.Reason, tt.reason) {
					t.Errorf("reason %q lacks %q", a.Reason, tt.reason)
				}
				if a.Kind == Stalled && a.Kind.Mutates() {
					t.Error("a conflict mutates")
				}
			}
			for bot, k := range tt.want {
				if got[bot] != k {
					t.Errorf("%s: %s, want %s (all: %v)", bot, got[bot], k, got)
				}
			}
		})
	}
}

// TestSuspended: a suspended bot's container is left exactly as it is,
// whatever the source says, unless --stop asked for a graceful stop.
func TestSuspended(t *testing.T) {
	sus := Suspension{By: "ops@host", At: now.Add(-time.Minute)}
	stop := sus
	stop.Stop = true
	tests := []struct {
		name   string
		in     Input
		bot    string
		want   Kind
		reason string
	}{
		{"running, hash differs: not recreated", Input{Desired: map[string]Desired{"a": desired("a")},
			Observed: []runtime.Container{container("a", "h1", "running", -1)}, Suspended: map[string]Suspension{"a": sus}},
			"a", Suspended, "suspended by ops@host at 2026-11-22T11:59:00Z"},
		{"exited: not started", Input{Desired: map[string]Desired{"a": desired("a")},
			Observed: []runtime.Container{container("a", "h2", "exited", 0)}, SuspendAll: &sus}, "a", Suspended, "leaves the container as it is"},
		{"no container: not created", Input{Desired: map[string]Desired{"a": desired("a")}, SuspendAll: &sus}, "a", Suspended, ""},
		{"held and suspended with --stop: stopped", Input{Desired: map[string]Desired{"a": desired("a", func(d *Desired) { d.Hold = true })},
			Observed: []runtime.Container{container("a", "h2", "running", -1)}, Suspended: map[string]Suspension{"a": stop}}, "a", Stop, "with --stop"},
		{"--stop, already stopped: nothing", Input{Desired: map[string]Desired{"a": desired("a")},
			Observed: []runtime.Container{container("a", "h2", "exited", 0)}, SuspendAll: &stop}, "a", Suspended, "stopped and left"},
		{"removed from source: not pruned", Input{Prune: true, Desired: map[string]Desired{"x": desired("x")},
			Observed: []runtime.Container{container("gone", "h", "running", -1)}, Suspended: map[string]Suspension{"gone": sus}}, "gone", Suspended, ""},
		{"another bot is not suspended", Input{Desired: map[string]Desired{"b": desired("b")},
			Suspended: map[string]Suspension{"a": sus}}, "b", Create, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.SourceOK, tt.in.Now = true, now
			for _, a := range Make(tt.in) {
				if a.Bot != tt.bot {
					continue
				}
				if a.Kind != tt.want || !strings.Contains(a.Reason, tt.reason) {
					t.Fatalf("%s", a)
				}
				if (a.Suspended != nil) != (tt.want != Create) {
					t.Errorf("Suspended %v", a.Suspended)
				}
				return
			}
			t.Fatal("no action")
		})
	}
}
