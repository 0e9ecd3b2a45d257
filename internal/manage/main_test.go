package manage

import (
	"os"
	"testing"

	"github.com/nectarhq/nectar/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.DefaultSignals()
	os.Exit(m.Run())
}
