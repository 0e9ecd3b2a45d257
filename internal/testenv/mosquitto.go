package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Broker is a mosquitto broker a test started for itself: on a free
// loopback port, with its own configuration, anonymous clients refused.
type Broker struct {
	Host     string
	Port     int
	Username string
	Password string
	log      *SyncBuffer
}

// mosquittoPath finds Debian's broker (in /usr/sbin, which a user's PATH
// may lack).
func mosquittoPath() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mosquitto not found (apt-get install mosquitto)")
}

// RequireMosquitto skips the test when the mosquitto broker is not
// installed, or fails it when NECTAR_REQUIRE_DOCKER is set (.ci/run
// installs it, so CI never skips).
func RequireMosquitto(t testing.TB) string {
	t.Helper()
	p, err := mosquittoPath()
	if err != nil {
		if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
			t.Fatalf("mosquitto is required (NECTAR_REQUIRE_DOCKER is set): %v", err)
		}
		t.Skipf("no MQTT broker: %v", err)
	}
	return p
}

// StartMosquitto starts a broker on a free port of 127.0.0.1 that lets in
// only username with password, and stops it when the test ends.
func StartMosquitto(t testing.TB, username, password string) *Broker {
	t.Helper()
	bin := RequireMosquitto(t)
	dir := t.TempDir()
	return startMosquittoIn(t, bin, dir, FreePort(t), username, password)
}

// StartMosquittoOn starts a broker like StartMosquitto on a given port,
// for a test that needs one to appear where a client already looks.
func StartMosquittoOn(t testing.TB, port int, username, password string) *Broker {
	t.Helper()
	return startMosquittoIn(t, RequireMosquitto(t), t.TempDir(), port, username, password)
}

func startMosquittoIn(t testing.TB, bin, dir string, port int, username, password string) *Broker {
	t.Helper()
	// The password goes into the file in plaintext and mosquitto_passwd
	// hashes it in place, so it is never an argument.
	pwFile := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pwFile, []byte(username+":"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		passwd = "/usr/bin/mosquitto_passwd"
	}
	if out, err := exec.Command(passwd, "-U", pwFile).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd -U: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\nlog_type all\n", port, pwFile)
	if u, err := user.Current(); err == nil {
		// Started as root, mosquitto would drop to its own user, which
		// cannot read the test's folder.
		conf += "user " + u.Username + "\n"
	}
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{Host: "127.0.0.1", Port: port, Username: username, Password: password, log: &SyncBuffer{}}
	cmd := exec.Command(bin, "-c", confFile)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	addr := net.JoinHostPort(b.Host, strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return b
		}
		select {
		case <-done:
			t.Fatalf("mosquitto exited at start:\n%s", b.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s:\n%s", addr, b.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what the broker logged so far.
func (b *Broker) Log() string { return b.log.String() }

// FreePort returns a loopback port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Message is one message a Watcher received.
type Message struct {
	Topic   string
	Payload []byte
	At      time.Time
}

// Watcher records every message published on a topic filter.
type Watcher struct {
	mu   sync.Mutex
	msgs []Message
}

// Watch subscribes to filter (MQTT wildcards allowed) as the broker's
// user until the test ends.
func (b *Broker) Watch(t testing.TB, filter string) *Watcher {
	t.Helper()
	w := &Watcher{}
	opts := paho.NewClientOptions().
		AddBroker(fmt.Sprintf("tcp://%s", net.JoinHostPort(b.Host, strconv.Itoa(b.Port)))).
		SetClientID(fmt.Sprintf("nectar-test-%d", time.Now().UnixNano())).
		SetUsername(b.Username).SetPassword(b.Password).
		SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("test client cannot connect to the broker: %v\n%s", tok.Error(), b.Log())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.msgs = append(w.msgs, Message{Topic: m.Topic(), Payload: bytes.Clone(m.Payload()), At: time.Now()})
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribing to %s: %v", filter, tok.Error())
	}
	return w
}

// Messages returns what arrived so far, on topic alone when it is not "".
func (w *Watcher) Messages(topic string) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Message
	for _, m := range w.msgs {
		if topic == "" || m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// WaitFor waits until at least n messages arrived on topic, and returns
// them; false when timeout passed first.
func (w *Watcher) WaitFor(topic string, n int, timeout time.Duration) ([]Message, bool) {
	deadline := time.Now().Add(timeout)
	for {
		got := w.Messages(topic)
		if len(got) >= n {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
