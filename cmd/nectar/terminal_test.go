package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession runs nectar on a pseudo-terminal, like a person at a shell.
type ptySession struct {
	t    *testing.T
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer // the whole transcript
	seen int          // how much of it earlier questions consumed
	done chan error
}

func startOnTerminal(t *testing.T, dir string, env []string, args ...string) *ptySession {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NECTAR_TEST_AS_MAIN=1"), env...)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, tty: tty, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { tty.Close(); cmd.Process.Kill() })
	return s
}

func (s *ptySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// answer waits for a question to appear, then types a line.
func (s *ptySession) answer(question, line string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.output()
		if i := strings.Index(out[s.seen:], question); i >= 0 {
			// The next question must appear after this one.
			s.seen += i + len(question)
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no question %q; output so far:\n%s", question, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.tty.Write([]byte(line + "\r"))
}

func (s *ptySession) wait() (string, error) {
	s.t.Helper()
	select {
	case err := <-s.done:
		time.Sleep(50 * time.Millisecond) // let the reader drain
		return s.output(), err
	case <-time.After(20 * time.Second):
		s.t.Fatalf("nectar did not finish; output:\n%s", s.output())
		return "", nil
	}
}

// TestCredAddPromptsOnTerminal types a credential at nectar's prompts:
// secret fields must not echo, plain fields may, and the result must be
// what was typed.
func TestCredAddPromptsOnTerminal(t *testing.T) {
	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := newFleetWithAccount(t, work)

	s := startOnTerminal(t, work, env, "--source", "fleet", "cred", "add", "main", "hyperliquid_perpetual")
	s.answer("hyperliquid_perpetual_address (secret): ", "")                   // required: asked again
	s.answer("hyperliquid_perpetual_address (secret): ", "0xTYPED-ADDRESS")    // hidden
	s.answer("hyperliquid_perpetual_secret_key (secret): ", "TYPED-SECRET-42") // hidden
	mode := "hyperliquid_perpetual_mode (one of: arb_wallet, api_wallet; leave empty for Hummingbot's default): "
	s.answer(mode, "vault_wallet") // not a mode Hummingbot knows: asked again
	s.answer(mode, " API_Wallet")  // stored as Hummingbot declares it
	s.answer("use_vault (yes or no; leave empty for Hummingbot's default): ", "")
	out, err := s.wait()
	if err != nil {
		t.Fatalf("cred add failed: %v\n%s", err, out)
	}
	if strings.Contains(out, "TYPED-SECRET-42") || strings.Contains(out, "0xTYPED-ADDRESS") {
		t.Fatalf("a secret was echoed:\n%s", out)
	}
	if !strings.Contains(out, "hyperliquid_perpetual_mode takes one of: arb_wallet, api_wallet.") {
		t.Errorf("a refused answer was not explained:\n%s", out)
	}
	if !strings.Contains(out, "added hyperliquid_perpetual to account main") {
		t.Fatalf("output:\n%s", out)
	}

	// What was typed is what was stored: read it back through the CLI's
	// own validation and the age library.
	ids := filepath.Join(home, ".config", "nectar", "age.key")
	plain := decryptFile(t, ids, filepath.Join(work, "fleet", "accounts", "main", "hyperliquid_perpetual.yml.age"))
	for _, want := range []string{"hyperliquid_perpetual_address: 0xTYPED-ADDRESS", "hyperliquid_perpetual_secret_key: TYPED-SECRET-42", "hyperliquid_perpetual_mode: api_wallet"} {
		if !strings.Contains(plain, want) {
			t.Errorf("stored credential lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "use_vault") {
		t.Error("an empty answer must leave Hummingbot's default, not write the field")
	}
}

// TestCredAddNumbersOnTerminal: a number typed for a whole-number field is
// taken (the prompt reads it as YAML would), a word is asked for again.
func TestCredAddNumbersOnTerminal(t *testing.T) {
	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := newFleetWithAccount(t, work)
	s := startOnTerminal(t, work, env, "--source", "fleet", "cred", "add", "main", "lighter")
	s.answer("lighter_api_private_key (secret): ", "TYPED-KEY")
	s.answer("lighter_account_limit (secret): ", "TYPED-LIMIT")
	s.answer("lighter_l1_address: ", "0xL1")
	s.answer("lighter_account_index (a whole number, or nothing; leave empty for Hummingbot's default): ", "")
	s.answer("lighter_api_key_index (a whole number): ", "three") // asked again
	s.answer("lighter_api_key_index (a whole number): ", "3")
	out, err := s.wait()
	if err != nil {
		t.Fatalf("cred add failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "lighter_api_key_index takes a whole number.") || !strings.Contains(out, "added lighter to account main") {
		t.Fatalf("output:\n%s", out)
	}
	plain := decryptFile(t, filepath.Join(home, ".config", "nectar", "age.key"), filepath.Join(work, "fleet", "accounts", "main", "lighter.yml.age"))
	if !strings.Contains(plain, "lighter_api_key_index: 3\n") || strings.Contains(plain, "lighter_account_index") {
		t.Errorf("stored credential:\n%s", plain)
	}
}

// TestCredAddUnknownConnectorOnTerminal: nectar cannot ask for fields it
// does not know, and says how to pipe the YAML instead.
func TestCredAddUnknownConnectorOnTerminal(t *testing.T) {
	work := t.TempDir()
	env := newFleetWithAccount(t, work)
	s := startOnTerminal(t, work, env, "--source", "fleet", "cred", "add", "main", "my_exchange")
	out, err := s.wait()
	if err == nil || !strings.Contains(out, "does not know the fields of connector my_exchange") || !strings.Contains(out, "hint: write its YAML") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
