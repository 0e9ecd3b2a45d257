package hummingbot

import (
	"slices"
	"strings"
	"testing"
)

func TestClientConfig(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		path string // of the first problem; "" for none
		hint string // a part of its hint
	}{
		{"unknown key", map[string]any{"log_lvl": "INFO"}, "log_lvl", "did you mean log_level?"},
		{"unknown nested key", map[string]any{"mqtt_bridge": map[string]any{"mqtt_hots": "x"}}, "mqtt_bridge.mqtt_hots", "did you mean mqtt_host?"},
		{"mistyped port", map[string]any{"mqtt_bridge": map[string]any{"mqtt_port": "abc"}}, "mqtt_bridge.mqtt_port", "whole number"},
		{"port as text", map[string]any{"mqtt_bridge": map[string]any{"mqtt_port": "8883"}}, "", ""},
		{"port as int", map[string]any{"mqtt_bridge": map[string]any{"mqtt_port": 8883}}, "", ""},
		{"bridge not a mapping", map[string]any{"mqtt_bridge": "on"}, "mqtt_bridge", "mqtt_bridge keys"},
		{"choice", map[string]any{"autofill_import": "go"}, "autofill_import", "one of: start, config, disabled"},
		{"mode title", map[string]any{"kill_switch_mode": "kill_switch_enabld"}, "kill_switch_mode", "did you mean kill_switch_enabled?"},
		{"mode mapping", map[string]any{"kill_switch_mode": map[string]any{"kill_switch_rate": -5}}, "", ""},
		{"mode mapping typo", map[string]any{"kill_switch_mode": map[string]any{"kill_switch_rat": -5}}, "kill_switch_mode.kill_switch_rat", "did you mean kill_switch_rate?"},
		{"rate source by name", map[string]any{"rate_oracle_source": map[string]any{"name": "binanse"}}, "rate_oracle_source.name", "did you mean binance?"},
		{"bound", map[string]any{"tick_size": 0.01}, "tick_size", ""},
		{"whole config", map[string]any{
			"instance_id": "hummingbot-pmm-btc", "log_level": "DEBUG", "tables_format": "psql",
			"mqtt_bridge":        map[string]any{"mqtt_host": "broker", "mqtt_port": 8883, "mqtt_username": "bot", "mqtt_password": "pw", "mqtt_ssl": true, "mqtt_autostart": true},
			"kill_switch_mode":   map[string]any{"kill_switch_rate": "-10"},
			"paper_trade":        map[string]any{"paper_trade_exchanges": []any{"binance"}, "paper_trade_account_balance": map[string]any{"BTC": 1, "USDT": 1000.5}},
			"gateway":            map[string]any{"gateway_api_host": "gateway", "gateway_api_port": "15888", "gateway_use_ssl": false},
			"db_mode":            map[string]any{"db_engine": "sqlite"},
			"rate_oracle_source": map[string]any{"name": "binance"},
		}, "", ""},
	}
	for _, tt := range tests {
		ps := CheckClientConfig(tt.in)
		switch {
		case tt.path == "" && len(ps) > 0:
			t.Errorf("%s: refused: %v", tt.name, ps)
		case tt.path != "" && len(ps) == 0:
			t.Errorf("%s: accepted", tt.name)
		case tt.path != "" && (strings.Join(ps[0].Path, ".") != tt.path || !strings.Contains(ps[0].Hint, tt.hint)):
			t.Errorf("%s: got %v, want a problem at %s with hint %q", tt.name, ps, tt.path, tt.hint)
		}
	}
}

// Every case the generator ran through Hummingbot's own ClientConfigMap:
// the checker must give Hummingbot's verdict.
func TestClientConfigAgreesWithHummingbot(t *testing.T) {
	probes := load().ClientConfigProbes
	if len(probes) < 50 {
		t.Fatalf("only %d probes", len(probes))
	}
	for _, p := range probes {
		ps := CheckClientConfig(fromJSON(p.Config).(map[string]any))
		if (len(ps) == 0) != p.Accepted {
			t.Errorf("%s: Hummingbot accepts=%v, nectar's problems: %v", p.Name, p.Accepted, ps)
		}
	}
}

// fromJSON turns JSON numbers that are whole into int, as YAML decodes them.
func fromJSON(v any) any {
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = fromJSON(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = fromJSON(x)
		}
		return out
	}
	return v
}

