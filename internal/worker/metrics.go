package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopru/kopru/internal/metrics"
)

// routeMetrics holds one route's series, resolved once so the hot path does no label lookups.
type routeMetrics struct {
	received, attempts prometheus.Counter
	inflight           prometheus.Gauge
	endToEnd           prometheus.Observer
	results            map[string]prometheus.Counter
}

func newRouteMetrics(m *metrics.Metrics, route string) routeMetrics {
	rm := routeMetrics{received: m.EventsReceived.WithLabelValues(route), attempts: m.Attempts.WithLabelValues(route),
		inflight: m.Inflight.WithLabelValues(route), endToEnd: m.EndToEnd.WithLabelValues(route), results: map[string]prometheus.Counter{}}
	for _, r := range metrics.Results {
		rm.results[r] = m.Events.WithLabelValues(route, r)
	}
	return rm
}

func (rm routeMetrics) result(r string) prometheus.Counter { return rm.results[r] }
