package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// assets holds the page's templates, stylesheet and script. Everything
// the page needs is in the binary: no CDN, nothing fetched at run time.
//
//go:embed assets
var assets embed.FS

// pageNames are the templates under assets/, each filling the layout.
var pageNames = []string{"overview", "bot", "accounts", "files", "file", "notfound"}

// pages are parsed once, at start: a broken template fails every test.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "assets/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		out[name] = template.Must(t.ParseFS(assets, "assets/"+name+".html"))
	}
	return out
}

var templateFuncs = template.FuncMap{
	"ago":         status.Ago,
	"stamp":       stamp,
	"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ms":          status.FormatMillis,
	"shortID":     func(id string) string { return id[:min(12, len(id))] },
	"shortRev":    shortRevision,
	"join":        func(s []string) string { return strings.Join(s, ", ") },
	"size":        formatSize,
	"dash":        dash,
	"healthClass": status.HealthLabel,
	"counts":      conditionCounts,
	"uptime":      func(now time.Time, b status.BotStatus) string { return b.UptimeAt(now) },
	"summary":     func(s string) string { return errorSummary(s, overviewErrorLength) },
	"fileHref":    fileHref,
}

// overviewErrorLength is about how many characters of an error the
// overview shows: the start of its first line, cut between words. The
// bot's page has the whole text.
const overviewErrorLength = 52

// errorSummary is the first line of an error, whitespace folded, cut at a
// word boundary to about n characters: a table cell's worth, never a
// word cut in half.
func errorSummary(s string, n int) string {
	first, _, _ := strings.Cut(s, "\n")
	s = strings.Join(strings.Fields(first), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	} else if j := strings.IndexByte(string(r[n:]), ' '); j >= 0 && n+len([]rune(string(r[n:])[:j])) <= n+n/2 {
		// A long word (an image reference, a URL) straddles the limit:
		// keep it whole rather than show half of it.
		cut = string(r[:n]) + string(r[n:])[:j]
	}
	return strings.TrimRight(cut, " ,;:-") + " …"
}

// conditionCount is one entry of the overview's "bots by condition" line.
type conditionCount struct {
	Condition string
	Bots      int
}

// conditionCounts lists the conditions some bot is in, healthiest first.
func conditionCounts(m map[string]int) []conditionCount {
	var out []conditionCount
	for _, c := range status.Conditions() {
		if m[c] > 0 {
			out = append(out, conditionCount{c, m[c]})
		}
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// shortRevision keeps a revision's ref and the first 12 hex digits of its
// digest ("main@sha1:0123456789ab"); the page shows the whole one on hover.
func shortRevision(rev string) string {
	i := strings.LastIndexByte(rev, ':')
	if i < 0 || len(rev)-i-1 <= 12 {
		return rev
	}
	return rev[:i+1+12]
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// dash stands in for an empty value, so an empty cell reads as "nothing"
// rather than as a rendering fault.
func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// serveAsset serves the stylesheet and the script.
func serveAsset(w http.ResponseWriter, name string) {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	ctype, ok := types[path.Ext(name)]
	if !ok {
		plainError(w, http.StatusNotFound, "not found")
		return
	}
	data, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		plainError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
