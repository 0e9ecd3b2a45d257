package reconcile

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/secrets"
	"github.com/nectarhq/nectar/internal/testenv"
)

// TestEngineMQTTBridge runs the example fleet on the real engine with
// nectar.yaml's mqtt: pointing at a private mosquitto that takes only a
// user name and password, and watches the broker as Hummingbot's API does
// (hbot/+/hb): every running bot must beat there under its instance id,
// the container name, and the stopped one must not. With mqtt: removed the
// bots are recreated without the bridge and the beats stop, so the test
// fails whenever the bridge is off.
func TestEngineMQTTBridge(t *testing.T) {
	const password = "mqtt-broker-password-e2e"
	broker := testenv.StartMosquitto(t, "hbot", password)
	h := newEngineHarness(t)

	rs, err := secrets.ParseRecipients(exampleIDs().Recipients)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := secrets.Encrypt([]byte(password+"\n"), rs)
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, os.MkdirAll(filepath.Join(h.dir, "mqtt"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(h.dir, "mqtt", "password.age"), sealed, 0o644))
	settings := filepath.Join(h.dir, "nectar.yaml")
	plain, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	// The example's bots use the host network, so they reach the broker
	// on the host's loopback; a beat a second keeps the test short.
	withEnv := strings.Replace(string(plain), "    TZ: UTC\n", "    TZ: UTC\n    TESTBOT_MQTT_HEARTBEAT: 1s\n", 1)
	if withEnv == string(plain) {
		t.Fatal("the example's nectar.yaml no longer sets defaults.env.TZ; adjust the test")
	}
	withBridge := withEnv + "mqtt:\n  host: " + broker.Host + "\n  port: " + strconv.Itoa(broker.Port) +
		"\n  username: " + broker.Username + "\n  password_file: mqtt/password.age\n"
	mustDo(t, os.WriteFile(settings, []byte(withBridge), 0o644))

	beats := broker.Watch(t, "hbot/+/hb")
	start := time.Now()
	res := h.pass()
	running := []string{h.bot("pmm-btc"), h.bot("xemm-eth")}
	for _, bot := range running {
		o := outcome(t, res, bot)
		if o.Err != nil {
			t.Fatalf("%s: %v", bot, o.Err)
		}
		t.Logf("%s: %s (%s)", bot, o.Kind, o.Reason)
		h.waitReady(bot)
		conf := filepath.Join(h.state, "instances", bot, "conf", "conf_client.yml")
		info, err := os.Stat(conf)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: conf_client.yml %v %v, want mode 0600 (it holds the broker password)", bot, info, err)
		}
	}
	for _, bot := range running {
		topic := "hbot/" + fleet.ContainerName(bot) + "/hb"
		if got, ok := beats.WaitFor(topic, 2, 30*time.Second); !ok {
			t.Errorf("%d heartbeats on %s, want 2; seen: %s\nbroker:\n%s", len(got), topic, topics(beats), broker.Log())
		}
	}
	if got := beats.Messages("hbot/" + fleet.ContainerName(h.bot("hl-perp")) + "/hb"); len(got) > 0 {
		t.Errorf("the stopped bot hl-perp beats on the broker")
	}
	t.Logf("every running bot beat on the broker %v after the pass began", time.Since(start).Round(time.Millisecond))

	// Without mqtt: the bridge is off again: the bots are recreated (their
	// conf_client.yml changed) and fall silent.
	mustDo(t, os.WriteFile(settings, []byte(withEnv), 0o644))
	res = h.pass()
	for _, bot := range running {
		if o := outcome(t, res, bot); o.Err != nil {
			t.Fatalf("%s: %v", bot, o.Err)
		}
		h.waitReady(bot)
	}
	quiet := time.Now()
	time.Sleep(3 * time.Second)
	for _, m := range beats.Messages("") {
		if m.At.After(quiet) {
			t.Errorf("%s still beats with mqtt: removed from nectar.yaml", m.Topic)
			break
		}
	}
}

// topics lists the topics a watcher saw, once each.
func topics(w *testenv.Watcher) string {
	var out []string
	for _, m := range w.Messages("") {
		if !slices.Contains(out, m.Topic) {
			out = append(out, m.Topic)
		}
	}
	return strings.Join(out, ", ")
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
