package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nectarhq/nectar/internal/testenv"
)

const mqttPassword = "broker-PASSWORD-marker"

// withBridge writes conf_client.yml as nectar renders it for a fleet with
// mqtt: set, for the broker at port.
func withBridge(t *testing.T, h home, port int, password string, autostart bool) {
	t.Helper()
	conf := fmt.Sprintf("instance_id: hummingbot-mq\nmqtt_bridge:\n  mqtt_host: 127.0.0.1\n  mqtt_port: %d\n  mqtt_username: hbot\n"+
		"  mqtt_password: %s\n  mqtt_namespace: hbot\n  mqtt_ssl: false\n  mqtt_autostart: %v\n", port, password, autostart)
	if err := os.WriteFile(h.path("conf", "conf_client.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMQTTBridge(t *testing.T) {
	broker := testenv.StartMosquitto(t, "hbot", mqttPassword)
	w := broker.Watch(t, "hbot/#")
	h := instance(t)
	withBridge(t, h, broker.Port, mqttPassword, true)
	b := start(t, h, append(withPassword, "TESTBOT_MQTT_HEARTBEAT=200ms"), "hbot", "start", "--v2-script", "conf_quotes.yml", "--foreground")

	beats, ok := w.WaitFor("hbot/hummingbot-mq/hb", 3, 20*time.Second)
	if !ok {
		t.Fatalf("%d heartbeats on hbot/hummingbot-mq/hb, want 3; bot stderr:\n%s\nbroker:\n%s", len(beats), &b.stderr, broker.Log())
	}
	for _, m := range beats {
		var hb map[string]any
		if err := json.Unmarshal(m.Payload, &hb); err != nil || len(hb) != 1 {
			t.Fatalf("heartbeat %q is not {\"ts\": …}", m.Payload)
		}
		ts, _ := hb["ts"].(float64)
		if want := float64(m.At.UnixMicro()) + 5e5; ts < want-5e6 || ts > want+5e6 {
			t.Errorf("heartbeat ts %v, want about %v (microseconds, half a second ahead)", ts, want)
		}
	}
	if gap := beats[2].At.Sub(beats[1].At); gap < 100*time.Millisecond {
		t.Errorf("heartbeats %v apart with TESTBOT_MQTT_HEARTBEAT=200ms", gap)
	}
	online := w.Messages("hbot/hummingbot-mq/status_updates")
	if len(online) == 0 || !strings.Contains(string(online[0].Payload), `"type":"availability","msg":"online"`) {
		t.Errorf("status_updates: %v", online)
	}
	if !strings.Contains(broker.Log(), "hbot.hummingbot-mq") {
		t.Errorf("the bot did not connect as client hbot.<instance_id>:\n%s", broker.Log())
	}

	b.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got, ok := w.WaitFor("hbot/hummingbot-mq/status_updates", 2, 5*time.Second); !ok || !strings.Contains(string(got[len(got)-1].Payload), `"msg":"offline"`) {
		t.Errorf("no offline notice after a graceful stop: %v", got)
	}
	assertNoPassword(t, h, b)
}

// TestMQTTBridgeOff: without mqtt_autostart the bot never touches the
// broker, as Hummingbot does.
func TestMQTTBridgeOff(t *testing.T) {
	broker := testenv.StartMosquitto(t, "hbot", mqttPassword)
	w := broker.Watch(t, "#")
	h := instance(t)
	withBridge(t, h, broker.Port, mqttPassword, false)
	b := start(t, h, append(withPassword, "TESTBOT_MQTT_HEARTBEAT=100ms"), "hbot", "start", "--v2-script", "conf_quotes.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	time.Sleep(1500 * time.Millisecond)
	if got := w.Messages(""); len(got) > 0 {
		t.Errorf("the bridge published with mqtt_autostart off: %v", got)
	}
}

// TestMQTTBrokerLate: a broker that is down at start, then one that turns
// the password away, never stop the bot; it keeps trying every 5 s and
// appears as soon as a broker lets it in.
func TestMQTTBrokerLate(t *testing.T) {
	port := testenv.FreePort(t)
	h := instance(t)
	withBridge(t, h, port, mqttPassword, true)
	b := start(t, h, append(withPassword, "TESTBOT_MQTT_HEARTBEAT=200ms"), "hbot", "start", "--v2-script", "conf_quotes.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	log := h.path("logs", "logs_conf_quotes.log")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(read(t, log), "Trying again in 5s") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged for a broker that is down:\n%s", read(t, log))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b.exited() {
		t.Fatal("the bot exited for want of a broker")
	}
	broker := testenv.StartMosquittoOn(t, port, "hbot", mqttPassword)
	w := broker.Watch(t, "hbot/+/hb")
	if got, ok := w.WaitFor("hbot/hummingbot-mq/hb", 1, 15*time.Second); !ok {
		t.Fatalf("no heartbeat once the broker came up: %v\n%s", got, read(t, log))
	}
	assertNoPassword(t, h, b)
}

func TestMQTTWrongPassword(t *testing.T) {
	broker := testenv.StartMosquitto(t, "hbot", mqttPassword)
	w := broker.Watch(t, "hbot/#")
	h := instance(t)
	withBridge(t, h, broker.Port, mqttPassword+"-wrong", true)
	b := start(t, h, withPassword, "hbot", "start", "--v2-script", "conf_quotes.yml", "--foreground")
	waitFile(t, b, h.path("data", "testbot-heartbeat"))
	log := h.path("logs", "logs_conf_quotes.log")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(read(t, log), "Trying again") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged:\n%s", read(t, log))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := w.Messages(""); len(got) > 0 || b.exited() {
		t.Errorf("messages %v, exited %v", got, b.exited())
	}
	if l := read(t, log); strings.Contains(l, mqttPassword) {
		t.Errorf("the log holds the broker password:\n%s", l)
	}
}

// assertNoPassword: the broker password is in conf_client.yml (where
// Hummingbot keeps it) and nowhere the bot writes or prints.
func assertNoPassword(t *testing.T, h home, b *bot) {
	t.Helper()
	for _, out := range []string{b.stdout.String(), b.stderr.String()} {
		if strings.Contains(out, mqttPassword) {
			t.Errorf("the bot printed the broker password:\n%s", out)
		}
	}
	for _, dir := range []string{"logs", "data"} {
		entries, _ := os.ReadDir(h.path(dir))
		for _, e := range entries {
			if data, err := os.ReadFile(h.path(dir, e.Name())); err == nil && strings.Contains(string(data), mqttPassword) {
				t.Errorf("%s/%s holds the broker password", dir, e.Name())
			}
		}
	}
}

func TestHeartbeatPayload(t *testing.T) {
	now := time.Unix(1700000000, 250_000_000)
	if got := heartbeat(now)["ts"]; got != 1700000000750000 {
		t.Errorf("ts = %d", got)
	}
}

func TestBridgeFromClientConfig(t *testing.T) {
	s, on := bridgeFromClientConfig(map[string]any{"mqtt_bridge": map[string]any{
		"mqtt_autostart": true, "mqtt_host": "broker", "mqtt_port": 1884, "mqtt_namespace": "hbot/", "mqtt_ssl": "true"}})
	if !on || s.host != "broker" || s.port != 1884 || s.namespace != "hbot" || !s.ssl || s.username != "" {
		t.Errorf("%+v %v", s, on)
	}
	if _, on := bridgeFromClientConfig(clientDefaults()); on {
		t.Error("Hummingbot's defaults turn the bridge on")
	}
}
