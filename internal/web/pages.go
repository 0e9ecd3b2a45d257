package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// pageData is what every page template receives.
type pageData struct {
	Title string
	// Nav names the navigation entry to mark as the current page.
	Nav string
	// Version is nectar's; Snapshot the Store's, which the script compares
	// with each event's to skip refreshes it does not need.
	Version  string
	Snapshot uint64
	Now      time.Time
	Status   *status.Status
	Bot      *status.BotStatus
	Files    *status.SharedFiles
	File     *status.SharedFile
	// Missing is the path a 404 page could not find.
	Missing string
	// Rows are the overview's rows of bots, rendered already (rowCache).
	Rows []template.HTML
	// Log is the end of the bot's log, for the bot page; nil when none.
	Log *LogTail
	// cacheTag tells apart answers of one path, snapshot and second that
	// differ all the same (a log that grew).
	cacheTag string
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, h.store.Snapshot(), http.StatusOK, "overview", overviewData)
}

var overviewData = pageData{Title: "Overview", Nav: "overview"}

// overviewKey is the overview's cache key, the one page gives "/".
const overviewKey = "html /"

func (h *handler) bot(w http.ResponseWriter, r *http.Request, name string) {
	snap := h.store.Snapshot()
	b, ok := snap.Bot(name)
	if !ok {
		h.notFound(w, r)
		return
	}
	data := pageData{Title: "Bot " + name, Nav: "overview", Bot: b}
	if tail, ok := h.opts.Logs.Tail(name); ok {
		data.Log = &tail
		sum := sha256.Sum256([]byte(tail.File + "\x00" + tail.Modified.String() + "\x00" + strings.Join(tail.Lines, "\n")))
		data.cacheTag = " log " + hex.EncodeToString(sum[:8])
	}
	h.page(w, r, snap, http.StatusOK, "bot", data)
}

func (h *handler) accounts(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, h.store.Snapshot(), http.StatusOK, "accounts", pageData{Title: "Accounts", Nav: "accounts"})
}

func (h *handler) fileList(w http.ResponseWriter, r *http.Request) {
	snap := h.store.Snapshot()
	h.page(w, r, snap, http.StatusOK, "files", pageData{Title: "Files", Nav: "files", Files: snap.Files()})
}

// file shows one shared file of the applied revision. Only the in-memory
// copy is consulted, so no path can reach anything else.
func (h *handler) file(w http.ResponseWriter, r *http.Request) {
	snap := h.store.Snapshot()
	p, ok := sharedPathOf(r.URL)
	if !ok {
		h.notFound(w, r)
		return
	}
	f, ok := snap.Files().Lookup(p)
	if !ok || f.Secret {
		h.notFound(w, r)
		return
	}
	h.page(w, r, snap, http.StatusOK, "file", pageData{Title: p, Nav: "files", Files: snap.Files(), File: &f})
}

// sharedPathOf returns the shared file a /files/ URL names. Each segment
// of the escaped path is decoded on its own, so a "%2F" that is part of a
// file's name (sent as %252F) or that a client sent for a slash never adds
// a folder level: a name cannot hold a slash, so such a segment names
// nothing, and neither does one that decodes to "", "." or "..".
func sharedPathOf(u *url.URL) (string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/files/")
	if !ok {
		return "", false
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		name, err := url.PathUnescape(seg)
		if err != nil || name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			return "", false
		}
		segs[i] = name
	}
	return strings.Join(segs, "/"), true
}

// fileHref is the link to a shared file's page: "/files/" and the path
// with each segment escaped, so "?", "#", "%", spaces and the like in a
// name reach sharedPathOf as they are.
func fileHref(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return "/files/" + strings.Join(segs, "/")
}

// page renders a page of snap whole before writing, so a template failure
// is a clean 500 rather than half a page.
func (h *handler) page(w http.ResponseWriter, r *http.Request, snap *status.Snapshot, code int, name string, data pageData) {
	body, err := h.pageBody(snap, code, "html "+r.URL.Path+data.cacheTag, name, data)
	if err != nil {
		h.log.Error("cannot render the status page", "page", name, "error", err)
		plainError(w, http.StatusInternalServerError, "cannot render this page; see the daemon's log")
		return
	}
	writeBody(w, code, "text/html; charset=utf-8", body)
}

// pageBody renders a page of snap. Successful pages are cached under key
// for the snapshot and the second.
func (h *handler) pageBody(snap *status.Snapshot, code int, key, name string, data pageData) ([]byte, error) {
	now := h.now()
	data.Version = h.opts.Version
	data.Snapshot = snap.Version()
	data.Now = now
	data.Status = snap.Status()
	render := func() ([]byte, error) {
		if name == "overview" {
			rows, err := h.rows.render(now, data.Status.Bots)
			if err != nil {
				return nil, err
			}
			data.Rows = rows
		}
		buf := bytes.NewBuffer(make([]byte, 0, h.cache.sizeHint(key)+512))
		if err := pages[name].ExecuteTemplate(buf, "layout.html", data); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	if code != http.StatusOK {
		return render()
	}
	return h.cache.get(snap.Version(), now, key, render)
}

// now is the handler's clock at the pages' finest unit, the second, so
// answers made within one second are the same bytes.
func (h *handler) now() time.Time {
	return h.store.Now().Truncate(time.Second)
}

func writeBody(w http.ResponseWriter, code int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
