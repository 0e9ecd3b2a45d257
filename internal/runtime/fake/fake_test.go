package fake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/runtime/fake"
)

const image = "hummingbot/hummingbot:2.16.0"

func spec(fleet, bot string) runtime.Spec {
	return runtime.Spec{
		Name:    "hummingbot-" + bot,
		Image:   image,
		Env:     []string{"CONFIG_PASSWORD=pw"},
		Labels:  map[string]string{runtime.LabelFleet: fleet, runtime.LabelBot: bot, runtime.LabelHash: "h1"},
		Restart: "unless-stopped",
	}
}

// world is a fake with the image present and, for each given state, one
// container of fleet "f" in it (bots b0, b1, ...).
func world(t *testing.T, states ...string) (*fake.Runtime, []string) {
	t.Helper()
	rt := fake.New()
	rt.AddImage(image)
	var ids []string
	for i, st := range states {
		id, err := rt.Create(t.Context(), spec("f", fmt.Sprint("b", i)))
		if err != nil {
			t.Fatal(err)
		}
		switch st {
		case runtime.StateRunning:
			err = rt.Start(t.Context(), id)
		case runtime.StateExited:
			if err = rt.Start(t.Context(), id); err == nil {
				err = rt.Exit(id, 1)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rt.ResetLog()
	return rt, ids
}

func TestSemantics(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		state     string // of the one container, "" for none
		call      func(rt *fake.Runtime, id string) error
		wantErr   error // errors.Is target; nil: success
		wantState string
		wantExit  int
	}{
		{"create taken name", runtime.StateExited,
			func(rt *fake.Runtime, _ string) error { _, err := rt.Create(ctx, spec("other", "b0")); return err },
			runtime.ErrConflict, runtime.StateExited, 1},
		{"create missing image", "",
			func(rt *fake.Runtime, _ string) error {
				s := spec("f", "x")
				s.Image = "absent:1"
				_, err := rt.Create(ctx, s)
				return err
			}, runtime.ErrNotFound, "", 0},
		{"start created", runtime.StateCreated,
			func(rt *fake.Runtime, id string) error { return rt.Start(ctx, id) }, nil, runtime.StateRunning, -1},
		{"start exited", runtime.StateExited,
			func(rt *fake.Runtime, id string) error { return rt.Start(ctx, id) }, nil, runtime.StateRunning, -1},
		{"start running is a no-op", runtime.StateRunning,
			func(rt *fake.Runtime, id string) error { return rt.Start(ctx, id) }, nil, runtime.StateRunning, -1},
		{"start by name", runtime.StateCreated,
			func(rt *fake.Runtime, _ string) error { return rt.Start(ctx, "hummingbot-b0") }, nil, runtime.StateRunning, -1},
		{"start missing", "",
			func(rt *fake.Runtime, _ string) error { return rt.Start(ctx, "nope") }, runtime.ErrNotFound, "", 0},
		{"stop running", runtime.StateRunning,
			func(rt *fake.Runtime, id string) error { _, err := rt.Stop(ctx, id, time.Second); return err }, nil, runtime.StateExited, 0},
		{"stop exited is a no-op", runtime.StateExited,
			func(rt *fake.Runtime, id string) error { _, err := rt.Stop(ctx, id, time.Second); return err }, nil, runtime.StateExited, 1},
		{"stop missing", "",
			func(rt *fake.Runtime, _ string) error { _, err := rt.Stop(ctx, "nope", time.Second); return err }, runtime.ErrNotFound, "", 0},
		{"remove running", runtime.StateRunning,
			func(rt *fake.Runtime, id string) error { return rt.Remove(ctx, id) }, runtime.ErrConflict, runtime.StateRunning, -1},
		{"remove exited", runtime.StateExited,
			func(rt *fake.Runtime, id string) error { return rt.Remove(ctx, id) }, nil, "", 0},
		{"remove created", runtime.StateCreated,
			func(rt *fake.Runtime, id string) error { return rt.Remove(ctx, id) }, nil, "", 0},
		{"remove missing", "",
			func(rt *fake.Runtime, _ string) error { return rt.Remove(ctx, "nope") }, runtime.ErrNotFound, "", 0},
		{"exit with a code", runtime.StateRunning,
			func(rt *fake.Runtime, id string) error { return rt.Exit(id, 137) }, nil, runtime.StateExited, 137},
		{"deleted by hand while running", runtime.StateRunning,
			func(rt *fake.Runtime, id string) error { return rt.Delete(id) }, nil, "", 0},
		{"bad restart policy", "",
			func(rt *fake.Runtime, _ string) error {
				s := spec("f", "x")
				s.Restart = "sometimes"
				_, err := rt.Create(ctx, s)
				return err
			}, errAny, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var states []string
			if tt.state != "" {
				states = []string{tt.state}
			}
			rt, ids := world(t, states...)
			id := ""
			if len(ids) > 0 {
				id = ids[0]
			}
			err := tt.call(rt, id)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			list, lerr := rt.List(ctx, "f")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.wantState == "" {
				if len(list) != 0 {
					t.Fatalf("List = %+v, want nothing", list)
				}
				return
			}
			if len(list) != 1 || list[0].State != tt.wantState || list[0].ExitCode != tt.wantExit {
				t.Fatalf("List = %+v, want one container %s with exit code %d", list, tt.wantState, tt.wantExit)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestListFiltersByFleet(t *testing.T) {
	ctx := context.Background()
	rt, ids := world(t, runtime.StateRunning, runtime.StateCreated, runtime.StateExited)
	if _, err := rt.Create(ctx, spec("other", "o")); err != nil {
		t.Fatal(err)
	}
	rt.Seed(runtime.Container{Name: "hummingbot-bare", Image: image, State: runtime.StateRunning})
	rt.Seed(runtime.Container{Name: "hummingbot-empty", Labels: map[string]string{runtime.LabelFleet: ""}})

	list, err := rt.List(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list {
		got = append(got, c.ID)
	}
	// Newest first, like Docker.
	if want := []string{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("List(f) = %v, want %v", got, want)
	}
	c := list[2]
	if c.Name != "hummingbot-b0" || c.Bot() != "b0" || c.Hash() != "h1" || c.Image != image || !c.Running() || c.Status != "Up" || c.Created.IsZero() {
		t.Errorf("container = %+v", c)
	}
	if list[0].Status != "Exited (1)" || list[1].Status != "Created" {
		t.Errorf("statuses %q %q", list[0].Status, list[1].Status)
	}
	if other, _ := rt.List(ctx, "other"); len(other) != 1 {
		t.Errorf("List(other) = %+v", other)
	}
	if _, err := rt.List(ctx, ""); err == nil {
		t.Error("List with an empty fleet succeeded")
	}
	if rt.Len() != 6 {
		t.Errorf("Len = %d", rt.Len())
	}
}

func TestCreateKeepsSpec(t *testing.T) {
	rt := fake.New()
	rt.AddImage(image)
	s := spec("f", "a")
	s.Mounts = []runtime.Mount{{Source: "/i/conf", Target: "/home/hummingbot/conf"}}
	id, err := rt.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	s.Env[0] = "changed"
	s.Labels[runtime.LabelHash] = "changed"
	got, ok := rt.Spec(id)
	if !ok || got.Env[0] != "CONFIG_PASSWORD=pw" || got.Labels[runtime.LabelHash] != "h1" || got.Mounts[0].Target != "/home/hummingbot/conf" {
		t.Errorf("Spec = %+v: the fake must keep its own copy", got)
	}
	if c, ok := rt.Container("hummingbot-a"); !ok || c.ID != id || c.ExitCode != -1 {
		t.Errorf("Container by name = %+v, %v", c, ok)
	}
}

func TestImages(t *testing.T) {
	ctx := context.Background()
	rt := fake.New()
	rt.AddImage("nectar-testbot")
	rt.AddPullable("hummingbot/hummingbot:2.16.0")
	present := func(ref string) bool {
		ok, err := rt.ImagePresent(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !present("nectar-testbot:latest") || !present("nectar-testbot") {
		t.Error("an image without a tag is :latest")
	}
	if present("hummingbot/hummingbot:2.16.0") {
		t.Error("pullable image present before pull")
	}
	if err := rt.Pull(ctx, "hummingbot/hummingbot:2.16.0"); err != nil {
		t.Fatal(err)
	}
	if !present("hummingbot/hummingbot:2.16.0") {
		t.Error("pulled image absent")
	}
	err := rt.Pull(ctx, "localhost:5000/absent")
	if err == nil || err.Error() != "pull image localhost:5000/absent: Error response from daemon: pull access denied for localhost:5000/absent, repository does not exist or may require 'docker login'" {
		t.Errorf("Pull of an unknown image: %v", err)
	}
	rt.RemoveImage("nectar-testbot")
	if present("nectar-testbot") {
		t.Error("removed image present")
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	tests := []struct {
		name   string
		inject func(rt *fake.Runtime)
		// results of five Start calls, then of one List and one Ping
		wantStart []error
		wantList  error
		wantPing  error
	}{
		{"none", func(*fake.Runtime) {}, []error{nil, nil, nil, nil, nil}, nil, nil},
		{"next two starts", func(rt *fake.Runtime) { rt.Fail(fake.Start, 2, boom) },
			[]error{boom, boom, nil, nil, nil}, nil, nil},
		{"queued faults in turn", func(rt *fake.Runtime) {
			rt.Fail(fake.Start, 1, boom)
			rt.Fail(fake.Start, 1, runtime.ErrConflict)
		}, []error{boom, runtime.ErrConflict, nil, nil, nil}, nil, nil},
		{"every start", func(rt *fake.Runtime) { rt.Fail(fake.Start, -1, boom) },
			[]error{boom, boom, boom, boom, boom}, nil, nil},
		{"other method untouched", func(rt *fake.Runtime) { rt.Fail(fake.List, 1, boom) },
			[]error{nil, nil, nil, nil, nil}, boom, nil},
		{"engine down", func(rt *fake.Runtime) { rt.Down(nil) },
			[]error{fake.ErrDown, fake.ErrDown, fake.ErrDown, fake.ErrDown, fake.ErrDown}, fake.ErrDown, fake.ErrDown},
		{"down with an error", func(rt *fake.Runtime) { rt.Down(boom) },
			[]error{boom, boom, boom, boom, boom}, boom, boom},
		{"down then up", func(rt *fake.Runtime) { rt.Down(nil); rt.Up() },
			[]error{nil, nil, nil, nil, nil}, nil, nil},
		{"healed", func(rt *fake.Runtime) { rt.Fail(fake.Start, -1, boom); rt.Down(nil); rt.Heal() },
			[]error{nil, nil, nil, nil, nil}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, ids := world(t, runtime.StateCreated)
			tt.inject(rt)
			for i, want := range tt.wantStart {
				if err := rt.Start(ctx, ids[0]); !errors.Is(err, want) || (want == nil) != (err == nil) {
					t.Errorf("start %d: %v, want %v", i, err, want)
				}
			}
			if _, err := rt.List(ctx, "f"); !errors.Is(err, tt.wantList) || (tt.wantList == nil) != (err == nil) {
				t.Errorf("list: %v, want %v", err, tt.wantList)
			}
			if err := rt.Ping(ctx); !errors.Is(err, tt.wantPing) || (tt.wantPing == nil) != (err == nil) {
				t.Errorf("ping: %v, want %v", err, tt.wantPing)
			}
		})
	}
}

func TestFailedCallHasNoEffect(t *testing.T) {
	ctx := context.Background()
	rt, ids := world(t, runtime.StateRunning)
	rt.Fail(fake.Stop, 1, errors.New("boom"))
	rt.Fail(fake.Create, 1, errors.New("boom"))
	if _, err := rt.Stop(ctx, ids[0], time.Second); err == nil {
		t.Fatal("no fault")
	}
	if c, _ := rt.Container(ids[0]); c.State != runtime.StateRunning {
		t.Errorf("failed stop stopped the container: %s", c.State)
	}
	if _, err := rt.Create(ctx, spec("f", "new")); err == nil {
		t.Fatal("no fault")
	}
	if rt.Len() != 1 {
		t.Error("failed create made a container")
	}
	if n := len(rt.Mutations()); n != 0 {
		t.Errorf("failed calls counted as mutations: %v", rt.Mutations())
	}
}

func TestCanceledContext(t *testing.T) {
	rt, ids := world(t, runtime.StateCreated)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rt.Start(ctx, ids[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("start: %v", err)
	}
	if c, _ := rt.Container(ids[0]); c.State != runtime.StateCreated {
		t.Error("start with an ended ctx took effect")
	}
}

func TestLog(t *testing.T) {
	ctx := context.Background()
	rt, ids := world(t, runtime.StateExited)
	rt.Fail(fake.Remove, 1, errors.New("boom"))

	rt.List(ctx, "f")
	rt.ImagePresent(ctx, image)
	rt.Start(ctx, ids[0])
	rt.Stop(ctx, ids[0], 30*time.Second)
	rt.Remove(ctx, ids[0])
	rt.Remove(ctx, ids[0])
	id, _ := rt.Create(ctx, spec("f", "b0"))

	var got []string
	for _, c := range rt.Log() {
		got = append(got, c.String())
	}
	want := []string{
		"List f",
		"ImagePresent " + image,
		"Start " + ids[0],
		"Stop " + ids[0] + " 30s",
		"Remove " + ids[0] + ": boom",
		"Remove " + ids[0],
		"Create hummingbot-b0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("log:\n%v\nwant\n%v", got, want)
	}
	var muts []fake.Method
	for _, c := range rt.Mutations() {
		muts = append(muts, c.Method)
	}
	if want := []fake.Method{fake.Start, fake.Stop, fake.Remove, fake.Create}; !slices.Equal(muts, want) {
		t.Errorf("mutations %v, want %v", muts, want)
	}
	if rt.Count(fake.Remove) != 2 || rt.Count(fake.Pull) != 0 {
		t.Errorf("counts: remove %d pull %d", rt.Count(fake.Remove), rt.Count(fake.Pull))
	}
	if id == "" || id == ids[0] {
		t.Errorf("new container id %q", id)
	}
	rt.ResetLog()
	if len(rt.Log()) != 0 {
		t.Error("log not reset")
	}
}

// next reads one event or fails after a while.
func next(t *testing.T, evs <-chan runtime.Event) runtime.Event {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	panic("unreachable")
}

func TestEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := fake.New()
	rt.AddImage(image)
	evs, errs := rt.Events(ctx, "f")

	other, _ := rt.Create(ctx, spec("other", "o"))
	rt.Start(ctx, other)
	id, _ := rt.Create(ctx, spec("f", "a"))
	rt.Start(ctx, id)
	rt.Exit(id, 1)
	rt.Start(ctx, id)
	rt.Stop(ctx, id, time.Second)
	rt.Remove(ctx, id)
	id2, _ := rt.Create(ctx, spec("f", "b"))
	rt.Start(ctx, id2)
	rt.Delete(id2)

	type ev struct{ id, bot, action string }
	want := []ev{
		{id, "a", "create"}, {id, "a", "start"}, {id, "a", "die"}, {id, "a", "start"},
		{id, "a", "kill"}, {id, "a", "die"}, {id, "a", "stop"}, {id, "a", "destroy"},
		{id2, "b", "create"}, {id2, "b", "start"}, {id2, "b", "kill"}, {id2, "b", "die"}, {id2, "b", "destroy"},
	}
	for i, w := range want {
		e := next(t, evs)
		if (ev{e.ContainerID, e.Bot, e.Action}) != w || e.Time.IsZero() {
			t.Fatalf("event %d = %+v, want %+v", i, e, w)
		}
	}

	rt.Down(nil)
	select {
	case err := <-errs:
		if !errors.Is(err, fake.ErrDown) {
			t.Errorf("stream error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error when the engine went down")
	}
	if _, ok := <-evs; ok {
		t.Error("event channel open after the stream broke")
	}

	// While down, a new stream fails at once.
	evs, errs = rt.Events(ctx, "f")
	if err := <-errs; !errors.Is(err, fake.ErrDown) {
		t.Errorf("Events while down: %v", err)
	}
	if _, ok := <-evs; ok {
		t.Error("event channel open")
	}
}

func TestEventsEnd(t *testing.T) {
	rt := fake.New()
	rt.AddImage(image)
	ctx, cancel := context.WithCancel(context.Background())
	evs, errs := rt.Events(ctx, "f")
	rt.Create(ctx, spec("f", "a"))
	next(t, evs)
	cancel()
	for range evs {
	}
	select {
	case err := <-errs:
		t.Errorf("error after ctx ended: %v", err)
	default:
	}

	// A broken stream delivers what was queued before the error.
	evs, errs = rt.Events(context.Background(), "f")
	rt.Start(context.Background(), "hummingbot-a")
	boom := errors.New("dockerd restarted")
	rt.BreakEvents(boom)
	if e := next(t, evs); e.Action != "start" {
		t.Errorf("event %+v", e)
	}
	if err := <-errs; err != boom {
		t.Errorf("error %v", err)
	}
	if _, ok := <-evs; ok {
		t.Error("event channel open")
	}
	if err := rt.Ping(context.Background()); err != nil {
		t.Errorf("engine down after BreakEvents: %v", err)
	}
}

// A reader that never reads must not block the engine.
func TestSlowReaderDoesNotBlock(t *testing.T) {
	ctx := t.Context()
	rt := fake.New()
	rt.AddImage(image)
	rt.Events(ctx, "f")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 500 {
			id, _ := rt.Create(ctx, spec("f", fmt.Sprint(i)))
			rt.Start(ctx, id)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the fake blocked on an unread event stream")
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := t.Context()
	rt := fake.New()
	rt.AddImage(image)
	evs, _ := rt.Events(ctx, "f")
	go func() {
		for range evs {
		}
	}()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := spec("f", fmt.Sprint(w, "-", i))
				id, err := rt.Create(ctx, s)
				if err != nil {
					t.Error(err)
					return
				}
				rt.Start(ctx, id)
				rt.List(ctx, "f")
				rt.Stop(ctx, id, 0)
				if i%2 == 0 {
					rt.Remove(ctx, id)
				}
			}
		})
	}
	wg.Wait()
	list, _ := rt.List(ctx, "f")
	if len(list) != 200 {
		t.Errorf("%d containers left, want 200", len(list))
	}
}

// BenchmarkList lists a fleet of 1,000 running containers among others.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint("containers=", n), func(b *testing.B) {
			ctx := context.Background()
			rt := fake.New()
			rt.AddImage(image)
			for i := range n {
				for _, fleet := range []string{"f", "other"} {
					id, err := rt.Create(ctx, spec(fleet, fmt.Sprint(fleet, i)))
					if err != nil {
						b.Fatal(err)
					}
					rt.Start(ctx, id)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				list, err := rt.List(ctx, "f")
				if err != nil || len(list) != n {
					b.Fatal(len(list), err)
				}
			}
		})
	}
}
