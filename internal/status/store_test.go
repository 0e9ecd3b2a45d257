package status_test

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// History has an entry when something happened, not one per pass.
func TestHistoryRecordsChangesOnly(t *testing.T) {
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now})
	running := statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up 1 minute", -1)
	exited := statustest.ContainerOf("solo", "hb:1", runtime.StateExited, "Exited (1) 3 seconds ago", 1)
	passes := []reconcile.Outcome{
		statustest.Outcome(plan.Create, "no container yet", nil, nil),
		statustest.Outcome(plan.None, "running, up to date", running, nil),
		statustest.Outcome(plan.None, "running, up to date", running, nil), // nothing new
		statustest.Outcome(plan.None, "running, up to date", running, nil), // nothing new
		statustest.Outcome(plan.Start, "container exited with code 1", exited, nil),
		statustest.Outcome(plan.Wait, "container exited with code 1; next start in 9s (back-off after 1 start(s))", exited, nil),
		statustest.Outcome(plan.Wait, "container exited with code 1; next start in 4s (back-off after 1 start(s))", exited, nil), // a countdown
		statustest.Outcome(plan.Start, "container exited with code 1", exited, errors.New("cannot start hummingbot-solo: boom")),
		statustest.Outcome(plan.Start, "container exited with code 1", exited, errors.New("cannot start hummingbot-solo: boom")), // errors always count
		statustest.Outcome(plan.None, "running, up to date", running, nil),
	}
	for i, o := range passes {
		s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(time.Duration(i)*time.Minute), o), reconcile.Source{}, nil)
	}
	b, _ := s.Bot("solo")
	var kinds []string
	for _, a := range b.History {
		kinds = append(kinds, a.Kind)
	}
	if got, want := strings.Join(kinds, " "), "none start start wait start none create"; got != want {
		t.Errorf("history (newest first) %q, want %q", got, want)
	}
	if b.LastError != "" || b.Condition != status.ConditionReady {
		t.Errorf("after recovering: condition %s, last error %q", b.Condition, b.LastError)
	}
	// The last action is the last start nectar tried (it failed), not
	// the pass after it that found nothing to do.
	if a := b.LastAction; a == nil || a.Kind != "start" || !a.At.Equal(statustest.T0.Add(8*time.Minute)) || a.Error != "cannot start hummingbot-solo: boom" || a.Reason != "container exited with code 1" {
		t.Errorf("last action %+v, want the failed start of minute 8", b.LastAction)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	s := status.NewStore(status.StoreOptions{History: 3})
	for i := range 10 {
		s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(time.Duration(i)*time.Minute), statustest.Outcome(plan.Start, "container exited with code 1", nil, nil)), reconcile.Source{}, nil)
	}
	b, _ := s.Bot("solo")
	if len(b.History) != 3 || !b.History[0].At.Equal(statustest.T0.Add(9*time.Minute)) {
		t.Errorf("history of %d entries, newest at %s", len(b.History), b.History[0].At)
	}
}

// A failing source or engine leaves the applied revision and the bots as
// they were, and says so.
func TestAppliedAndAttempted(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	running := statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up 2 hours (healthy)", -1)
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.None, "running, up to date", running, nil)), reconcile.Source{}, nil)

	down := statustest.OnePass(statustest.RevB, statustest.T0.Add(time.Minute))
	down.EngineErr = errors.New("Cannot connect to the Docker daemon at tcp://admin:hunter22@10.0.0.5:2376")
	s.RecordPass(down, reconcile.Source{}, nil)
	v := s.View()
	if v.Applied.Revision != statustest.RevA || v.Attempted.Revision != statustest.RevB {
		t.Errorf("applied %s attempted %s", v.Applied.Revision, v.Attempted.Revision)
	}
	if v.Engine.Reachable || !strings.Contains(v.Engine.Error, "tcp://[redacted]@10.0.0.5") || strings.Contains(v.Engine.Error, "hunter22") {
		t.Errorf("engine %+v", v.Engine)
	}
	if len(v.Bots) != 1 || v.Bots[0].Actual != runtime.StateRunning || v.Bots[0].Health != status.HealthHealthy {
		t.Errorf("the bots changed while the engine was away: %+v", v.Bots)
	}
	if v.LastPass.Result != status.ResultEngineUnreachable {
		t.Errorf("last pass %s", v.LastPass.Result)
	}

	broken := &reconcile.Result{Revision: statustest.RevC, Started: statustest.T0.Add(2 * time.Minute), SourceOK: false,
		SourceProblems: []fleet.Problem{{File: "nectar.yaml", Line: 3, Column: 7, Message: "fleet must be a string", Hint: "write fleet: prod"}}}
	s.RecordPass(broken, reconcile.Source{}, errors.New("cannot fetch main: connection refused"))
	v = s.View()
	if v.Applied.Revision != statustest.RevA || v.Attempted.Revision != statustest.RevC || v.SourceOK || v.SourceError != "cannot fetch main: connection refused" {
		t.Errorf("after a broken revision: applied %s attempted %s ok %v error %q", v.Applied.Revision, v.Attempted.Revision, v.SourceOK, v.SourceError)
	}
	if len(v.Problems) != 1 || v.Problems[0].Position != "nectar.yaml:3:7" || v.Problems[0].Hint != "write fleet: prod" {
		t.Errorf("problems %+v", v.Problems)
	}
	if v.Fleet != "t" {
		t.Errorf("fleet name %q after a revision without one", v.Fleet)
	}
	if !v.Ready {
		t.Error("not ready any more")
	}
}