func TestDefaultsAccepted(t *testing.T) {
	d := fromJSON(ClientConfigDefaults()).(map[string]any)
	if ps := CheckClientConfig(d); len(ps) > 0 {
		t.Errorf("the defaults are refused: %v", ps)
	}
	fields := ClientConfigFields()
	for _, k := range []string{"instance_id", "log_level", "mqtt_bridge", "gateway", "kill_switch_mode", "paper_trade", "color", "tables_format"} {
		if !slices.Contains(fields, k) {
			t.Errorf("no field %s", k)
		}
		if _, ok := d[k]; !ok {
			t.Errorf("no default for %s", k)
		}
	}
	// Each field alone at its default, too.
	for k, v := range d {
		if ps := CheckClientConfig(map[string]any{k: v}); len(ps) > 0 {
			t.Errorf("%s at its default refused: %v", k, ps)
		}
	}
}

func TestImage(t *testing.T) {
	for _, p := range []string{"scripts/v2_with_controllers.py", "scripts/simple_pmm.py", "controllers/generic/pmm_v1.py",
		"controllers/market_making/pmm_simple.py", "controllers/directional_trading/bollinger_v1.py", "controllers/generic/grid_strike.py"} {
		if !ImageHas(p) {
			t.Errorf("image lacks %s", p)
		}
	}
	if ImageHas("scripts/no_such.py") || ImageHas("v2_with_controllers.py") {
		t.Error("ImageHas finds what is not there")
	}
	for _, l := range [][]string{ImageScripts(), ImageControllers()} {
		if !slices.IsSorted(l) || len(l) < 10 {
			t.Errorf("list not sorted or short: %v", l)
		}
	}
	if ControllerRunner() != "v2_with_controllers.py" {
		t.Errorf("runner %q", ControllerRunner())
	}
}

func TestV1Strategies(t *testing.T) {
	want := []string{"amm_arb", "avellaneda_market_making", "cross_exchange_market_making", "cross_exchange_mining", "hedge",
		"liquidity_mining", "perpetual_market_making", "pure_market_making", "spot_perpetual_arbitrage"}
	if got := V1Strategies(); !slices.Equal(got, want) {
		t.Errorf("V1Strategies() = %v", got)
	}
	if ps := CheckStrategyConfig(map[string]any{"strategy": "pure_market_making"}); ps != nil {
		t.Errorf("refused: %v", ps)
	}
	ps := CheckStrategyConfig(map[string]any{"strategy": "pure_market_makin"})
	if len(ps) != 1 || !strings.Contains(ps[0].Hint, "did you mean pure_market_making?") {
		t.Errorf("typo: %v", ps)
	}
	if ps := CheckStrategyConfig(map[string]any{}); len(ps) != 1 || ps[0].What != "missing" {
		t.Errorf("missing: %v", ps)
	}
}

func TestScriptConfig(t *testing.T) {
	good := map[string]any{"script_file_name": "v2_with_controllers.py", "controllers_config": []any{"conf_pmm.yml"}}
	if ps := CheckScriptConfig(good); ps != nil {
		t.Errorf("refused: %v", ps)
	}
	if ScriptFile(good) != "scripts/v2_with_controllers.py" || !ImageHas(ScriptFile(good)) {
		t.Errorf("ScriptFile %q", ScriptFile(good))
	}
	if got := ControllerConfigs(map[string]any{"controllers_config": " a.yml, b.yml ,"}); !slices.Equal(got, []string{"a.yml", "b.yml"}) {
		t.Errorf("comma list: %v", got)
	}
	for _, bad := range []map[string]any{
		{}, {"script_file_name": ""}, {"script_file_name": 3}, {"script_file_name": "x.py", "controllers_config": 5},
		{"script_file_name": "x.py", "controllers_config": []any{1}}, {"script_file_name": "scripts/x.py"},
	} {
		if CheckScriptConfig(bad) == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

func TestControllerConfig(t *testing.T) {
	good := map[string]any{"id": "pmm1", "controller_name": "pmm_simple", "controller_type": "market_making"}
	if ps := CheckControllerConfig(good); ps != nil {
		t.Errorf("refused: %v", ps)
	}
	if f := ControllerFile(good); f != "controllers/market_making/pmm_simple.py" || !ImageHas(f) {
		t.Errorf("ControllerFile %q", f)
	}
	for _, bad := range []map[string]any{
		{"controller_name": "pmm_simple", "controller_type": "market_making"},
		{"id": "x", "controller_type": "market_making"},
		{"id": "x", "controller_name": "pmm_simple"},
		{"id": 12, "controller_name": "pmm_simple", "controller_type": "market_making"},
		{"id": "x", "controller_name": "pmm_simple.py", "controller_type": "market_making"},
	} {
		if CheckControllerConfig(bad) == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}
