package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/testenv"
)

// A command that needs a local folder tells a remote from a missing folder
// the way a pass does (source.IsGit): any scp-like user@host:path is a
// remote, not only git@..., and a folder whose name looks like one is a
// folder.
func TestFolderTellsRemoteFromMissing(t *testing.T) {
	t.Setenv("NECTAR_AGE_KEY_FILE", testenv.DemoIdentity())
	dir := t.TempDir()
	looksRemote := "me@host:fleet"
	if err := os.CopyFS(filepath.Join(dir, looksRemote), os.DirFS(filepath.Join(testenv.Root(), "examples", "quickstart"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	const remote = "is not a local folder\nnectar: hint: this command changes files: run it in a clone of the repository, then commit and push"
	for _, tt := range []struct {
		source string
		code   int
		want   string
	}{
		{"deploy@git.example.com:fleets/prod.git", 1, "--source deploy@git.example.com:fleets/prod.git " + remote},
		{"git@github.com:org/fleet.git", 1, "--source git@github.com:org/fleet.git " + remote},
		{"https://oauth2:s3cret@example.com/fleet.git", 1, "--source https://oauth2:xxxxx@example.com/fleet.git " + remote},
		{"nofleet", 1, "fleet folder nofleet not found"},
		{"git@nowhere", 1, "fleet folder git@nowhere not found"}, // no path: not scp-like
		{looksRemote, 0, "fleet quickstart is valid"},
	} {
		code, out := nectarCode(t, "--source", tt.source, "validate")
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("nectar --source %s validate exited %d, want %d with %q:\n%s", tt.source, code, tt.code, tt.want, out)
		}
		if strings.Contains(out, "s3cret") {
			t.Errorf("the output shows the source's password:\n%s", out)
		}
	}
}
