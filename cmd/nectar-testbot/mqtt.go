package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The MQTT bridge, as Hummingbot 2.16 runs it when conf_client.yml has
// mqtt_bridge.mqtt_autostart on: it connects to the broker as client
// hbot.<instance_id> (keep-alive 60 s), announces itself online on
// <namespace>/<instance_id>/status_updates, then publishes a heartbeat
// {"ts": …} on <namespace>/<instance_id>/hb every 10 s, which is what
// Hummingbot's API lists bots by. When the broker cannot be reached or
// drops the connection, the bot logs it and tries again every 5 s; it
// keeps trading all the while. On a graceful stop it announces itself
// offline. The stand-in answers none of the bridge's commands.
const (
	mqttHeartbeatEvery = 10 * time.Second
	mqttRetryEvery     = 5 * time.Second
	mqttKeepAlive      = 60 * time.Second
	mqttConnectTimeout = 30 * time.Second
)

// bridgeSettings are the mqtt_bridge keys the stand-in acts on.
type bridgeSettings struct {
	host      string
	port      int
	username  string
	password  string
	namespace string
	ssl       bool
}

// bridgeFromClientConfig reads mqtt_bridge from the loaded conf_client.yml
// (its defaults already filled in); false when autostart is off.
func bridgeFromClientConfig(cfg map[string]any) (bridgeSettings, bool) {
	m, _ := cfg["mqtt_bridge"].(map[string]any)
	if !yamlBool(m["mqtt_autostart"]) {
		return bridgeSettings{}, false
	}
	s := bridgeSettings{
		host:      yamlString(m["mqtt_host"], "localhost"),
		port:      1883,
		username:  yamlString(m["mqtt_username"], ""),
		password:  yamlString(m["mqtt_password"], ""),
		namespace: strings.TrimRight(yamlString(m["mqtt_namespace"], "hbot"), "/."),
		ssl:       yamlBool(m["mqtt_ssl"]),
	}
	switch p := m["mqtt_port"].(type) {
	case int:
		s.port = p
	case float64:
		s.port = int(p)
	case string:
		if n, err := strconv.Atoi(p); err == nil {
			s.port = n
		}
	}
	return s, true
}

// yamlBool reads a boolean setting as Hummingbot's settings model does,
// words included.
func yamlBool(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		switch strings.ToLower(b) {
		case "true", "yes", "on", "1", "y", "t":
			return true
		}
	case int:
		return b == 1
	}
	return false
}

func yamlString(v any, def string) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return def
	}
	return fmt.Sprint(v)
}

// bridge is a running MQTT bridge.
type bridge struct {
	settings bridgeSettings
	prefix   string // <namespace>/<instance_id>
	clientID string
	lg       *botLog
	every    time.Duration

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// startBridge starts the bridge in the background when the client config
// asks for it at start; nil when it does not.
func startBridge(cfg map[string]any, lg *botLog) *bridge {
	s, on := bridgeFromClientConfig(cfg)
	if !on {
		return nil
	}
	id := yamlString(cfg["instance_id"], "")
	every := mqttHeartbeatEvery
	if d := durationEnv("TESTBOT_MQTT_HEARTBEAT", 0); d > 0 {
		every = d
	}
	b := &bridge{
		settings: s, prefix: s.namespace + "/" + id, clientID: "hbot." + id, lg: lg, every: every,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.run()
	return b
}

// Stop announces the bot offline and disconnects (a no-op on a nil bridge).
func (b *bridge) Stop() {
	if b == nil {
		return
	}
	b.stopOnce.Do(func() { close(b.stop) })
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
}

func (b *bridge) broker() string {
	scheme := "tcp"
	if b.settings.ssl {
		scheme = "ssl"
	}
	return scheme + "://" + net.JoinHostPort(b.settings.host, strconv.Itoa(b.settings.port))
}

// run connects, publishes, and reconnects until Stop.
func (b *bridge) run() {
	defer close(b.done)
	where := net.JoinHostPort(b.settings.host, strconv.Itoa(b.settings.port))
	for {
		b.lg.info("hummingbot.remote_iface.mqtt", "Connecting the MQTT bridge to %s as %s.", where, b.clientID)
		err := b.session()
		if err == nil {
			return // stopped
		}
		b.lg.log("hummingbot.remote_iface.mqtt", levelWarning, "MQTT bridge to %s: %v. Trying again in %s.", where, err, mqttRetryEvery)
		select {
		case <-b.stop:
			return
		case <-time.After(mqttRetryEvery):
		}
	}
}

// session is one connection: nil when it ended because of Stop.
func (b *bridge) session() error {
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().
		AddBroker(b.broker()).
		SetClientID(b.clientID).
		SetKeepAlive(mqttKeepAlive).
		SetConnectTimeout(mqttConnectTimeout).
		SetAutoReconnect(false).
		SetCleanSession(true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if b.settings.username != "" {
		opts.SetUsername(b.settings.username)
	}
	if b.settings.password != "" {
		opts.SetPassword(b.settings.password)
	}
	if b.settings.ssl {
		opts.SetTLSConfig(&tls.Config{ServerName: b.settings.host, MinVersion: tls.VersionTLS12})
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(mqttConnectTimeout + time.Second) {
		return errors.New("no answer from the broker")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	b.lg.info("hummingbot.remote_iface.mqtt", "MQTT bridge connected; heartbeat on %s/hb every %s.", b.prefix, b.every)
	if err := b.publish(c, "/status_updates", availability("online")); err != nil {
		c.Disconnect(250)
		return err
	}
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for {
		if err := b.publish(c, "/hb", heartbeat(time.Now())); err != nil {
			c.Disconnect(250)
			return err
		}
		select {
		case <-tick.C:
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-b.stop:
			b.publish(c, "/status_updates", availability("offline"))
			c.Disconnect(250)
			return nil
		}
	}
}

// publish sends one JSON message at QoS 0, as the bridge's pub/sub does.
func (b *bridge) publish(c paho.Client, channel string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	tok := c.Publish(b.prefix+channel, 0, false, data)
	if !tok.WaitTimeout(10 * time.Second) {
		return errors.New("publish timed out")
	}
	return tok.Error()
}

// heartbeat is the bridge's heartbeat payload: one field, ts, an integer
// from the clock in the unit and rounding Hummingbot 2.16 uses (the time
// in seconds plus half a second, times a million).
func heartbeat(now time.Time) map[string]int64 {
	secs := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	return map[string]int64{"ts": int64(math.Trunc((secs + 0.5) * 1e6))}
}

// statusUpdate is a message of the status_updates channel.
type statusUpdate struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	Msg       string `json:"msg"`
}

// availability is a status update saying whether the bot is on the bus.
func availability(state string) statusUpdate {
	return statusUpdate{Timestamp: time.Now().UnixMilli(), Type: "availability", Msg: state}
}
