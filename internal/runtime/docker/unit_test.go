package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"

	"github.com/nectarhq/nectar/internal/runtime"
)

// These tests need no engine: they cover the parsing and mapping, and run
// the Engine against a stand-in HTTP server for what a real engine cannot
// be made to do on demand (an event stream that breaks, an error inside a
// pull stream).

func TestExitCodeFromStatus(t *testing.T) {
	tests := []struct {
		status string
		want   int
	}{
		{"Exited (137) 2 minutes ago", 137},
		{"Exited (0) Less than a second ago", 0},
		{"Exited (1) 3 hours ago", 1},
		{"Restarting (2) 5 seconds ago", 2},
		{"Up 2 minutes", -1},
		{"Up 2 minutes (healthy)", -1},
		{"Up 5 seconds (Paused)", -1},
		{"Created", -1},
		{"Dead", -1},
		{"Removal In Progress", -1},
		{"Exited (x) 1 second ago", -1},
		{"Exited (", -1},
		{"", -1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.status); got != tt.want {
			t.Errorf("exitCode(%q) = %d, want %d", tt.status, got, tt.want)
		}
	}
}

func TestRestartPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    container.RestartPolicy
		wantErr bool
	}{
		{"", container.RestartPolicy{Name: "no"}, false},
		{"no", container.RestartPolicy{Name: "no"}, false},
		{"always", container.RestartPolicy{Name: "always"}, false},
		{"unless-stopped", container.RestartPolicy{Name: "unless-stopped"}, false},
		{"on-failure", container.RestartPolicy{Name: "on-failure"}, false},
		{"on-failure:5", container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}, false},
		{"on-failure:-1", container.RestartPolicy{}, true},
		{"on-failure:x", container.RestartPolicy{}, true},
		{"always:3", container.RestartPolicy{}, true},
		{"sometimes", container.RestartPolicy{}, true},
		{"Always", container.RestartPolicy{}, true},
	}
	for _, tt := range tests {
		got, err := restartPolicy(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("restartPolicy(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("restartPolicy(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestContainerConfig(t *testing.T) {
	spec := runtime.Spec{
		Name: "hummingbot-a", Image: "img", Env: []string{"A=1"}, Network: "host",
		Mounts: []runtime.Mount{{Source: "/s", Target: "/t"}},
		Labels: map[string]string{runtime.LabelFleet: "f"}, NanoCPUs: 1e9, MemoryBytes: 1 << 30,
	}
	cfg, host := containerConfig(spec, container.RestartPolicy{Name: "always"})
	if !cfg.Tty || !cfg.OpenStdin || cfg.AttachStdin || *cfg.StopTimeout != 90 || cfg.Cmd != nil {
		t.Errorf("config %+v", cfg)
	}
	// The bot's own stop timeout (rounded up to whole seconds) and command.
	spec.StopTimeout, spec.Cmd = 2500*time.Millisecond, []string{"hbot", "start", "c.yml", "--v2-script", "--foreground"}
	cfg, _ = containerConfig(spec, container.RestartPolicy{Name: "always"})
	if *cfg.StopTimeout != 3 || len(cfg.Cmd) != 5 || cfg.Cmd[0] != "hbot" {
		t.Errorf("config %+v", cfg)
	}
	if host.LogConfig.Config["max-size"] != "10m" || host.LogConfig.Config["max-file"] != "5" {
		t.Errorf("log config %+v, want the 10m × 5 default", host.LogConfig)
	}
	if len(host.Mounts) != 1 || host.Mounts[0].Type != "bind" || len(host.Binds) != 0 {
		t.Errorf("mounts %+v binds %v", host.Mounts, host.Binds)
	}
	if host.NetworkMode != "host" || host.NanoCPUs != 1e9 || host.Memory != 1<<30 || host.AutoRemove {
		t.Errorf("host config %+v", host)
	}
}

func TestWrapClassifies(t *testing.T) {
	tests := []struct {
		err      error
		notFound bool
		conflict bool
	}{
		{cerrdefs.ErrNotFound.WithMessage("No such container: x"), true, false},
		{cerrdefs.ErrConflict.WithMessage("name in use"), false, true},
		{errors.New("boom"), false, false},
	}
	for _, tt := range tests {
		err := wrap("start container x", tt.err)
		if errors.Is(err, runtime.ErrRefused) {
			t.Errorf("wrap(%v): classed as refused", tt.err)
		}
		if errors.Is(err, runtime.ErrNotFound) != tt.notFound || errors.Is(err, runtime.ErrConflict) != tt.conflict {
			t.Errorf("wrap(%v): not found %v conflict %v", tt.err, errors.Is(err, runtime.ErrNotFound), errors.Is(err, runtime.ErrConflict))
		}
		if !errors.Is(err, tt.err) || !strings.HasPrefix(err.Error(), "start container x: ") {
			t.Errorf("wrap(%v) = %v: want the op and the engine's error in the chain", tt.err, err)
		}
	}
}

// A refusal (the engine's 400) is ErrRefused, and stays so once the
// container's environment is cleaned out of the message.
func TestWrapRefused(t *testing.T) {
	err := withoutEnv(wrap("create container x", cerrdefs.ErrInvalidArgument.WithMessage("invalid env CONFIG_PASSWORD=abcdefgh")), []string{"CONFIG_PASSWORD=abcdefgh"})
	if !errors.Is(err, runtime.ErrRefused) || strings.Contains(err.Error(), "abcdefgh") {
		t.Fatalf("%v: want refused, without the password", err)
	}
}

func TestWithoutEnv(t *testing.T) {
	env := []string{"CONFIG_PASSWORD=abc", "SCRIPT_CONFIG=conf_pmm.yml", "TZ=UTC", "EMPTY="}
	tests := []struct {
		name, engine, want string
	}{
		{"nothing quoted", "No such image: x", "No such image: x"},
		{"whole entry", "bad env CONFIG_PASSWORD=abc here", "bad env CONFIG_PASSWORD=[redacted] here"},
		{"short secret value", "value abc rejected", "value [redacted] rejected"},
		{"long plain value", "conf_pmm.yml missing", "[redacted] missing"},
		{"short plain value kept", "UTC is fine", "UTC is fine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := cerrdefs.ErrConflict.WithMessage(tt.engine)
			err := withoutEnv(wrap("create container c", orig), env)
			if want := "create container c: " + tt.want; err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
			if !errors.Is(err, runtime.ErrConflict) {
				t.Error("classification lost")
			}
			if tt.engine != tt.want && errors.Is(err, orig) {
				t.Error("the unredacted engine error is still in the chain")
			}
		})
	}
}

func TestEventAction(t *testing.T) {
	m := events.Message{
		Type: events.ContainerEventType, Action: "exec_start: sh -c secret",
		Actor:    events.Actor{ID: "abc", Attributes: map[string]string{runtime.LabelBot: "b1"}},
		TimeNano: 1_700_000_000_123_456_789,
	}
	got := fromMessage(m)
	want := runtime.Event{ContainerID: "abc", Bot: "b1", Action: "exec_start", Time: time.Unix(0, m.TimeNano)}
	if got != want {
		t.Errorf("fromMessage = %+v, want %+v", got, want)
	}
}

// standIn is a stand-in engine speaking just enough of API 1.41.
type standIn struct {
	breakEvents chan struct{}
	lists       atomic.Int32
	// pull is the pull progress stream the stand-in answers; empty means
	// a pull that fails in the stream.
	pull string
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.41")
	switch {
	case r.URL.Path == "/_ping":
		io.WriteString(w, "OK")
	case r.URL.Path == "/v1.41/containers/json":
		s.lists.Add(1)
		if !strings.Contains(r.URL.Query().Get("filters"), `"nectar.fleet=f"`) || r.URL.Query().Get("all") != "1" {
			http.Error(w, `{"message":"bad filters"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[
 {"Id":"c1","Names":["/hummingbot-a"],"Image":"img:1","Labels":{"nectar.fleet":"f","nectar.bot":"a"},"State":"exited","Status":"Exited (137) 2 minutes ago","Created":1700000000},
 {"Id":"c2","Names":["/hummingbot-b"],"Image":"img:1","Labels":{"nectar.fleet":"f","nectar.bot":"b"},"State":"running","Status":"Up 3 hours","Created":1700000001}]`)
	case r.URL.Path == "/v1.41/images/create":
		w.Header().Set("Content-Type", "application/json")
		if s.pull != "" {
			io.WriteString(w, s.pull)
			return
		}
		io.WriteString(w, `{"status":"Pulling from library/img","id":"1"}`+"\n")
		io.WriteString(w, `{"errorDetail":{"message":"manifest for img:1 not found: manifest unknown"},"error":"manifest for img:1 not found: manifest unknown"}`+"\n")
	case r.URL.Path == "/v1.41/events":
		if !strings.Contains(r.URL.Query().Get("filters"), `"nectar.fleet=f"`) {
			http.Error(w, `{"message":"bad filters"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(events.Message{
			Type: events.ContainerEventType, Action: events.ActionDie,
			Actor: events.Actor{ID: "c1", Attributes: map[string]string{runtime.LabelBot: "a"}},
			Time:  1700000000,
		})
		w.(http.Flusher).Flush()
		select {
		case <-s.breakEvents: // the engine goes away mid-stream
			panic(http.ErrAbortHandler)
		case <-r.Context().Done():
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"no stand-in for %s %s"}`, r.Method, r.URL.Path)
	}
}

func standInEngine(t *testing.T) (*Engine, *standIn) {
	t.Helper()
	s := &standIn{breakEvents: make(chan struct{})}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e, err := newEngine(context.Background(), client.WithHost("tcp://"+srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, s
}

func TestListMapsSummaries(t *testing.T) {
	e, s := standInEngine(t)
	if v := e.APIVersion(); v != "1.41" {
		t.Errorf("negotiated API %s, want 1.41", v)
	}
	before := e.Calls()
	list, err := e.List(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Calls().Sub(before); got != (Calls{Reads: 1}) || s.lists.Load() != 1 {
		t.Errorf("calls %+v, want one read", got)
	}
	if len(list) != 2 {
		t.Fatalf("list = %+v", list)
	}
	a, b := list[0], list[1]
	if a.ID != "c1" || a.Name != "hummingbot-a" || a.Bot() != "a" || a.State != "exited" || a.ExitCode != 137 || !a.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("a = %+v", a)
	}
	if b.Name != "hummingbot-b" || !b.Running() || b.ExitCode != -1 || b.Status != "Up 3 hours" {
		t.Errorf("b = %+v", b)
	}
}

func TestPullErrorInStream(t *testing.T) {
	e, _ := standInEngine(t)
	before := e.Calls()
	err := e.Pull(context.Background(), "img:1")
	want := "pull image img:1: manifest for img:1 not found: manifest unknown"
	if err == nil || err.Error() != want {
		t.Errorf("Pull = %v, want %q", err, want)
	}
	if got := e.Calls().Sub(before); got != (Calls{Writes: 1}) {
		t.Errorf("calls %+v, want one write", got)
	}
}

// A pull whose stream carries only progress succeeds; one whose stream
// breaks off in the middle of a message fails with that said; the first
// error in the stream is the one returned.
func TestPullStreams(t *testing.T) {
	progress := `{"status":"Pulling from library/img","id":"1"}
{"status":"Downloading","progressDetail":{"current":10,"total":100},"progress":"[=>   ]","id":"abc"}
{"aux":{"ID":"sha256:0123"}}
{"status":"Digest: sha256:0123"}
{"status":"Status: Downloaded newer image for img:1"}
`
	tests := []struct {
		name, stream, want string
	}{
		{"progress only", progress, ""},
		{"empty stream", " ", ""},
		{"cut off", progress + `{"status":"Down`, "pull image img:1: cannot read the engine's progress: unexpected EOF"},
		{"not JSON", "<html>", "pull image img:1: cannot read the engine's progress: invalid character '<' looking for beginning of value"},
		{"first error wins", progress + `{"errorDetail":{"code":1,"message":"toomanyrequests: rate limit"},"error":"toomanyrequests: rate limit"}
{"errorDetail":{"message":"second"},"error":"second"}
`, "pull image img:1: toomanyrequests: rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, s := standInEngine(t)
			s.pull = tt.stream
			err := e.Pull(context.Background(), "img:1")
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Pull = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEventStreamBreaks(t *testing.T) {
	e, s := standInEngine(t)
	ctx := t.Context()
	evs, errs := e.Events(ctx, "f")
	select {
	case ev := <-evs:
		if ev.ContainerID != "c1" || ev.Action != "die" || ev.Bot != "a" {
			t.Errorf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	close(s.breakEvents)
	select {
	case err := <-errs:
		if err == nil || !strings.Contains(err.Error(), "event stream of fleet f broke") {
			t.Errorf("error %v", err)
		}
		t.Log(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no error after the stream broke")
	}
	if _, ok := <-evs; ok {
		t.Error("event channel still open after the stream broke")
	}
}

func TestEventsEmptyFleet(t *testing.T) {
	e, _ := standInEngine(t)
	evs, errs := e.Events(t.Context(), "")
	if err := <-errs; err == nil {
		t.Error("no error for an empty fleet name")
	}
	if _, ok := <-evs; ok {
		t.Error("event channel open")
	}
}

func TestNewUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := newEngine(ctx, client.WithHost("unix://"+t.TempDir()+"/no.sock"))
	if err == nil || !strings.Contains(err.Error(), "ping docker engine at unix://") {
		t.Errorf("New with no engine: %v", err)
	}
	t.Log(err)
}
