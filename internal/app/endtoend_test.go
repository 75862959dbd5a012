package app_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kopru/kopru/internal/event"
)

// TestAbsurdProducerTimeDoesNotSkewEndToEnd (issue 11, item 12): an event stamped year 0001 (or
// 9999) added 6e10 s to kopru_event_end_to_end_seconds; such times are ignored in favour of when
// JetStream stored the event.
func TestAbsurdProducerTimeDoesNotSkewEndToEnd(t *testing.T) {
	s := newStack(t, fast)
	for _, ts := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)} {
		env := event.New("installation.requested", "clockless-producer", exampleData(t))
		env.Time = ts
		s.publish(env, "")
	}
	if outs := s.outcomes(3, 10*time.Second); len(outs) != 3 {
		t.Fatalf("%d outcomes, want 3", len(outs))
	}
	var m dto.Metric
	if err := s.app.Metrics.EndToEnd.WithLabelValues("licrus-installation").(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() < 0 || h.GetSampleSum() > 30 {
		t.Fatalf("end-to-end: %d samples summing to %.0f s, want 3 of a few ms", h.GetSampleCount(), h.GetSampleSum())
	}
}
