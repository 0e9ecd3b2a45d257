package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// On Swarm the page and the API say where each bot runs, how its task
// does, and that its node is down.
func TestSwarmTaskShown(t *testing.T) {
	s := status.NewStore(status.StoreOptions{})
	c := statustest.ContainerOf("solo", "hb:1", runtime.StateRestarting, "pending on node x", -1)
	c.Task = &runtime.Task{Node: "worker-2", NodeState: "down", State: "pending", Err: "no suitable node (scheduling constraints not satisfied on 3 nodes)"}
	s.RecordPass(statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.Stalled, "node worker-2 is down", c, nil)), reconcile.Source{}, nil)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{}))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var api struct {
		Bots []struct {
			Name string       `json:"name"`
			Task *status.Task `json:"task"`
		} `json:"bots"`
	}
	if err := json.Unmarshal([]byte(get("/api/v1/status")), &api); err != nil {
		t.Fatal(err)
	}
	if len(api.Bots) != 1 || api.Bots[0].Task == nil || *api.Bots[0].Task != (status.Task{Node: "worker-2", NodeState: "down", State: "pending", Error: c.Task.Err}) {
		t.Fatalf("API bots: %+v", api.Bots)
	}
	page := get("/bots/solo")
	for _, want := range []string{`id="bot-task" class="attention"`, "worker-2", "(node down)", "no suitable node"} {
		if !strings.Contains(page, want) {
			t.Errorf("bot page lacks %q", want)
		}
	}
	if overview := get("/"); !strings.Contains(overview, "on worker-2 (down)") {
		t.Error("the overview does not say the bot's node is down")
	}

	// A single engine's bot has no task, and the page says nothing of one.
	s.RecordPass(statustest.OnePass(statustest.RevB, statustest.T0, statustest.Outcome(plan.None, "running, up to date", statustest.ContainerOf("solo", "hb:1", runtime.StateRunning, "Up 1 minute", -1), nil)), reconcile.Source{}, nil)
	if page := get("/bots/solo"); strings.Contains(page, "bot-task") {
		t.Error("a bot without a task shows one")
	}
	if strings.Contains(get("/api/v1/status"), `"task"`) {
		t.Error("the API shows a task for a bot without one")
	}
}
