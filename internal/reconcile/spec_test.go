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

// Limits are read as Docker's CLI reads --cpus and --memory.
func TestParseResources(t *testing.T) {
	for _, tt := range []struct {
		cpus, memory string
		nano, bytes  int64
		bad          bool
	}{
		{cpus: "0.5", nano: 5e8},
		{cpus: "2", memory: "512m", nano: 2e9, bytes: 512 << 20},
		{memory: "1g", bytes: 1 << 30},
		{memory: "1.5GB", bytes: 3 << 29},
		{memory: "1024b", bytes: 1024},
		{memory: "100", bytes: 100},
		{memory: "0", bad: true},
		{memory: "-1g", bad: true},
		{memory: "lots", bad: true},
		{cpus: "0", bad: true},
		{cpus: "two", bad: true},
	} {
		got, err := parseResources(fleet.Resources{CPUs: tt.cpus, Memory: tt.memory})
		switch {
		case tt.bad && err == nil:
			t.Errorf("%q/%q: no error", tt.cpus, tt.memory)
		case !tt.bad && (err != nil || got.NanoCPUs != tt.nano || got.MemoryBytes != tt.bytes):
			t.Errorf("%q/%q: got %+v, %v; want %d CPUs(n), %d bytes", tt.cpus, tt.memory, got, err, tt.nano, tt.bytes)
		}
	}
}
