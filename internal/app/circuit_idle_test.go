package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/worker"
)

// After the vendor fails once and nothing else arrives, the circuit leaves "open" when its open time
// is over: kopru_circuit_state and `kopru status` say half-open (the next event is the probe), so
// KopruCircuitOpen does not keep firing on an idle system whose vendor has recovered.
func TestIdleCircuitLeavesOpenAfterOpenFor(t *testing.T) {
	const openFor = 400 * time.Millisecond
	guard := worker.NewGuard("licrus", worker.GuardConfig{FailureThreshold: 1, OpenFor: openFor})
	s := newStack(t, fast, func(r *worker.Route) {
		r.Guard = guard
		r.Policy.MaxAttempts = 1
	})
	s.sim.Faults.Always(&sim.Fault{Status: 503})
	s.publish(newEvent(t), "")
	if dl := s.deadLetters(1, 10*time.Second); len(dl) != 1 {
		t.Fatalf("%d dead letters, want the one exhausted event", len(dl))
	}
	gauge := s.app.Metrics.Circuit.WithLabelValues("licrus")
	if st, _ := guard.State(); st != worker.CircuitOpen || testutilToFloat(gauge) != worker.CircuitOpen {
		t.Fatalf("after the failure: state %d, gauge %v, want open (2)", st, testutilToFloat(gauge))
	}
	opened := time.Now()
	s.sim.Faults.Reset() // the vendor is back; no event arrives
	for testutilToFloat(gauge) == worker.CircuitOpen && time.Since(opened) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutilToFloat(gauge); got != worker.CircuitHalfOpen {
		t.Fatalf("kopru_circuit_state = %v %v after opening on an idle system, want 1 (half-open)", got, time.Since(opened))
	}
	o, err := s.app.Ops(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, err := o.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range st.Targets {
		if ts.Target == "licrus" && ts.Circuit != "half-open" {
			t.Errorf("kopru status shows the licrus circuit %q, want half-open like the gauge", ts.Circuit)
		}
	}
	// The next event is the probe, and closes the circuit.
	s.publish(newEvent(t), "")
	if outs := s.outcomes(1, 10*time.Second); len(outs) != 1 {
		t.Fatalf("%d outcomes after recovery, want 1", len(outs))
	}
	if got := testutilToFloat(gauge); got != worker.CircuitClosed {
		t.Errorf("kopru_circuit_state = %v after a good probe, want 0", got)
	}
}
