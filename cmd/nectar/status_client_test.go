package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
	"github.com/nectarhq/nectar/internal/web"
)

func TestFetchStatus(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	srv := httptest.NewServer(web.NewHandler(s, web.HandlerOptions{Token: "fetch-token"}))
	defer srv.Close()
	ctx := context.Background()

	got, err := fetchStatus(ctx, srv.URL, "fetch-token")
	if err != nil {
		t.Fatal(err)
	}
	want := s.View()
	got.GeneratedAt = want.GeneratedAt // read at different moments
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fetchStatus differs from the Store's view:\n got  %+v\n want %+v", got, want)
	}
	if _, err := fetchStatus(ctx, srv.URL+"/", "fetch-token"); err != nil {
		t.Errorf("a trailing slash: %v", err)
	}

	_, err = fetchStatus(ctx, srv.URL, "")
	if err == nil || !strings.Contains(err.Error(), "wants a token, and none was given") || len(hint.Of(err)) == 0 {
		t.Errorf("without the token: %v (hints %q)", err, hint.Of(err))
	}
	if _, err := fetchStatus(ctx, srv.URL, "wrong"); err == nil || !strings.Contains(err.Error(), "the one given is not it") {
		t.Errorf("with a wrong token: %v", err)
	}
	if _, err := fetchStatus(ctx, "127.0.0.1:8090", ""); err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
		t.Errorf("an address without a scheme: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	if _, err := fetchStatus(ctx, "http://user:secretpw@"+strings.TrimPrefix(down.URL, "http://"), ""); err == nil ||
		strings.Contains(err.Error(), "secretpw") || len(hint.Of(err)) == 0 {
		t.Errorf("a daemon that is not there: %v", err)
	}
}

func TestWriteStatusEmpty(t *testing.T) {
	var b strings.Builder
	if err := writeStatus(&b, status.NewStore(status.StoreOptions{}).View()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"applied    nothing yet", "docker     not asked yet", "(no bots)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the empty status lacks %q:\n%s", want, b.String())
		}
	}
}

// `nectar status` prints the snapshot the API serves.
func TestWriteStatusGolden(t *testing.T) {
	s, _ := statustest.NewStore(t, -1)
	var buf bytes.Buffer
	if err := writeStatus(&buf, s.View()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "status", "status.txt")
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/nectar -run TestWriteStatusGolden -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from what nectar status prints now (if the change is meant, run go test ./cmd/nectar -run TestWriteStatusGolden -update and review the diff)\n--- want\n%s--- got\n%s", file, want, buf.Bytes())
	}
}

// A failed action is listed with its whole first line, its hint and when
// it is tried next, and the bot's last action says it failed.
func TestWriteStatusFailedBot(t *testing.T) {
	const msg = "image registry.example.com/hummingbot/hummingbot:2.16.0 is not present and pulling it failed\nsecond line"
	const why = "build or load the image on this Docker host, or fix image: in the bot file or nectar.yaml"
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Now: clk.Now, Resync: time.Minute})
	res := statustest.OnePass(statustest.RevA, statustest.T0, statustest.Outcome(plan.Create, "no container yet", nil, hint.Wrap(errors.New(msg), why)))
	res.Duration = 3 * time.Second
	s.RecordPass(res, reconcile.Source{}, nil)
	clk.Set(statustest.T0.Add(10 * time.Second))

	var out bytes.Buffer
	if err := writeStatus(&out, s.View()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{status.ConditionFailed, "solo: image registry.example.com", "hint: " + why, "next attempt: 53s from now", "create FAILED: no container yet"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("nectar status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "second line") {
		t.Errorf("nectar status shows more than the error's first line:\n%s", out.String())
	}
}

// At every step of the story, what `nectar status` prints holds no secret.
func TestWriteStatusNoSecret(t *testing.T) {
	bad := statustest.Secrets(t)
	steps := statustest.Story(t)
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Source: statustest.SourceURL, Files: statustest.RenderedFiles, Now: clk.Now})
	for i := range steps {
		statustest.Play(t, s, clk, steps[i:i+1], 1)
		var text bytes.Buffer
		if err := writeStatus(&text, s.View()); err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			if bytes.Contains(text.Bytes(), []byte(b.Value)) {
				t.Errorf("%s: nectar status prints %s", steps[i].Name, b.What)
			}
		}
	}
}

func Example_writeStatus() {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s := status.Status{
		Fleet:       "prod",
		Source:      "/srv/fleet",
		GeneratedAt: at.Add(90 * time.Second),
		Applied:     status.Revision{Revision: "sha256:0123456789ab", At: at},
		Attempted:   status.Revision{Revision: "sha256:0123456789ab", At: at},
		SourceOK:    true,
		Engine:      status.Engine{Reachable: true, CheckedAt: at},
		LastPass:    &status.Pass{Started: at, DurationMS: 31.5, Result: status.ResultOK},
		Bots: []status.BotStatus{{
			Name: "pmm-btc", Condition: status.ConditionReady, Desired: "running", Actual: "running",
			Health: status.HealthHealthy, Uptime: "3h 0m", Restarts: 0, NectarStarts: 1,
			LastAction: &status.Action{Kind: "create", Reason: "no container yet", At: at.Add(-3 * time.Hour)},
		}},
	}
	if err := writeStatus(os.Stdout, s); err != nil {
		panic(err)
	}
	// Output:
	// fleet prod   source /srv/fleet
	// applied    sha256:0123456789ab (1m ago)
	// last pass  ok 1m ago, took 32 ms, 0 action(s), 0 failed
	// docker     reachable
	//
	// BOT      CONDITION  DESIRED  ACTUAL   HEALTH   TRADING  UPTIME  RESTARTS  STARTS  LAST ACTION
	// pmm-btc  ready      running  running  healthy  -        3h 0m   0         1       create: no container yet (3h ago)
}
