package render

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
)

// A field Hummingbot types as a secret but never decrypts (is_secure
// false, e.g. lighter_account_limit) is written as it is, even from
// secrets:; Hummingbot would otherwise read nectar's ciphertext as the
// value. Its sibling that Hummingbot decrypts stays encrypted.
func TestPlaintextSecretWrittenAsIs(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	acct := f.Accounts["team"]
	acct.Connectors = append(acct.Connectors, "lighter")
	acct.Credentials["lighter"] = &fleet.Credential{Account: "team", Connector: "lighter",
		Secrets: []fleet.SecretField{
			{Name: "lighter_api_private_key", Value: "lighter-KEY-marker"},
			{Name: "lighter_account_limit", Value: "5"},
		},
		Settings: []fleet.Field{{Name: "lighter_l1_address", Value: "0xL1"}, {Name: "lighter_api_key_index", Value: int64(2)}},
	}
	f.Bots["beta"].Connectors = append(f.Bots["beta"].Connectors, "lighter")
	mustRender(t, r, f, "beta")
	got := readFile(t, filepath.Join(dir, "instances", "beta", "conf", "connectors", "lighter.yml"))
	if !strings.Contains(got, "\nlighter_account_limit: \"5\"\n") {
		t.Errorf("lighter_account_limit is not in plaintext:\n%s", got)
	}
	if strings.Contains(got, "lighter-KEY-marker") || !strings.Contains(got, "\nlighter_api_private_key: ") {
		t.Errorf("lighter_api_private_key is not encrypted:\n%s", got)
	}
}
