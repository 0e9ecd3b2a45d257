package faults

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

// fleetUnderTest is a copy of the example fleet, its state folder, and a
// way to run the nectar binary on them.
type fleetUnderTest struct {
	t        *testing.T
	name     string
	dir      string
	state    string
	identity string
	bin      string
}

func newFleet(t *testing.T, name, prefix string) *fleetUnderTest {
	t.Helper()
	testenv.RequireDocker(t)
	testenv.BuildTestbot(t)
	testenv.RemoveFleet(t, name)
	f := &fleetUnderTest{
		t: t, name: name,
		dir:      testenv.CopyExample(t, name, prefix),
		state:    t.TempDir(),
		identity: testenv.DemoIdentity(),
		bin:      testenv.NectarBinary(t),
	}
	// Registered after the folders, so it runs before they are deleted:
	// a running bot keeps writing into its data/.
	t.Cleanup(func() { testenv.RemoveFleet(t, name) })
	return f
}

// command runs nectar on the fleet. Every `run` here passes --listen
// 127.0.0.1:0: test packages run in parallel, and two daemons on the
// default port would clash.
func (f *fleetUnderTest) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, f.bin, append([]string{"--source", f.dir, "--state-dir", f.state}, args...)...)
	cmd.Env = append(os.Environ(), "NECTAR_AGE_KEY_FILE="+f.identity)
	return cmd
}

// nectar runs a command to its end and returns its combined output and
// exit code.
func (f *fleetUnderTest) nectar(args ...string) (string, int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := f.command(ctx, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatalf("nectar %s: %v", strings.Join(args, " "), err)
	}
	return string(out), code
}

// containers lists the fleet's containers as "name state id" lines, every
// state included.
func (f *fleetUnderTest) containers() []string {
	f.t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=nectar.fleet="+f.name,
		"--format", "{{.Names}} {{.State}} {{.ID}}").Output()
	if err != nil {
		f.t.Fatal(err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// checkConverged asserts that plan finds nothing to do and that each
// running bot has exactly one container, running.
func (f *fleetUnderTest) checkConverged(running ...string) {
	f.t.Helper()
	if out, code := f.nectar("plan", "--exit-code"); code != 0 {
		f.t.Fatalf("plan --exit-code = %d after convergence:\n%s", code, out)
	}
	seen := map[string]int{}
	for _, line := range f.containers() {
		fields := strings.Fields(line)
		seen[fields[0]]++
		if seen[fields[0]] > 1 {
			f.t.Errorf("duplicate container %s", fields[0])
		}
	}
	for _, bot := range running {
		if !strings.Contains(strings.Join(f.containers(), "\n"), "hummingbot-"+bot+" running") {
			f.t.Errorf("bot %s is not running: %v", bot, f.containers())
		}
	}
}

// checkNoPartialFiles asserts that no temporary file of an interrupted
// write is left in the state folder.
func (f *fleetUnderTest) checkNoPartialFiles() {
	f.t.Helper()
	filepath.WalkDir(f.state, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			f.t.Errorf("half-written file left behind: %s", p)
		}
		return nil
	})
}

// plantMarkers puts a file into each bot's data/ and logs/, standing for
// what a bot writes there (its database, its trade logs).
func (f *fleetUnderTest) plantMarkers(bots ...string) {
	f.t.Helper()
	for _, bot := range bots {
		for _, sub := range []string{"data", "logs"} {
			p := filepath.Join(f.state, "instances", bot, sub, "marker.txt")
			if err := os.WriteFile(p, []byte("precious "+bot+"\n"), 0o644); err != nil {
				f.t.Fatal(err)
			}
		}
	}
}

func (f *fleetUnderTest) checkMarkers(bots ...string) {
	f.t.Helper()
	for _, bot := range bots {
		for _, sub := range []string{"data", "logs"} {
			p := filepath.Join(f.state, "instances", bot, sub, "marker.txt")
			if data, err := os.ReadFile(p); err != nil || !bytes.Equal(data, []byte("precious "+bot+"\n")) {
				f.t.Errorf("%s/%s of bot %s lost its contents: %v", bot, sub, bot, err)
			}
		}
	}
}

// TestKillNectarRun kills `nectar run` with SIGKILL 30 times at random
// moments while it has work to do (each round changes a bot), starting it
// again each time; then a last run converges: one container per running
// bot, no half-written file, data/ and logs/ untouched.
func TestKillNectarRun(t *testing.T) {
	f := newFleet(t, "fault-kill", "fk-")
	if out, code := f.nectar("apply"); code != 0 {
		t.Fatalf("first apply: %d\n%s", code, out)
	}
	bots := []string{"fk-pmm-btc", "fk-xemm-eth"}
	f.plantMarkers(bots...)
	// 30 rounds in make test; NECTAR_FAULT_ROUNDS asks for a longer run.
	rounds := 30
	if n, err := strconv.Atoi(os.Getenv("NECTAR_FAULT_ROUNDS")); err == nil && n > 0 {
		rounds = n
	} else if testing.Short() {
		rounds = 5
	}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	botFile := filepath.Join(f.dir, "bots", "fk-pmm-btc.yml")
	for i := range rounds {
		spec := "account: master_account\nconnectors: [binance]\nconfig: conf_pmm_btc.yml\nenv: {ROUND: \"" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\"}\n"
		if err := os.WriteFile(botFile, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := f.command(context.Background(), "run", "--listen", "127.0.0.1:0")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(1200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	// The last run: started, given time to converge, and stopped cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := f.command(ctx, "run", "--listen", "127.0.0.1:0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, code := f.nectar("plan", "--exit-code"); code == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the last run ended with %v:\n%s", err, out.String())
	}
	f.checkConverged(bots...)
	f.checkNoPartialFiles()
	f.checkMarkers(bots...)
}

// With the identity gone, nectar refuses to start and touches nothing;
// with a wrong identity, every bot is Stalled and nothing is stopped or
// pruned.
func TestIdentityGoneOrWrong(t *testing.T) {
	f := newFleet(t, "fault-identity", "fi-")
	if out, code := f.nectar("apply"); code != 0 {
		t.Fatalf("first apply: %d\n%s", code, out)
	}
	before := strings.Join(f.containers(), "\n")

	f.identity = filepath.Join(t.TempDir(), "missing.key")
	out, code := f.nectar("apply")
	if code != 1 || !strings.Contains(out, "nectar: error:") {
		t.Errorf("apply without the identity file: exit %d\n%s", code, out)
	}

	stranger := filepath.Join(t.TempDir(), "stranger.key")
	if o, c := f.nectar("keygen", "-o", stranger); c != 0 {
		t.Fatalf("keygen: %s", o)
	}
	f.identity = stranger
	out, _ = f.nectar("apply")
	for _, bot := range []string{"fi-pmm-btc", "fi-xemm-eth", "fi-hl-perp"} {
		if !regexpLine(out, `stalled\s+`+bot+`\s`) {
			t.Errorf("bot %s is not Stalled with a wrong identity:\n%s", bot, out)
		}
	}
	if after := strings.Join(f.containers(), "\n"); after != before {
		t.Errorf("containers changed with a wrong identity:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// regexpLine reports whether a line of text matches pattern.
func regexpLine(text, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for line := range strings.SplitSeq(text, "\n") {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}
