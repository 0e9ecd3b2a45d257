package botstatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeSnapshot(t *testing.T, dir string, s map[string]any) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(SnapshotFile))
	os.MkdirAll(filepath.Dir(p), 0o755)
	data, _ := json.Marshal(s)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot is shaped as Hummingbot 2.16's engine writes status.json.
func snapshot(updated float64, running, strategy bool, ready map[string]bool) map[string]any {
	conns := map[string]any{}
	for name, r := range ready {
		conns[name] = map[string]any{"ready": r, "trading_pairs": []string{"BTC-USDT"}, "orders_count": 2, "balances": map[string]string{"BTC": "0.1"}}
	}
	return map[string]any{
		"name": "conf_pmm", "pid": 1, "running": running, "updated_at": updated,
		"engine": map[string]any{
			"clock_running": running, "strategy_running": strategy, "strategy_name": "pmm", "strategy_file_name": "conf_pmm.yml",
			"strategy_type": "v2", "start_time": 1.7e12, "uptime": 45000.2, "connectors": conns,
			"kill_switch_enabled": false, "markets_recorder_active": true,
		},
		"format_status": "Mid price: 1", "balances": map[string]any{},
	}
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name   string
		snap   map[string]any
		errs   int
		state  string
		reason string
	}{
		{"trading", snapshot(10, true, true, map[string]bool{"binance": true}), 0, Trading, "every connector is ready"},
		{"erroring", snapshot(10, true, true, map[string]bool{"binance": true}), 3, Erroring, "3 error(s)"},
		{"strategy stopped", snapshot(10, true, false, map[string]bool{"binance": true}), 0, NotTrading, "strategy is not running"},
		{"exchange not connected", snapshot(10, true, true, map[string]bool{"binance": true, "kucoin": false}), 0, NotTrading, "not connected: kucoin"},
		{"shut down", snapshot(10, false, false, nil), 0, NotTrading, "engine is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSnapshot(t, dir, tt.snap)
			s, err := ReadSnapshot(dir)
			if err != nil {
				t.Fatal(err)
			}
			h := Assess(s, tt.errs)
			if h.State != tt.state || !strings.Contains(h.Reason, tt.reason) {
				t.Errorf("got %q (%s), want %q (%s)", h.State, h.Reason, tt.state, tt.reason)
			}
			if tt.state == Trading && (h.Orders != 2 || h.UpdatedAt.Unix() != 10) {
				t.Errorf("orders %d, updated %s", h.Orders, h.UpdatedAt)
			}
		})
	}
}

func TestCountErrorsReadsTheLogsEnd(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	var b strings.Builder
	line := func(level string, i int) {
		fmt.Fprintf(&b, "2026-11-30 12:00:00,000 - 1 - hummingbot.strategy - %s - line %d\n", level, i)
	}
	// Errors early in a long log fall out of the window.
	for i := range 50 {
		line("ERROR", i)
	}
	for i := range 700 {
		line("INFO", i)
	}
	line("ERROR", 1)
	line("CRITICAL", 2)
	os.WriteFile(filepath.Join(dir, "logs", "logs_conf_pmm.log"), []byte(b.String()), 0o644)
	n, err := CountErrors(dir, "conf_pmm")
	if err != nil || n != 2 {
		t.Fatalf("CountErrors = %d, %v; want 2", n, err)
	}
	if n, err := CountErrors(dir, "no_such_bot"); err != nil || n != 0 {
		t.Errorf("missing log: %d, %v", n, err)
	}
	if _, err := CountErrors(dir, "../x"); err == nil {
		t.Error("a name with a path was read")
	}
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	writeSnapshot(t, dir, snapshot(10, true, true, map[string]bool{"binance": true}))
	// A bot that answers writes a newer snapshot.
	answer := func(context.Context) error {
		go func() {
			time.Sleep(150 * time.Millisecond)
			writeSnapshot(t, dir, snapshot(11, true, true, map[string]bool{"binance": true}))
		}()
		return nil
	}
	if h := Probe(context.Background(), dir, answer, 2*time.Second, time.Now); h.State != Trading || h.UpdatedAt.Unix() != 11 {
		t.Errorf("answered: %+v", h)
	}
	// One that does not is unresponsive, even with a trading snapshot.
	silent := func(context.Context) error { return nil }
	if h := Probe(context.Background(), dir, silent, 300*time.Millisecond, time.Now); h.State != Unresponsive || !strings.Contains(h.Reason, "no fresh status within 300ms") {
		t.Errorf("silent: %+v", h)
	}
	refused := func(context.Context) error { return errors.New("not running") }
	if h := Probe(context.Background(), dir, refused, time.Second, time.Now); h.State != Unresponsive {
		t.Errorf("refused: %+v", h)
	}
}
