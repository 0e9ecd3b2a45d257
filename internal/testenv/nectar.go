package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var nectarBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "nectar-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nectar")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/nectar")
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build nectar: %v\n%s", err, out)
	}
	return bin, nil
})

// NectarBinary builds cmd/nectar once per test binary and returns its path,
// for tests that run nectar as its own process (to kill it, say).
func NectarBinary(t testing.TB) string {
	t.Helper()
	bin, err := nectarBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
