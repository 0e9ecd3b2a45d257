package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/status/statustest"
)

// FuzzFilesPath asks /files for arbitrary paths: the only 200s are the
// shared files themselves, and nothing from accounts/ ever comes back.
func FuzzFilesPath(f *testing.F) {
	s, _ := statustest.NewStore(f, -1)
	h := NewHandler(s, HandlerOptions{})
	known := map[string]bool{}
	for _, file := range s.Snapshot().Files().Files {
		known["/files/"+file.Path] = true
	}
	for _, p := range []string{"scripts/quote_logger.py", "../accounts/master_account/password.age", "%2e%2e/accounts", "conf/scripts/conf_pmm_btc.yml", "scripts/../scripts/quote_logger.py"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:8090/files/"+p, nil)
		if err != nil {
			return // not a URL at all
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && !known[req.URL.Path] {
			t.Errorf("GET /files/%s (path %q) answered 200", p, req.URL.Path)
		}
		if strings.Contains(rec.Body.String(), "AGE ENCRYPTED") {
			t.Errorf("GET /files/%s served an encrypted file", p)
		}
	})
}