// Before the engine ever answered, the page lists the source's bots as
// unknown rather than nothing.
func TestEngineDownFromTheStart(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	res := statustest.OnePass(statustest.RevA, statustest.T0)
	res.EngineErr = errors.New("no engine")
	s.RecordPass(res, reconcile.Source{}, nil)
	v := s.View()
	if v.Ready || len(v.Bots) != 1 || v.Bots[0].Condition != status.ConditionUnknown || v.Bots[0].Desired != fleet.StateRunning {
		t.Errorf("ready %v, bots %+v", v.Ready, v.Bots)
	}
}

// A bot gone from the source and from the engine is forgotten.
func TestRemovedBotIsForgotten(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.Create, "no container yet", nil, nil)), reconcile.Source{}, nil)
	res := statustest.OnePass(statustest.RevB, statustest.T0.Add(time.Minute))
	res.Loaded.Bots = map[string]*fleet.Bot{}
	res.Outcomes = []reconcile.Outcome{statustest.Outcome(plan.Remove, "bot removed from source", statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up 1 minute", -1), nil)}
	s.RecordPass(res, reconcile.Source{}, nil)
	if b, ok := s.Bot("solo"); !ok || b.Desired != status.DesiredAbsent || b.Account != "" {
		t.Fatalf("right after removal: %+v", b)
	}
	res = statustest.OnePass(statustest.RevB, statustest.T0.Add(2*time.Minute))
	res.Loaded.Bots = map[string]*fleet.Bot{}
	s.RecordPass(res, reconcile.Source{}, nil)
	if _, ok := s.Bot("solo"); ok {
		t.Error("a removed bot is still listed")
	}
}

// View and Bot hand out copies: changing them changes nothing inside.
func TestViewIsACopy(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.Create, "no container yet", nil, nil)), reconcile.Source{}, nil)
	v := s.View()
	v.Bots[0].Connectors[0] = "changed"
	v.Accounts[0].Connectors[0].Name = "changed"
	b, _ := s.Bot("solo")
	b.History[0].Kind = "changed"
	if s.View().Bots[0].Connectors[0] != "binance" || s.View().Accounts[0].Connectors[0].Name != "binance" {
		t.Error("View shares its slices with the Store")
	}
	if b2, _ := s.Bot("solo"); b2.History[0].Kind != "create" {
		t.Error("Bot shares its history with the Store")
	}
}

func TestAccountsView(t *testing.T) {
	s, _ := statustest.NewStore(t, 1)
	var got []string
	for _, a := range s.View().Accounts {
		for _, c := range a.Connectors {
			got = append(got, a.Name+"/"+c.Name+"="+strings.Join(c.Bots, "+"))
		}
		got = append(got, a.Name+"="+strings.Join(a.Bots, "+"))
	}
	want := "master_account/binance=pmm-btc+xemm-eth master_account/kucoin=twap-eth+xemm-eth master_account=pmm-btc+twap-eth+xemm-eth " +
		"team_account/binance=dca-sol team_account/hyperliquid_perpetual=hl-perp team_account=dca-sol+hl-perp"
	if strings.Join(got, " ") != want {
		t.Errorf("accounts\n got  %s\n want %s", strings.Join(got, " "), want)
	}
}

