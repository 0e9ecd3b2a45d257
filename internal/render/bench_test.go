package render

import (
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// benchFleet is bots bots spread evenly over accounts accounts; each account
// has three connectors of two secrets each, and every bot uses all three.
func benchFleet(bots, accounts int) (*fleet.Fleet, []string) {
	conns := map[string][2]string{
		"binance": {"binance_api_key", "binance_api_secret"},
		"bybit":   {"bybit_api_key", "bybit_api_secret"},
		"gate_io": {"gate_io_api_key", "gate_io_secret_key"},
	}
	f := &fleet.Fleet{
		Name:     "bench",
		FS:       fstest.MapFS{"scripts/s.py": {Data: []byte("print('x')\n")}},
		Shared:   []string{"scripts/s.py"},
		Accounts: map[string]*fleet.Account{},
		Bots:     map[string]*fleet.Bot{},
	}
	for a := range accounts {
		name := fmt.Sprintf("acct%02d", a)
		acct := &fleet.Account{Name: name, Password: fleet.Secret("password-" + name), Credentials: map[string]*fleet.Credential{}}
		for c, secrets := range conns {
			acct.Connectors = append(acct.Connectors, c)
			acct.Credentials[c] = &fleet.Credential{Account: name, Connector: c, Secrets: []fleet.SecretField{
				{Name: secrets[0], Value: fleet.Secret(name + "-" + c + "-key")},
				{Name: secrets[1], Value: fleet.Secret(name + "-" + c + "-secret")},
			}}
		}
		f.Accounts[name] = acct
	}
	var names []string
	for i := range bots {
		name := fmt.Sprintf("bot%03d", i)
		acct := f.Accounts[fmt.Sprintf("acct%02d", i%accounts)]
		f.Bots[name] = &fleet.Bot{Name: name, Account: acct.Name, State: fleet.StateRunning, Connectors: acct.Connectors}
		names = append(names, name)
	}
	return f, names
}

// BenchmarkRenderFleet renders 100 bots (10 accounts × 10 bots) × 3
// connectors × 2 secrets from cold: an empty state folder and a new Keyring,
// at Hummingbot's real 1,000,000 PBKDF2 iterations. Beside the time per
// fleet it reports:
//
//	derivations/op           keys derived (target: one per account)
//	rerender-s, -derivations a second render by a new process (new Keyring)
//	                         over the same folder: nothing to write or derive
//	baseline-s               the per-value cost model of Hummingbot's own
//	                         tooling (a fresh salt, so a fresh derivation, per
//	                         value) timed on a sample in the same run and
//	                         scaled to the fleet's values; encryption only,
//	                         no file I/O, which flatters the baseline
//	baseline-derivations     one per value: 6 secrets + 1 verification per bot
//
// Run: go test -run='^$' -bench=. -benchtime=1x ./internal/render/
func BenchmarkRenderFleet(b *testing.B) {
	const bots, accounts = 100, 10
	f, names := benchFleet(bots, accounts)
	var derivations uint64
	var rerender time.Duration
	var rerenderDerivations uint64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		k := hbcrypt.NewKeyring()
		r, err := New(Options{Dir: dir, Keyring: k})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		// As a pass does: the accounts' keys side by side, then the files.
		r.DeriveKeys(f, names)
		for _, bot := range names {
			if _, err := r.Render(f, bot, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		derivations += k.Derivations()

		k2 := hbcrypt.NewKeyring()
		r2, err := New(Options{Dir: dir, Keyring: k2})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, bot := range names {
			res, err := r2.Render(f, bot, nil)
			if err != nil {
				b.Fatal(err)
			}
			if res.Changed() {
				b.Fatalf("re-render of %s wrote %q", bot, res.Written)
			}
		}
		rerender += time.Since(start)
		rerenderDerivations += k2.Derivations()
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(derivations)/n, "derivations/op")
	b.ReportMetric(rerender.Seconds()/n, "rerender-s")
	b.ReportMetric(float64(rerenderDerivations)/n, "rerender-derivations")

	const valuesPerBot = 3*2 + 1
	const sample = 2 * valuesPerBot
	start := time.Now()
	for i := range sample {
		k := hbcrypt.NewKeyring()
		if _, err := k.Encrypt("password-acct00", hbcrypt.NewSalt(), fmt.Appendf(nil, "value-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	perValue := time.Since(start).Seconds() / sample
	b.ReportMetric(perValue*bots*valuesPerBot, "baseline-s")
	b.ReportMetric(bots*valuesPerBot, "baseline-derivations")
}
