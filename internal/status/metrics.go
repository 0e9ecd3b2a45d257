package status

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectarhq/nectar/internal/botstatus"
	"github.com/nectarhq/nectar/internal/plan"
	"github.com/nectarhq/nectar/internal/reconcile"
)

// metrics are the Store's Prometheus series. They live with the Store, not
// in a global registry, so tests and several daemons in one process never
// collide.
type metrics struct {
	passes       *prometheus.CounterVec
	passDuration prometheus.Histogram
	actions      *prometheus.CounterVec
	actionErrors *prometheus.CounterVec
	sourceErrors prometheus.Counter
	bots         *prometheus.GaugeVec
	engineUp     prometheus.Gauge
	ready        prometheus.Gauge
	sourceOK     prometheus.Gauge
	lastPass     prometheus.Gauge
	kills        prometheus.Counter
	health       *prometheus.GaugeVec
	all          []prometheus.Collector
}

func newMetrics(derivations func() uint64) *metrics {
	m := &metrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_passes_total",
			Help: "Reconcile passes by result: ok, changed, failed, engine_unreachable, source_error.",
		}, []string{"result"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nectar_pass_duration_seconds",
			Help:    "How long reconcile passes took.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_actions_total",
			Help: "Planned actions by kind, one per bot per pass (none included).",
		}, []string{"kind"}),
		actionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_action_errors_total",
			Help: "Actions that failed, by kind.",
		}, []string{"kind"}),
		sourceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nectar_source_errors_total",
			Help: "Passes whose source could not be fetched or did not load.",
		}),
		bots: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nectar_bots",
			Help: "Bots by condition: ready, stopped, progressing, waiting, held, suspended, orphan, unknown, failed, crashloop, stalled.",
		}, []string{"condition"}),
		engineUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nectar_engine_reachable",
			Help: "1 when the container engine answered the last time nectar asked.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nectar_ready",
			Help: "1 once a pass has loaded the source and listed the engine.",
		}),
		sourceOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nectar_source_ok",
			Help: "1 when the last attempted revision of the source loaded.",
		}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nectar_last_pass_timestamp_seconds",
			Help: "When the last pass started, in Unix seconds.",
		}),
		kills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nectar_bots_killed_total",
			Help: "Stops that ended in a kill: the bot did not exit within its stop timeout, so open orders may remain.",
		}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nectar_bot_health",
			Help: "Running bots launched by hbot by their own health: trading, not_trading, erroring, unresponsive, unknown (nectar may not read what the bot wrote).",
		}, []string{"state"}),
	}
	// Every series exists from the start, so a rate() or an alert on a
	// result that has not happened yet reads 0 rather than nothing.
	for _, r := range []string{ResultOK, ResultChanged, ResultFailed, ResultEngineUnreachable, ResultSourceError} {
		m.passes.WithLabelValues(r)
	}
	for _, k := range plan.Kinds() {
		m.actions.WithLabelValues(string(k))
		m.actionErrors.WithLabelValues(string(k))
	}
	for _, c := range allConditions {
		m.bots.WithLabelValues(c)
	}
	for _, h := range healthStates {
		m.health.WithLabelValues(HealthLabel(h))
	}
	m.all = []prometheus.Collector{m.passes, m.passDuration, m.actions, m.actionErrors, m.sourceErrors, m.bots, m.engineUp, m.ready, m.sourceOK, m.lastPass, m.kills, m.health}
	if derivations != nil {
		m.all = append(m.all, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "nectar_key_derivations_total",
			Help: "Password key derivations (PBKDF2, a million rounds each) made to encrypt connector files.",
		}, func() float64 { return float64(derivations()) }))
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.all {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.all {
		c.Collect(ch)
	}
}

func (m *metrics) recordPass(p *Pass, res *reconcile.Result) {
	m.passes.WithLabelValues(p.Result).Inc()
	m.lastPass.Set(float64(p.Started.UnixNano()) / 1e9)
	if res == nil {
		return
	}
	m.passDuration.Observe(res.Duration.Seconds())
	for _, o := range res.Outcomes {
		m.actions.WithLabelValues(string(o.Kind)).Inc()
		if o.Err != nil {
			m.actionErrors.WithLabelValues(string(o.Kind)).Inc()
		}
	}
}

func (m *metrics) recordState(st *state) {
	counts := map[string]int{}
	for _, b := range st.bots {
		counts[b.status.Condition]++
	}
	for _, c := range allConditions {
		m.bots.WithLabelValues(c).Set(float64(counts[c]))
	}
	byHealth := map[string]int{}
	for _, b := range st.bots {
		if b.status.BotHealth != nil {
			byHealth[b.status.BotHealth.State]++
		}
	}
	for _, h := range healthStates {
		m.health.WithLabelValues(HealthLabel(h)).Set(float64(byHealth[h]))
	}
	m.engineUp.Set(boolGauge(st.engine.Reachable))
	m.ready.Set(boolGauge(st.ready))
	m.sourceOK.Set(boolGauge(st.sourceOK))
}

// healthStates are the states a bot's own health takes.
var healthStates = []string{botstatus.Trading, botstatus.NotTrading, botstatus.Erroring, botstatus.Unresponsive, botstatus.Unknown}

// HealthLabel is a bot's own health state as a label value, without
// blanks ("not trading" is "not_trading"): the metric's label, and the
// class the page styles the state by.
func HealthLabel(state string) string { return strings.ReplaceAll(state, " ", "_") }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
