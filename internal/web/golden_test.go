package web

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nectarhq/nectar/internal/status/statustest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the handler serves now")

// get serves one GET request, addressed to this machine as a browser on
// it would address it.
func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, localRequest(http.MethodGet, target))
	return rec
}

// localRequest is httptest.NewRequest with the Host a local browser sends
// (httptest's own, example.com, is one the handler refuses without a token).
func localRequest(method, target string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:8090"
	return req
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/web -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what is served now (if the change is meant, run go test ./internal/web -update and review the diff)\n%s",
			file, firstDifference(want, got))
	}
}

// firstDifference shows the first differing line of two texts.
func firstDifference(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + string(w) + "\n  got:  " + string(g)
		}
	}
	return "(same lines, different bytes)"
}

// The pages and the API at the end of the fixture's story, and with Docker
// away in the middle of it.
func TestGolden(t *testing.T) {
	stages := []struct {
		name  string
		steps int
		pages map[string]string // path → golden file
	}{
		{"end of the story", -1, map[string]string{
			"/api/v1/status":                 "status.json",
			"/api/v1/bots/twap-eth":          "bot-twap-eth.json",
			"/api/v1/bots/pmm-btc":           "bot-pmm-btc.json",
			"/api/v1/bots/grid-doge":         "bot-grid-doge.json",
			"/api/v1/bots/old-arb":           "bot-old-arb.json",
			"/":                              "overview.html",
			"/bots/twap-eth":                 "bot-twap-eth.html",
			"/bots/grid-doge":                "bot-grid-doge.html",
			"/accounts":                      "accounts.html",
			"/files":                         "files.html",
			"/files/scripts/quote_logger.py": "file-quote_logger.html",
		}},
		{"Docker unreachable", 4, map[string]string{
			"/api/v1/status": "status-engine-down.json",
			"/":              "overview-engine-down.html",
		}},
	}
	for _, stage := range stages {
		t.Run(stage.name, func(t *testing.T) {
			s, _ := statustest.NewStore(t, stage.steps)
			h := NewHandler(s, HandlerOptions{Version: "v0.0.0-test"})
			for path, file := range stage.pages {
				t.Run(path, func(t *testing.T) {
					rec := get(t, h, path)
					if rec.Code != http.StatusOK {
						t.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body)
					}
					checkGolden(t, file, rec.Body.Bytes())
				})
			}
		})
	}
}
