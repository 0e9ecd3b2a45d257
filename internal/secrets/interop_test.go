package secrets

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireAgeCLI skips the test when the age CLI is missing, unless
// NECTAR_REQUIRE_DOCKER is set (as in CI, which installs it): then its
// absence is a failure.
func requireAgeCLI(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"age", "age-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("NECTAR_REQUIRE_DOCKER") != "" {
				t.Fatalf("the %s CLI is required (NECTAR_REQUIRE_DOCKER is set) but not installed", tool)
			}
			t.Skip("age CLI not installed")
		}
	}
}

func runAge(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestAgeCLIEncryptsNectarDecrypts: files from `age -e` (binary and armored,
// to an age key and to an SSH key) decrypt with identities nectar loads.
func TestAgeCLIEncryptsNectarDecrypts(t *testing.T) {
	requireAgeCLI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "age.key")
	recipient, err := GenerateIdentity(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := LoadIdentities(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sshPriv, sshPub := sshKey(t)
	sshFile, sshPubFile := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "id_ed25519.pub")
	os.WriteFile(sshFile, sshPriv, 0o600)
	os.WriteFile(sshPubFile, []byte(sshPub+"\n"), 0o600)
	sshIDs, err := LoadIdentities(sshFile)
	if err != nil {
		t.Fatal(err)
	}

	plain := []byte(secretPlain)
	tests := []struct {
		name string
		args []string
		ids  *Identities
	}{
		{"binary", []string{"-e", "-r", recipient}, ids},
		{"armored", []string{"-e", "-a", "-r", recipient}, ids},
		{"ssh recipient", []string{"-e", "-a", "-R", sshPubFile}, sshIDs},
		{"empty plaintext", []string{"-e", "-r", recipient}, ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := plain
			if tt.name == "empty plaintext" {
				in = nil
			}
			ct := runAge(t, in, "age", tt.args...)
			got, err := Decrypt(ct, tt.ids)
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// TestNectarEncryptsAgeCLIDecrypts: Encrypt's output decrypts with `age -d`,
// using the identity GenerateIdentity wrote, and an SSH key.
func TestNectarEncryptsAgeCLIDecrypts(t *testing.T) {
	requireAgeCLI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "nested", "age.key")
	recipient, err := GenerateIdentity(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sshPriv, sshPub := sshKey(t)
	sshFile := filepath.Join(dir, "id_ed25519")
	os.WriteFile(sshFile, sshPriv, 0o600)

	rs, err := ParseRecipients([]string{recipient, sshPub})
	if err != nil {
		t.Fatal(err)
	}
	ctFile := filepath.Join(dir, "binance.yml.age")
	if err := os.WriteFile(ctFile, mustEncrypt(t, []byte(secretPlain), rs...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{keyFile, sshFile} {
		if got := runAge(t, nil, "age", "-d", "-i", key, ctFile); string(got) != secretPlain {
			t.Errorf("age -d -i %s: got %q", key, got)
		}
	}
	// age-keygen agrees on the recipient of the file GenerateIdentity wrote.
	if got := strings.TrimSpace(string(runAge(t, nil, "age-keygen", "-y", keyFile))); got != recipient {
		t.Errorf("age-keygen -y: %s, GenerateIdentity: %s", got, recipient)
	}
}

// TestAgeKeygenIdentity: a key file age-keygen writes loads, and decrypts
// what age encrypts to it.
func TestAgeKeygenIdentity(t *testing.T) {
	requireAgeCLI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.txt")
	runAge(t, nil, "age-keygen", "-o", keyFile)
	recipient := strings.TrimSpace(string(runAge(t, nil, "age-keygen", "-y", keyFile)))

	identityEnv(t)
	t.Setenv(EnvKeyFile, keyFile)
	ids, err := LoadIdentities("")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids.Recipients) != 1 || ids.Recipients[0] != recipient {
		t.Fatalf("recipients %q, want %s", ids.Recipients, recipient)
	}
	ct := runAge(t, []byte(secretPlain), "age", "-e", "-a", "-r", recipient)
	if got, err := Decrypt(ct, ids); err != nil || string(got) != secretPlain {
		t.Fatalf("got %q, %v", got, err)
	}
}
