package plan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPartKeyText: a key is written as records have always held it, and
// read back the same, a file's path with its slashes included.
func TestPartKeyText(t *testing.T) {
	for _, tt := range []struct {
		key  PartKey
		text string
	}{
		{Part(PartImage, ""), "image"},
		{Part(PartEnv, "TZ"), "env/TZ"},
		{Part(PartSetting, "stop timeout"), "setting/stop timeout"},
		{Part(PartMount, "/home/hummingbot/conf"), "mount//home/hummingbot/conf"},
		{Part(PartFile, "conf/scripts/x.yml"), "file/conf/scripts/x.yml"},
		{Part(PartCredential, "binance"), "credential/binance"},
		{PartKey{Kind: partSettings}, "container settings"},
	} {
		b, _ := tt.key.MarshalText()
		if string(b) != tt.text {
			t.Errorf("%#v written %q, want %q", tt.key, b, tt.text)
		}
		var back PartKey
		back.UnmarshalText(b)
		if back != tt.key {
			t.Errorf("%q read as %#v, want %#v", b, back, tt.key)
		}
	}
}

// TestOldRecordJSON: a record as an older nectar wrote it, coarse parts
// and all, reads into typed keys and explains what both forms share.
func TestOldRecordJSON(t *testing.T) {
	const record = `{"Hash":"h1","Image":"img","Parts":{"image":"i1","password":"p1","credential/binance":"c1",
		"file/conf/scripts/a.yml":"f1","environment":"e1","container settings":"s1"}}`
	var last Applied
	if err := json.Unmarshal([]byte(record), &last); err != nil {
		t.Fatal(err)
	}
	if last.Parts[Part(PartFile, "conf/scripts/a.yml")] != "f1" || last.Parts[PartKey{Kind: partEnvironment}] != "e1" {
		t.Fatalf("parts read as %v", last.Parts)
	}
	d := Desired{Image: "img", Hash: "h2", Parts: Parts{
		Part(PartImage, ""): "i1", Part(PartPassword, ""): "p1", Part(PartCredential, "binance"): "c2",
		Part(PartFile, "conf/scripts/a.yml"): "f2", Part(PartEnv, "TZ"): "t1", Part(PartSetting, "network"): "n1",
	}}
	got := changeReason(d, last, "h1")
	for _, want := range []string{"credential binance changed", "conf/scripts/a.yml changed"} {
		if !strings.Contains(got, want) {
			t.Errorf("reason %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "TZ") || strings.Contains(got, "network") {
		t.Errorf("reason %q compares fine parts with coarse ones", got)
	}
	// Written again, the record keeps the text form.
	out, _ := json.Marshal(Applied{Hash: "h2", Parts: d.Parts})
	for _, k := range []string{`"env/TZ"`, `"setting/network"`, `"file/conf/scripts/a.yml"`} {
		if !strings.Contains(string(out), k) {
			t.Errorf("%s lacks %s", out, k)
		}
	}
}

// TestKindsListsEveryKind: the one list of kinds that summaries and
// metrics use holds each kind once.
func TestKindsListsEveryKind(t *testing.T) {
	seen := map[Kind]bool{}
	for _, k := range Kinds() {
		if seen[k] {
			t.Errorf("%s listed twice", k)
		}
		seen[k] = true
	}
	for _, k := range []Kind{Create, Recreate, Restart, Start, Stop, Remove, None, Wait, CrashLoop, Held, Stalled, Orphan, Suspended} {
		if !seen[k] {
			t.Errorf("%s is not listed", k)
		}
	}
	Kinds()[0] = "changed"
	if Kinds()[0] != Create {
		t.Error("a caller changed the list")
	}
}
