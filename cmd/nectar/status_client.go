package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
	"github.com/nectarhq/nectar/internal/status"
)

// maxStatusBody caps what fetchStatus reads; a fleet of a hundred bots answers
// in well under a megabyte.
const maxStatusBody = 16 << 20

var statusClient = &http.Client{Timeout: 30 * time.Second}

// fetchStatus asks a running daemon at baseURL (e.g. "http://127.0.0.1:8090")
// for its status. token may be empty.
func fetchStatus(ctx context.Context, baseURL, token string) (status.Status, error) {
	shown := status.Redact(baseURL)
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return status.Status{}, hint.New(fmt.Sprintf("status address %q is not an http:// or https:// URL", shown),
			"give the daemon's address as http://HOST:PORT, e.g. http://127.0.0.1:8090")
	}
	u = u.JoinPath("api", "v1", "status")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return status.Status{}, fmt.Errorf("cannot ask the daemon at %s: %w", shown, err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return status.Status{}, hint.Wrap(fmt.Errorf("cannot ask the daemon at %s: %s", shown, status.Redact(err.Error())),
			"is `nectar run` running there? it serves its status on 127.0.0.1:8090 unless told otherwise with --listen; give status the same --listen")
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxStatusBody)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return status.Status{}, hint.New(fmt.Sprintf("the daemon at %s wants a token, and %s", shown, tokenState(token)),
			"pass the token the daemon was started with")
	default:
		return status.Status{}, fmt.Errorf("the daemon at %s answered %s%s", shown, resp.Status, errorBody(body))
	}
	var st status.Status
	if err := json.NewDecoder(body).Decode(&st); err != nil {
		return status.Status{}, fmt.Errorf("cannot read the status from %s: %w", shown, err)
	}
	return st, nil
}

func tokenState(token string) string {
	if token == "" {
		return "none was given"
	}
	return "the one given is not it"
}

// errorBody returns ": <message>" from a JSON or text error body.
func errorBody(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, 4<<10))
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if msg == "" {
		return ""
	}
	return ": " + firstLine(msg)
}

// writeStatus writes s as a short report and a table of bots, for `nectar
// status`. Times are relative to when the daemon made the snapshot.
// RESTARTS are the engine's own (its restart policy), STARTS nectar's in
// the last 10 minutes.
func writeStatus(w io.Writer, s status.Status) error {
	now := s.GeneratedAt
	ew := &errWriter{w: w}
	ew.printf("fleet %s   source %s\n", dashASCII(s.Fleet), dashASCII(s.Source))
	if s.Applied.Revision != "" {
		ew.printf("applied    %s (%s)\n", s.Applied.Revision, status.Ago(now, s.Applied.At))
	} else {
		ew.printf("applied    nothing yet\n")
	}
	if s.Attempted.Revision != s.Applied.Revision {
		why := ""
		switch {
		case !s.SourceOK:
			why = ": it does not load"
		case !s.Engine.Reachable:
			why = ": Docker did not answer"
		}
		ew.printf("attempted  %s, not applied%s\n", dashASCII(s.Attempted.Revision), why)
	}
	if p := s.LastPass; p != nil {
		ew.printf("last pass  %s %s, took %s, %d action(s), %d failed\n", p.Result, status.Ago(now, p.Started), status.FormatMillis(p.DurationMS), p.Actions, p.Errors)
	}
	switch {
	case s.Engine.Reachable:
		ew.printf("docker     reachable\n")
	case s.Engine.CheckedAt.IsZero():
		ew.printf("docker     not asked yet\n")
	default:
		ew.printf("docker     UNREACHABLE: %s\n", s.Engine.Error)
	}
	if s.SourceError != "" {
		ew.printf("source     ERROR: %s\n", s.SourceError)
	}
	ew.printf("\n")

	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BOT\tCONDITION\tDESIRED\tACTUAL\tHEALTH\tTRADING\tUPTIME\tRESTARTS\tSTARTS\tLAST ACTION")
	for _, b := range s.Bots {
		desired := b.Desired
		if b.Held {
			desired += " (held)"
		}
		if s := b.Suspended; s != nil {
			desired += " (suspended by " + s.By + " " + status.Ago(now, s.At) + ")"
		}
		last := "-"
		if a := b.LastAction; a != nil {
			kind := a.Kind
			if a.Error != "" {
				kind += " FAILED"
			}
			last = fmt.Sprintf("%s: %s (%s)", kind, shorten(a.Reason, 60), status.Ago(now, a.At))
		}
		trading := "-"
		if h := b.BotHealth; h != nil {
			trading = h.State
			if h.Errors > 0 {
				trading += fmt.Sprintf(" (%d errors)", h.Errors)
			}
		}
		actual := b.Actual
		if t := b.Task; t != nil && t.Node != "" {
			// On Swarm: where it runs, and whether that node is up.
			actual += " on " + t.Node
			if t.NodeState != "" && t.NodeState != "ready" {
				actual += " (node " + t.NodeState + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", b.Name, b.Condition, desired, actual,
			dashASCII(b.Health), trading, dashASCII(b.Uptime), b.Restarts, b.NectarStarts, last)
	}
	if len(s.Bots) == 0 {
		fmt.Fprintln(tw, "(no bots)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var failing []status.BotStatus
	for _, b := range s.Bots {
		if b.LastError != "" {
			failing = append(failing, b)
		}
	}
	if len(failing) > 0 {
		ew.printf("\nerrors:\n")
		for _, b := range failing {
			ew.printf("  %s: %s\n", b.Name, firstLine(b.LastError))
			if b.LastErrorHint != "" {
				ew.printf("    hint: %s\n", b.LastErrorHint)
			}
			if !b.NextAttempt.IsZero() {
				ew.printf("    next attempt: %s\n", status.Ago(now, b.NextAttempt))
			}
		}
	}
	var killed []status.BotStatus
	for _, b := range s.Bots {
		if b.Killed != nil {
			killed = append(killed, b)
		}
	}
	if len(killed) > 0 {
		ew.printf("\nkilled (open orders may remain):\n")
		for _, b := range killed {
			ew.printf("  %s: %s (%s)\n", b.Name, b.Killed.Warning, status.Ago(now, b.Killed.At))
		}
	}
	if len(s.Problems) > 0 {
		ew.printf("\nproblems in the source:\n")
		for _, p := range s.Problems {
			ew.printf("  %s: %s\n", p.Position, p.Message)
			if p.Hint != "" {
				ew.printf("    hint: %s\n", p.Hint)
			}
		}
	}
	return ew.err
}

// errWriter keeps the first write error, so writeStatus reads as a list of
// lines rather than a list of checks.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}

func dashASCII(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shorten(s string, n int) string {
	s = firstLine(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
