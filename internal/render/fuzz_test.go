package render

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzOverlayClientConfig feeds arbitrary conf_client.yml contents (the
// bot writes this file, so nectar reads whatever it left) to the overlay:
// it must never panic, and whatever it writes must be YAML holding every
// key nectar owns with the value nectar wants, with a second overlay
// finding nothing left to change.
func FuzzOverlayClientConfig(f *testing.F) {
	f.Add([]byte("instance_id: hummingbot-alpha\nlog_level: INFO\n"))
	f.Add([]byte("anchors: &a {x: 1}\nuse: *a\nlog_level: [1, 2]\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("{"))
	f.Add([]byte(""))
	f.Add([]byte("mqtt_bridge:\n  mqtt_host: localhost\n  mqtt_port: 1883\n# comment\n"))
	f.Add([]byte("&a instance_id: 1\n*a : 2\n")) // an alias key shadowing nectar's (a finding)
	want := map[string]any{"instance_id": "hummingbot-alpha", "log_level": "DEBUG",
		"mqtt_bridge": map[string]any{"mqtt_autostart": false}}
	f.Fuzz(func(t *testing.T, existing []byte) {
		out, _, err := overlayClientConfig(existing, want, [][]string{{"old_key"}})
		if err != nil {
			return
		}
		var got map[string]any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("overlay wrote YAML that does not parse: %v\n%s", err, out)
		}
		if got["instance_id"] != "hummingbot-alpha" || got["log_level"] != "DEBUG" {
			t.Fatalf("overlay lost nectar's keys:\n%s", out)
		}
		if _, changed, err := overlayClientConfig(out, want, nil); err != nil || changed {
			t.Fatalf("a second overlay changed its own output (err %v):\n%s", err, out)
		}
	})
}
