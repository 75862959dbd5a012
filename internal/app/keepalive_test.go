package app_test

import (
	"testing"
	"time"

	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/worker"
)

// A call slower than AckWait keeps its message with InProgress, so JetStream does not redeliver it;
// and the handler's reused keep-alive timer does the same for the next event it takes.
func TestSlowCallsAreKeptAliveWithoutRedelivery(t *testing.T) {
	s := newStack(t, fast, func(r *worker.Route) {
		r.Policy.Concurrency = 1
		r.Policy.AttemptTimeout = 3 * time.Second
		r.Policy.AckWait = 1600 * time.Millisecond // InProgress every ~530 ms
	})
	for i := 1; i <= 2; i++ {
		s.sim.Faults.Push(sim.Fault{Delay: 2200 * time.Millisecond})
		s.publish(newEvent(t), "")
		if outs := s.outcomes(i, 10*time.Second); len(outs) != i {
			t.Fatalf("%d outcomes, want %d", len(outs), i)
		}
	}
	if got := testutilToFloat(s.app.Metrics.EventsReceived.WithLabelValues("licrus-installation")); got != 2 {
		t.Fatalf("%v deliveries of 2 events, want 2 (a slow call was redelivered)", got)
	}
	if n := s.sim.CallCount(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}
