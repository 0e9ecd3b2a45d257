package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/atomicfile"
)

// The files hbot keeps under data/bot/. Upstream writes each through a
// temporary file from mkstemp, so they end up mode 0600, owned by the
// container's user (root in the official image).
const botFileMode = 0o600

func (h home) botFile(name string) string { return h.path("data", "bot", name) }

func (h home) writeBotJSON(name string, v any) error {
	if err := os.MkdirAll(h.path("data", "bot"), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(h.botFile(name), data, botFileMode)
}

// meta is data/bot/meta.json: what `hbot start` records, then what the
// engine adds once its strategy runs.
type meta struct {
	Name           string  `json:"name"`
	Type           string  `json:"type"`
	File           string  `json:"file"`
	Config         *string `json:"config"`
	ScriptConfig   *string `json:"script_config"`
	StartedAt      float64 `json:"started_at"`
	PID            int     `json:"pid,omitempty"`
	DBPath         *string `json:"db_path,omitempty"`
	ConfigFilePath *string `json:"config_file_path,omitempty"`
	StrategyName   *string `json:"strategy_name,omitempty"`
}

// status is data/bot/status.json, with the engine's fields in its order.
type status struct {
	Name         string                        `json:"name"`
	PID          int                           `json:"pid"`
	Running      bool                          `json:"running"`
	UpdatedAt    float64                       `json:"updated_at"`
	Engine       engineStatus                  `json:"engine"`
	FormatStatus *string                       `json:"format_status"`
	Balances     map[string]map[string]float64 `json:"balances,omitempty"`
}

type engineStatus struct {
	ClockRunning          bool                       `json:"clock_running"`
	StrategyRunning       bool                       `json:"strategy_running"`
	StrategyName          *string                    `json:"strategy_name"`
	StrategyFileName      *string                    `json:"strategy_file_name"`
	StrategyType          *string                    `json:"strategy_type"`
	StartTime             float64                    `json:"start_time"`
	Uptime                float64                    `json:"uptime"`
	Connectors            map[string]connectorStatus `json:"connectors"`
	KillSwitchEnabled     bool                       `json:"kill_switch_enabled"`
	MarketsRecorderActive bool                       `json:"markets_recorder_active"`
}

type connectorStatus struct {
	Ready        bool              `json:"ready"`
	TradingPairs []string          `json:"trading_pairs"`
	OrdersCount  int               `json:"orders_count"`
	Balances     map[string]string `json:"balances"`
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
func unixMillis(t time.Time) float64  { return float64(t.UnixNano()) / 1e6 }

// engine is the running bot as status.json describes it.
type engine struct {
	home       home
	name       string
	strategy   *strategy
	unlocked   []string // connectors with a credentials file
	started    time.Time
	notTrading bool // TESTBOT_NOT_TRADING
	killSwitch bool
}

// markets are the connectors the strategy trades on, with their pairs; a
// config that names none trades on every unlocked connector.
func (e *engine) markets() map[string][]string {
	if len(e.strategy.Markets) > 0 {
		return e.strategy.Markets
	}
	m := map[string][]string{}
	for _, c := range e.unlocked {
		m[c] = nil
	}
	return m
}

// snapshot builds status.json. A connector is ready when it has
// credentials (or is a paper-trade one); a ready one shows made-up balances
// for the assets of its pairs.
func (e *engine) snapshot(running bool) status {
	now := time.Now()
	st := status{
		Name:      e.name,
		PID:       os.Getpid(),
		Running:   running,
		UpdatedAt: unixSeconds(now),
		Engine: engineStatus{
			StartTime:         unixMillis(e.started),
			Uptime:            unixMillis(now) - unixMillis(e.started),
			Connectors:        map[string]connectorStatus{},
			KillSwitchEnabled: e.killSwitch,
		},
	}
	if !running {
		return st
	}
	trading := !e.notTrading
	st.Engine.ClockRunning = true
	st.Engine.StrategyRunning = trading
	st.Engine.StrategyName = &e.strategy.Name
	st.Engine.StrategyFileName = &e.strategy.File
	st.Engine.StrategyType = &e.strategy.Type
	st.Engine.MarketsRecorderActive = true
	st.Balances = map[string]map[string]float64{}
	var text strings.Builder
	fmt.Fprintf(&text, "Testbot strategy %s (%s), trading: %v\n", e.strategy.Name, e.strategy.File, trading)
	for conn, pairs := range e.markets() {
		cs := connectorStatus{
			Ready:        slices.Contains(e.unlocked, conn) || strings.HasSuffix(conn, "_paper_trade"),
			TradingPairs: append([]string{}, pairs...),
			Balances:     map[string]string{},
		}
		if cs.Ready {
			floats := map[string]float64{}
			for _, p := range pairs {
				base, quote, _ := strings.Cut(p, "-")
				cs.Balances[base], floats[base] = "1.5", 1.5
				if quote != "" {
					cs.Balances[quote], floats[quote] = "1000.25", 1000.25
				}
			}
			if trading {
				cs.OrdersCount = 2 * len(pairs)
			}
			st.Balances[conn] = floats
		}
		st.Engine.Connectors[conn] = cs
		fmt.Fprintf(&text, "  %s %s ready=%v orders=%d\n", conn, strings.Join(pairs, ","), cs.Ready, cs.OrdersCount)
	}
	s := text.String()
	st.FormatStatus = &s
	return st
}

func (e *engine) writeStatus(running bool) error {
	return e.home.writeBotJSON("status.json", e.snapshot(running))
}

// killSwitchEnabled reads conf_client.yml's kill_switch_mode: Hummingbot's
// enabled mode is the one that carries a kill_switch_rate.
func killSwitchEnabled(client map[string]any) bool {
	m, _ := client["kill_switch_mode"].(map[string]any)
	_, ok := m["kill_switch_rate"]
	return ok
}
