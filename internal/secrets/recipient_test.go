package secrets

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

func TestParseRecipients(t *testing.T) {
	k, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	_, edPub := sshKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	rsaLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(rsaPub)))

	tests := []struct {
		name  string
		entry string
		want  any // the recipient type
	}{
		{"age1", k.Recipient().String(), (*age.X25519Recipient)(nil)},
		{"age1 with spaces around", "  " + k.Recipient().String() + "\n", (*age.X25519Recipient)(nil)},
		{"age1pq1", pq.Recipient().String(), (*age.HybridRecipient)(nil)},
		{"ssh-ed25519", edPub, (*agessh.Ed25519Recipient)(nil)},
		{"ssh-ed25519 with comment", string(readTestdata(t, "ssh_ed25519.pub")), (*agessh.Ed25519Recipient)(nil)},
		{"ssh-rsa", rsaLine + " ops@example", (*agessh.RSARecipient)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseRecipients([]string{tt.entry})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || fmtType(rs[0]) != fmtType(tt.want) {
				t.Fatalf("got %T, want %T", rs[0], tt.want)
			}
		})
	}
	t.Run("several", func(t *testing.T) {
		rs, err := ParseRecipients([]string{k.Recipient().String(), edPub, rsaLine})
		if err != nil || len(rs) != 3 {
			t.Fatalf("%d recipients, %v", len(rs), err)
		}
	})
	t.Run("none", func(t *testing.T) {
		rs, err := ParseRecipients(nil)
		if err != nil || len(rs) != 0 {
			t.Fatalf("%v, %v", rs, err)
		}
	})
}

func fmtType(v any) string {
	switch v.(type) {
	case *age.X25519Recipient:
		return "X25519"
	case *age.HybridRecipient:
		return "Hybrid"
	case *agessh.Ed25519Recipient:
		return "ssh-ed25519"
	case *agessh.RSARecipient:
		return "ssh-rsa"
	}
	return "other"
}

func TestParseRecipientsErrors(t *testing.T) {
	good, _ := age.GenerateX25519Identity()
	secret := good.String()
	r := good.Recipient().String()
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := ssh.NewPublicKey(&smallRSA.PublicKey)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := ssh.NewPublicKey(&ec.PublicKey)

	tests := []struct {
		name  string
		entry string
		want  string
	}{
		{"empty", "  ", "it is empty"},
		{"secret key", secret, "it is a secret key"},
		{"secret key in lower case", strings.ToLower(secret), "it is a secret key"},
		{"ssh private key", "-----BEGIN OPENSSH PRIVATE KEY-----", "it is a secret key"},
		{"bad checksum", r[:len(r)-1] + map[bool]string{true: "p", false: "q"}[strings.HasSuffix(r, "q")], "not a valid age1... key"},
		{"short", r[:30], "not a valid age1... key"},
		{"upper and lower case mixed", "age1" + strings.ToUpper(r[4:10]) + r[10:], "not a valid age1... key"},
		{"bad age1pq1", "age1pq1qqqq", "not a valid age1pq1... key"},
		{"typo makes a 1", r[:20] + "1" + r[21:], "not a valid age1... key"},
		{"plugin", "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t", "nectar does not support plugins"},
		{"ssh garbage", "ssh-ed25519 AAAAnotbase64!", "not a valid SSH public key"},
		{"small RSA", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(smallPub))), "it is a 1024-bit RSA key; age needs at least 2048 bits"},
		{"ecdsa", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ecPub))), "it is an ecdsa-sha2-nistp256 SSH key; age supports ssh-ed25519 and ssh-rsa keys only"},
		{"something else", "hello", "not an age public key (age1...) or an SSH public key"},
		{"a URL", "https://github.com/alice.keys", "not an age public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseRecipients([]string{r, r, tt.entry, r})
			if rs != nil {
				t.Fatal("returned recipients with an error")
			}
			re, ok := errors.AsType[*RecipientError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *RecipientError", err, err)
			}
			if re.Index != 2 || !strings.HasPrefix(err.Error(), "recipient 3: ") {
				t.Errorf("Index %d, message %q", re.Index, err)
			}
			if !strings.Contains(re.Reason, tt.want) {
				t.Errorf("reason %q lacks %q", re.Reason, tt.want)
			}
			// The entry is never echoed: it may be a pasted secret key.
			if e := strings.TrimSpace(tt.entry); len(e) > 8 && strings.Contains(err.Error(), e) {
				t.Errorf("message quotes the entry: %q", err)
			}
			checkSafe(t, err, secret)
		})
	}
}
