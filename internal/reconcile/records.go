package reconcile

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/nectarhq/nectar/internal/atomicfile"
	"github.com/nectarhq/nectar/internal/plan"
)

// records keeps, per bot, what nectar applied when it last created the
// bot's container: the hash and the digests of its parts. The container's
// label holds the hash; the record adds what is needed to say which part
// changed. Records hold keyed digests only, never contents.
type records struct{ dir string }

func (rs *records) path(bot string) string {
	return filepath.Join(rs.dir, "applied", bot+".json")
}

// sweep removes temporary files a killed write left behind. It must not
// run while records are being written: passes call it before acting.
func (rs *records) sweep() error {
	return atomicfile.RemoveStale(filepath.Join(rs.dir, "applied"))
}

func (rs *records) read(bot string) (plan.Applied, bool) {
	var a plan.Applied
	data, err := os.ReadFile(rs.path(bot))
	if err != nil || json.Unmarshal(data, &a) != nil {
		return plan.Applied{}, false
	}
	return a, true
}

func (rs *records) write(bot string, a plan.Applied) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(rs.path(bot))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	return atomicfile.WriteFile(rs.path(bot), data, 0o600)
}
