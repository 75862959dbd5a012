package clustertest

import (
	"os"
	"testing"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

func TestMain(m *testing.M) {
	// The reaper (Ryuk) is an image from a registry, and no registry is reachable: the tests remove
	// what they create themselves.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// testcontainers logs to stderr by default; each test passes its own t.Log logger instead.
	tclog.SetDefault(tclog.NewNoopLogger())
	code := m.Run()
	removeImages()
	removeBinaries()
	os.Exit(code)
}
