package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// apiStatus serves the fleet's snapshot (see API.md).
func (h *handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	h.serveJSON(w, r, h.store.Snapshot(), apiStatusValue)
}

// apiStatusKey is /api/v1/status's cache key, the one serveJSON gives it.
const apiStatusKey = "json /api/v1/status"

// apiStatusValue is the document /api/v1/status serves of snap at now.
func apiStatusValue(snap *status.Snapshot, now time.Time) any {
	st := *snap.Status()
	st.GeneratedAt = now
	st.Bots = withUptimes(now, st.Bots)
	return st
}

// apiBot serves one bot with its history and rendered files.
func (h *handler) apiBot(w http.ResponseWriter, r *http.Request, name string) {
	snap := h.store.Snapshot()
	b, ok := snap.Bot(name)
	if !ok {
		jsonError(w, http.StatusNotFound, "no bot named "+strconv.Quote(name)+" in the fleet")
		return
	}
	h.serveJSON(w, r, snap, func(_ *status.Snapshot, now time.Time) any {
		out := *b
		out.Uptime = out.UptimeAt(now)
		return out
	})
}

// serveJSON encodes the value whole before writing, so a failure is a
// clean 500 rather than half a document.
func (h *handler) serveJSON(w http.ResponseWriter, r *http.Request, snap *status.Snapshot, value func(*status.Snapshot, time.Time) any) {
	body, err := h.jsonBody(snap, "json "+r.URL.Path, value)
	if err != nil {
		h.log.Error("cannot encode the status as JSON", "error", err)
		jsonError(w, http.StatusInternalServerError, "cannot encode the status; see the daemon's log")
		return
	}
	writeBody(w, http.StatusOK, "application/json", body)
}

// jsonBody encodes value's document of snap, cached under key like a page.
func (h *handler) jsonBody(snap *status.Snapshot, key string, value func(*status.Snapshot, time.Time) any) ([]byte, error) {
	now := h.now()
	return h.cache.get(snap.Version(), now, key, func() ([]byte, error) {
		e := encoders.Get().(*indentedEncoder)
		defer encoders.Put(e)
		e.buf.Reset()
		if err := e.enc.Encode(value(snap, now)); err != nil {
			return nil, err
		}
		return bytes.Clone(e.buf.Bytes()), nil
	})
}

// indentedEncoder is a JSON encoder with its buffer. The encoder keeps its
// indentation buffer between uses, so a pooled one encodes a document the
// size of the status without growing two buffers from nothing each time.
type indentedEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &indentedEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetIndent("", "  ")
	return e
}}

// jsonError writes {"error": msg}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	writeBody(w, code, "application/json", append(body, '\n'))
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