// Subscribers get one signal for many passes and a closed channel at the end.
func TestSubscribeCoalesces(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Subscribe(ctx)
	for i := range 5 {
		s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0.Add(time.Duration(i)*time.Second)), reconcile.Source{}, nil)
	}
	<-ch
	select {
	case <-ch:
		t.Fatal("five passes gave more than one pending signal")
	default:
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a signal after the context ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel was not closed when the context ended")
	}
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0), reconcile.Source{}, nil) // must not send on the closed channel
}

func TestParseEngineStatus(t *testing.T) {
	tests := []struct{ in, health, uptime string }{
		{"Up 5 minutes (healthy)", status.HealthHealthy, "5 minutes"},
		{"Up About an hour (health: starting)", status.HealthStarting, "about an hour"},
		{"Up Less than a second", "", "less than a second"},
		{"Up 3 days (unhealthy)", status.HealthUnhealthy, "3 days"},
		{"Up 2 hours (Paused)", "", "2 hours"},
		{"Exited (1) 2 minutes ago", "", ""},
		{"Restarting (1) 5 seconds ago", "", ""},
		{"Created", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		h, u := status.ParseEngineStatus(tt.in)
		if h != tt.health || u != tt.uptime {
			t.Errorf("parseEngineStatus(%q) = %q, %q; want %q, %q", tt.in, h, u, tt.health, tt.uptime)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:tok@github.com/a/b.git", "https://[redacted]@github.com/a/b.git"},
		{"fetch https://ghp_x@github.com/a: refused", "fetch https://[redacted]@github.com/a: refused"},
		{"ssh://git@host:22/repo", "ssh://[redacted]@host:22/repo"},
		{"git@github.com:acme/fleet.git", "git@github.com:acme/fleet.git"},
		{"/srv/fleet", "/srv/fleet"},
	}
	for _, tt := range tests {
		if got := status.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// noAccounts fails the test if anything under accounts/ is opened.
type noAccounts struct {
	fs.FS
	t *testing.T
}

func (n noAccounts) Open(name string) (fs.File, error) {
	if name == fleet.AccountsDir || strings.HasPrefix(name, fleet.AccountsDir+"/") {
		n.t.Errorf("opened %s", name)
	}
	return n.FS.Open(name)
}

func TestCopySharedFiles(t *testing.T) {
	big := strings.Repeat("x", status.MaxSharedFile+1)
	fsys := fstest.MapFS{
		"scripts/ok.py":                 {Data: []byte("print('ok')\n")},
		"scripts/big.py":                {Data: []byte(big)},
		"scripts/blob.bin":              {Data: []byte{0, 1, 2, 3}},
		"scripts/key.yml.age":           {Data: []byte("age-encryption.org/v1\n...")},
		"scripts/armored.txt":           {Data: []byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n")},
		"scripts/.gitkeep":              {},
		"scripts/.cache/x.py":           {Data: []byte("hidden")},
		"controllers/market/mm.py":      {Data: []byte("class MM: pass\n")},
		"conf/scripts/conf_a.yml":       {Data: []byte("a: 1\n")},
		"conf/connectors/binance.yml":   {Data: []byte("not shared")},
		"accounts/main/password.age":    {Data: []byte("never read")},
		"bots/solo.yml":                 {Data: []byte("account: main\n")},
		"conf/controllers/conf_mm.yml":  {Data: []byte("b: 2\n")},
		"conf/controllers/sub/deep.yml": {Data: []byte("c: 3\n")},
	}
	got := status.CopySharedFiles(noAccounts{fsys, t}, statustest.RevA)
	var paths []string
	for _, f := range got.Files {
		desc := f.Path
		if f.Omitted != "" {
			desc += " (" + f.Omitted + ")"
		}
		paths = append(paths, desc)
	}
	want := []string{
		"conf/controllers/conf_mm.yml",
		"conf/controllers/sub/deep.yml",
		"conf/scripts/conf_a.yml",
		"controllers/market/mm.py",
		"scripts/armored.txt (encrypted file; never shown)",
		"scripts/big.py (larger than 1 MiB)",
		"scripts/blob.bin (binary file)",
		"scripts/key.yml.age (encrypted file; never shown)",
		"scripts/ok.py",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("copied:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if f, ok := got.Lookup("scripts/big.py"); !ok || f.Content != nil || f.Size != int64(len(big)) {
		t.Errorf("big file kept %d bytes, size %d", len(f.Content), f.Size)
	}
}

// The copy stops keeping contents at the total cap.
func TestCopySharedFilesTotalCap(t *testing.T) {
	fsys := fstest.MapFS{}
	chunk := strings.Repeat("y", 900<<10)
	for i := range 12 {
		fsys["scripts/s"+string(rune('a'+i))+".py"] = &fstest.MapFile{Data: []byte(chunk)}
	}
	got := status.CopySharedFiles(fsys, statustest.RevA)
	var kept int
	for _, f := range got.Files {
		kept += len(f.Content)
		if f.Content == nil && !strings.Contains(f.Omitted, "8 MiB") {
			t.Errorf("%s omitted for %q", f.Path, f.Omitted)
		}
	}
	if kept > status.MaxSharedTotal || kept < status.MaxSharedTotal-len(chunk) {
		t.Errorf("kept %d bytes, cap %d", kept, status.MaxSharedTotal)
	}
}

// A bot backing off says when its back-off ends.
func TestWaitShowsTheEndOfItsBackOff(t *testing.T) {
	s := status.NewStore(status.StoreOptions{Now: func() time.Time { return statustest.T0 }, Resync: time.Minute})
	exited := statustest.ContainerOf("solo", "hb:1", runtime.StateExited, "Exited (1) 3 seconds ago", 1)
	o := statustest.Outcome(plan.Wait, "container exited with code 1; next start in 9s", exited, nil)
	o.NotBefore = statustest.T0.Add(9 * time.Second)
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, o), reconcile.Source{}, nil)
	if b, _ := s.Bot("solo"); !b.NextAttempt.Equal(statustest.T0.Add(9 * time.Second)) {
		t.Errorf("next attempt %s, want the end of the back-off", b.NextAttempt)
	}
}

// The list matches what the loader hands the renderer: every file it
// shares is listed with its content, and nothing else is.
func TestSharedFilesMatchTheLoader(t *testing.T) {
	fsys := statustest.ExampleFS(t)
	fsys["notes/shared_cfg.yml"] = &fstest.MapFile{Data: []byte("a: 1\n")}
	fsys["conf/scripts/cfg.yml"] = &fstest.MapFile{Data: []byte("../../notes/shared_cfg.yml"), Mode: fs.ModeSymlink | 0o777}
	fsys["scripts/link.py"] = &fstest.MapFile{Data: []byte("quote_logger.py"), Mode: fs.ModeSymlink | 0o777}
	fsys["scripts/__pycache__/quote_logger.cpython-312.pyc"] = &fstest.MapFile{Data: []byte("cache")}
	fsys["scripts/.venv/x.py"] = &fstest.MapFile{Data: []byte("hidden")}
	fsys["controllers/market/.DS_Store"] = &fstest.MapFile{Data: []byte("finder")}
	fsys["controllers/market/mm.py"] = &fstest.MapFile{Data: []byte("class MM: pass\n")}
	fl := statustest.LoadFleet(t, fsys)
	got := status.CopySharedFiles(fsys, statustest.RevA)
	var listed []string
	for _, f := range got.Files {
		if f.Content == nil {
			t.Errorf("%s omitted: %s", f.Path, f.Omitted)
			continue
		}
		data, err := fl.ReadShared(f.Path)
		if err != nil || string(data) != string(f.Content) {
			t.Errorf("%s: the list shows other content than the bots get (%v)", f.Path, err)
		}
		listed = append(listed, f.Path)
	}
	// Only the roots /files covers: the loader may share more folders
	// (conf/strategies/) before /files is taught them.
	var shared []string
	for _, p := range fl.Shared {
		if slices.ContainsFunc(status.SharedRoots, func(root string) bool { return strings.HasPrefix(p, root+"/") }) {
			shared = append(shared, p)
		}
	}
	if !slices.Equal(listed, shared) {
		t.Errorf("/files lists\n%s\nthe loader shares\n%s", strings.Join(listed, "\n"), strings.Join(shared, "\n"))
	}
	if !slices.Contains(listed, path.Join(fleet.ConfDir, fleet.ScriptsDir, "cfg.yml")) {
		t.Error("the linked config is not listed")
	}
}
