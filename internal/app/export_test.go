package app

import (
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/worker"
)

// KillForTest closes the NATS connection at once, as a crash would, without stopping anything else.
func (a *App) KillForTest() {
	if a.stop != nil {
		a.stop()
	}
	a.nc.Close()
}

// BuildRoutesForTest exposes the routes buildRoutes makes.
func BuildRoutesForTest(cfg config.Config, m *metrics.Metrics) ([]worker.Route, error) {
	b, err := buildRoutes(cfg, m, nil)
	return b.routes, err
}
