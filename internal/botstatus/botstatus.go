// Package botstatus reads what a Hummingbot bot says of itself: the status
// snapshot its engine writes to data/bot/status.json (at start, on SIGUSR1
// and when it shuts down) and the errors in its own log. From those it
// tells whether the bot trades, which Docker's "Up 3 hours" cannot: a bot
// whose strategy stopped, whose exchange never connected, or that logs
// errors is up and still not doing its job.
package botstatus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SnapshotFile is where the engine writes its snapshot, relative to the
// instance folder.
const SnapshotFile = "data/bot/status.json"

// The states a bot's health takes.
const (
	Trading      = "trading"
	NotTrading   = "not trading"
	Erroring     = "erroring"
	Unresponsive = "unresponsive"
	// Unknown: nectar cannot read what the bot wrote (its files belong to
	// the container's user), so it cannot say.
	Unknown = "unknown"
)

// Limits on what is read of a bot's files: they are the bot's, and a bot
// may be broken in any way.
const (
	maxSnapshot = 1 << 20
	// The log is read from its end, as Hummingbot's own `hbot status`
	// reads it: errors among the last logWindow lines count.
	logWindow   = 600
	maxLogTail  = 512 << 10
	pollEvery   = 100 * time.Millisecond
	DefaultWait = 5 * time.Second
)

// Snapshot is the part of status.json nectar reads.
type Snapshot struct {
	Name    string  `json:"name"`
	PID     int     `json:"pid"`
	Running bool    `json:"running"`
	Updated float64 `json:"updated_at"` // Unix seconds
	Engine  *Engine `json:"engine"`
}

// Engine is the snapshot's account of the trading engine.
type Engine struct {
	ClockRunning    bool                 `json:"clock_running"`
	StrategyRunning bool                 `json:"strategy_running"`
	Connectors      map[string]Connector `json:"connectors"`
}

// Connector is one exchange connection of the engine.
type Connector struct {
	Ready       bool `json:"ready"`
	OrdersCount int  `json:"orders_count"`
}

// UpdatedAt is when the engine wrote the snapshot.
func (s Snapshot) UpdatedAt() time.Time {
	sec := int64(s.Updated)
	return time.Unix(sec, int64((s.Updated-float64(sec))*1e9)).UTC()
}

// Health is what nectar makes of a bot's own account.
type Health struct {
	State string
	// Reason says why, in a few words a person can act on.
	Reason string
	// Errors counts ERROR and CRITICAL lines among the last lines of the
	// bot's log (Hummingbot's own window).
	Errors int
	// Orders is the number of open orders the engine reports.
	Orders int
	// UpdatedAt is when the snapshot read was written; zero when none was.
	UpdatedAt time.Time
	// Checked is when nectar asked.
	Checked time.Time
}

// ReadSnapshot reads the snapshot in an instance folder.
func ReadSnapshot(instanceDir string) (Snapshot, error) {
	var s Snapshot
	f, err := os.Open(filepath.Join(instanceDir, filepath.FromSlash(SnapshotFile)))
	if err != nil {
		return s, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSnapshot+1))
	if err != nil {
		return s, err
	}
	if len(data) > maxSnapshot {
		return s, errors.New("the status snapshot is larger than 1 MiB")
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("the status snapshot is not valid JSON: %w", err)
	}
	return s, nil
}

// CountErrors counts the ERROR and CRITICAL lines among the last lines of
// the bot's log, logs/logs_<name>.log. Only the count leaves here: a log
// line may quote an exchange's answer, and that is the bot's business.
func CountErrors(instanceDir, name string) (int, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return 0, fmt.Errorf("no log for a bot named %q", name)
	}
	f, err := os.Open(filepath.Join(instanceDir, "logs", "logs_"+name+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	from := max(info.Size()-maxLogTail, 0)
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(io.LimitReader(f, maxLogTail))
	sc.Buffer(make([]byte, 64<<10), maxLogTail)
	first := from > 0 // a tail starts mid-line
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		lines = append(lines, slices.Clone(sc.Bytes()))
		if len(lines) > logWindow {
			lines = lines[1:]
		}
	}
	n := 0
	for _, l := range lines {
		if bytes.Contains(l, []byte(" - ERROR - ")) || bytes.Contains(l, []byte(" - CRITICAL - ")) {
			n++
		}
	}
	return n, sc.Err()
}

// Assess makes a health of a snapshot and the bot's error count.
func Assess(s Snapshot, errs int) Health {
	h := Health{UpdatedAt: s.UpdatedAt(), Errors: errs}
	if s.Engine != nil {
		for _, c := range s.Engine.Connectors {
			h.Orders += c.OrdersCount
		}
	}
	var notReady []string
	if s.Engine != nil {
		for name, c := range s.Engine.Connectors {
			if !c.Ready {
				notReady = append(notReady, name)
			}
		}
	}
	slices.Sort(notReady)
	switch {
	case !s.Running:
		h.State, h.Reason = NotTrading, "the engine is not running"
	case s.Engine == nil:
		h.State, h.Reason = NotTrading, "the engine gave no account of itself"
	case !s.Engine.StrategyRunning:
		h.State, h.Reason = NotTrading, "the strategy is not running"
	case len(notReady) > 0:
		h.State, h.Reason = NotTrading, "not connected: "+strings.Join(notReady, ", ")
	case errs > 0:
		h.State, h.Reason = Erroring, fmt.Sprintf("%d error(s) among the last %d log lines", errs, logWindow)
	default:
		h.State, h.Reason = Trading, "the strategy runs and every connector is ready"
	}
	return h
}

// Probe asks the bot for a fresh snapshot (ask sends it SIGUSR1) and waits
// up to wait for one newer than the last, then assesses it. A bot that
// does not answer in time is Unresponsive, whatever its last snapshot said.
func Probe(ctx context.Context, instanceDir string, ask func(context.Context) error, wait time.Duration, now func() time.Time) Health {
	before, err := ReadSnapshot(instanceDir)
	asked := now()
	if errors.Is(err, fs.ErrPermission) {
		// Hummingbot writes its snapshot as the container's user (root)
		// with mode 0600; asking would change nothing.
		return Health{State: Unknown, Checked: asked,
			Reason: "nectar may not read data/bot/status.json (the bot writes it as the container's user, mode 0600): run nectar as root to see the bot's own health"}
	}
	if err := ask(ctx); err != nil {
		return Health{State: Unresponsive, Reason: "could not ask the bot for its status", UpdatedAt: before.UpdatedAt(), Checked: asked}
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if s, err := ReadSnapshot(instanceDir); err == nil && s.Updated > before.Updated {
			errs, _ := CountErrors(instanceDir, s.Name)
			h := Assess(s, errs)
			h.Checked = asked
			return h
		}
		select {
		case <-ctx.Done():
			return Health{State: Unresponsive, Reason: "nectar stopped asking", UpdatedAt: before.UpdatedAt(), Checked: asked}
		case <-deadline.C:
			reason := fmt.Sprintf("no fresh status within %s", wait)
			if before.Updated == 0 {
				reason += " (it never wrote one)"
			}
			return Health{State: Unresponsive, Reason: reason, UpdatedAt: before.UpdatedAt(), Checked: asked}
		case <-tick.C:
		}
	}
}
