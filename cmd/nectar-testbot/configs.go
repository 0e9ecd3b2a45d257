package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// strategy is what a launch runs once its config has loaded.
type strategy struct {
	Name    string              // the script's name without .py, or the V1 strategy
	File    string              // the config file it came from
	Type    string              // "v2" or "regular", as status.json says
	Markets map[string][]string // connector → trading pairs named by the config
}

// v1Strategies are the V1 strategies Hummingbot 2.16 ships (the folders of
// hummingbot/strategy/). They live inside the image's Python package, not
// in a mounted folder, so a config naming anything else never loads.
var v1Strategies = []string{
	"amm_arb", "avellaneda_market_making", "cross_exchange_market_making", "cross_exchange_mining",
	"hedge", "liquidity_mining", "perpetual_market_making", "pure_market_making", "spot_perpetual_arbitrage",
}

// v1MarketKeys are pairs of (connector field, trading pair field) found in
// V1 strategy configs, used only to fill status.json.
var v1MarketKeys = [][2]string{
	{"exchange", "market"}, {"derivative", "market"},
	{"maker_market", "maker_market_trading_pair"}, {"taker_market", "taker_market_trading_pair"},
	{"connector_1", "market_1"}, {"connector_2", "market_2"},
	{"spot_connector", "spot_market"}, {"perpetual_connector", "perpetual_market"},
}

// readMapping reads a YAML file that must hold a mapping. An empty file is
// an empty mapping, as yaml.safe_load(f) or {} makes it upstream.
func readMapping(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("%s does not hold a mapping", path)
}

// stringList reads a list of strings that Hummingbot also accepts as one
// comma-separated string.
func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func addMarket(markets map[string][]string, connector string, pairs ...string) {
	if connector == "" {
		return
	}
	for _, p := range pairs {
		if p != "" && !slices.Contains(markets[connector], p) {
			markets[connector] = append(markets[connector], p)
		}
	}
	if _, ok := markets[connector]; !ok {
		markets[connector] = nil
	}
}

// loadScriptConfig loads a V2 script config from conf/scripts/ as
// Hummingbot's headless start does: the config must name a
// script_file_name, the script must be in scripts/, and every controller
// config it lists must load. The error is the line Hummingbot logs.
func (h home) loadScriptConfig(file string) (*strategy, error) {
	path := h.path("conf", "scripts", file)
	if _, err := os.Stat(path); err != nil {
		return nil, failed("V2 config file not found: %s", path)
	}
	cfg, err := readMapping(path)
	if err != nil {
		return nil, failed("Error loading V2 config file %s: %v", path, err)
	}
	script, _ := cfg["script_file_name"].(string)
	if script == "" {
		return nil, failed("Config file is missing 'script_file_name' field.")
	}
	s := &strategy{Name: strings.ReplaceAll(script, ".py", ""), File: file, Type: "v2", Markets: map[string][]string{}}
	if _, err := os.Stat(h.path("scripts", s.Name+".py")); err != nil {
		return nil, failed("Failed to start strategy %s: Unknown strategy: %s", s.Name, s.Name)
	}
	if m, ok := cfg["markets"].(map[string]any); ok {
		for _, conn := range slices.Sorted(maps.Keys(m)) {
			addMarket(s.Markets, conn, stringList(m[conn])...)
		}
	}
	for _, c := range stringList(cfg["controllers_config"]) {
		ctrl, err := h.loadController(c)
		if err != nil {
			return nil, failed("Failed to start strategy %s: %v", s.Name, err)
		}
		conn, _ := ctrl["connector_name"].(string)
		pair, _ := ctrl["trading_pair"].(string)
		addMarket(s.Markets, conn, pair)
	}
	return s, nil
}

// loadController reads conf/controllers/<file> and checks that the
// controller it names, controllers/<controller_type>/<controller_name>.py,
// exists: Hummingbot imports that module to validate the config.
func (h home) loadController(file string) (map[string]any, error) {
	path := h.path("conf", "controllers", file)
	cfg, err := readMapping(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, failed("[Errno 2] No such file or directory: '%s'", path)
	}
	if err != nil {
		return nil, err
	}
	ctype, _ := cfg["controller_type"].(string)
	cname, _ := cfg["controller_name"].(string)
	if ctype == "" || cname == "" {
		return nil, failed("Missing controller_type or controller_name in %s", file)
	}
	if _, err := os.Stat(h.path("controllers", ctype, cname+".py")); err != nil {
		return nil, failed("No module named 'controllers.%s.%s'", ctype, cname)
	}
	return cfg, nil
}

// loadStrategyConfig loads a V1 strategy config from conf/strategies/.
func (h home) loadStrategyConfig(file string) (*strategy, error) {
	path := h.path("conf", "strategies", file)
	if _, err := os.Stat(path); err != nil {
		return nil, failed("Strategy config file not found: %s", path)
	}
	cfg, err := readMapping(path)
	if err != nil {
		return nil, failed("Error loading strategy config file: %v", err)
	}
	name, _ := cfg["strategy"].(string)
	if name == "" {
		return nil, failed("Error loading strategy config file: %s has no strategy", path)
	}
	if !slices.Contains(v1Strategies, name) {
		return nil, failed("Error loading strategy config file: No module named 'hummingbot.strategy.%s'", name)
	}
	s := &strategy{Name: name, File: file, Type: "regular", Markets: map[string][]string{}}
	for _, k := range v1MarketKeys {
		conn, _ := cfg[k[0]].(string)
		addMarket(s.Markets, conn, stringList(cfg[k[1]])...)
	}
	if conn, _ := cfg["exchange"].(string); conn != "" {
		addMarket(s.Markets, conn, stringList(cfg["markets"])...) // liquidity_mining
	}
	return s, nil
}

// loadError is a line Hummingbot logs when a config does not load. Its
// wording is Hummingbot's, capitals and all.
type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

func failed(format string, args ...any) error {
	return &loadError{fmt.Sprintf(format, args...)}
}
