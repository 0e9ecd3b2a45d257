package reconcile

import (
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
)

// TestGatewayCertsMount: the fleet's gateway certificates folder is bound
// where Hummingbot reads it, and adding, moving or dropping it changes
// the bot's hash (so the bot is recreated); a bot without one keeps the
// spec it had before the setting existed.
func TestGatewayCertsMount(t *testing.T) {
	bot := func(certs string) *fleet.Bot {
		return &fleet.Bot{Name: "alpha", Account: "main", Image: "img", Launch: fleet.LaunchHbot,
			Config: "c.yml", ConfigKind: fleet.ConfigScript, GatewayCerts: certs}
	}
	spec := func(certs string) string {
		s, err := containerSpec("f", "rev", "hash", "/state/instances/alpha", bot(certs), "pw")
		if err != nil {
			t.Fatal(err)
		}
		return specForHash(s)
	}
	plain, certs, moved := spec(""), spec("/srv/certs"), spec("/srv/other-certs")
	if strings.Contains(plain, "certs") {
		t.Errorf("a bot without gateway_certs has a certs mount:\n%s", plain)
	}
	if !strings.Contains(certs, "mount=/srv/certs:/home/hummingbot/certs:ro\n") {
		t.Errorf("no read-only certs mount at /home/hummingbot/certs:\n%s", certs)
	}
	if plain == certs || certs == moved {
		t.Error("the certs folder does not shape the hash")
	}
	if strings.Replace(certs, "mount=/srv/certs:/home/hummingbot/certs:ro\n", "", 1) != plain {
		t.Errorf("gateway_certs changed more than its mount:\n%s\nvs\n%s", certs, plain)
	}
}
