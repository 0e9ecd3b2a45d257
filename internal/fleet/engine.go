package fleet

import (
	"io/fs"

	"gopkg.in/yaml.v3"
)

// EngineOf reads only engine: from the source's nectar.yaml, so nectar can
// connect to the right engine before it loads the whole fleet. Anything it
// cannot read counts as the default engine; the full load then reports
// the problem, and a pass refuses a fleet whose engine differs from the
// one nectar connected to.
func EngineOf(fsys fs.FS) string {
	data, err := fs.ReadFile(fsys, SettingsFile)
	if err != nil || len(data) > MaxFileSize {
		return EngineDocker
	}
	var y struct {
		Engine string `yaml:"engine"`
	}
	if yaml.Unmarshal(data, &y) != nil || y.Engine != EngineSwarm {
		return EngineDocker
	}
	return EngineSwarm
}
