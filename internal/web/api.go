package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// apiStatus serves the fleet's snapshot (see API.md).
func (h *handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	snap := h.store.Snapshot()
	h.serveJSON(w, r, snap, func() any {
		st := *snap.Status()
		st.GeneratedAt = h.now()
		st.Bots = withUptimes(st.GeneratedAt, st.Bots)
		return st
	})
}

// apiBot serves one bot with its history and rendered files.
func (h *handler) apiBot(w http.ResponseWriter, r *http.Request, name string) {
	snap := h.store.Snapshot()
	b, ok := snap.Bot(name)
	if !ok {
		jsonError(w, http.StatusNotFound, "no bot named "+strconv.Quote(name)+" in the fleet")
		return
	}
	h.serveJSON(w, r, snap, func() any {
		out := *b
		out.Uptime = out.UptimeAt(h.now())
		return out
	})
}

// serveJSON encodes the value whole before writing, so a failure is a
// clean 500 rather than half a document, and caches it like a page.
func (h *handler) serveJSON(w http.ResponseWriter, r *http.Request, snap *status.Snapshot, value func() any) {
	const ctype = "application/json"
	now := h.now()
	key := "json " + r.URL.Path
	body, err := h.cache.get(snap.Version(), now, key, func() ([]byte, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(value()); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	})
	if err != nil {
		h.log.Error("cannot encode the status as JSON", "error", err)
		jsonError(w, http.StatusInternalServerError, "cannot encode the status; see the daemon's log")
		return
	}
	writeBody(w, http.StatusOK, ctype, body)
}

// withUptimes returns bots with each Uptime worked out as of now, in a
// new slice: the snapshot's own is shared.
func withUptimes(now time.Time, bots []status.BotStatus) []status.BotStatus {
	out := slices.Clone(bots)
	for i := range out {
		out[i].Uptime = out[i].UptimeAt(now)
	}
	return out
}

// jsonError writes {"error": msg}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	writeBody(w, code, "application/json", append(body, '\n'))
}
