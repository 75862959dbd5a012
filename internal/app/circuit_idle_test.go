package app_test

import (
	"context"
	"sync"
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
	// Every change with the gauge as the worker left it (its callback runs first): asserting "still
	// open" by polling after the dead letter would race the open time.
	gauge := s.app.Metrics.Circuit.WithLabelValues("licrus")
	type change struct {
		state int
		gauge float64
		at    time.Time
	}
	var mu sync.Mutex
	var seen []change
	guard.OnChange(func(st int, _ time.Time) {
		mu.Lock()
		seen = append(seen, change{st, testutilToFloat(gauge), time.Now()})
		mu.Unlock()
	})
	changes := func() []change { mu.Lock(); defer mu.Unlock(); return append([]change(nil), seen...) }
	s.sim.Faults.Always(&sim.Fault{Status: 503})
	s.publish(newEvent(t), "")
	if dl := s.deadLetters(1, 10*time.Second); len(dl) != 1 {
		t.Fatalf("%d dead letters, want the one exhausted event", len(dl))
	}
	s.sim.Faults.Reset() // the vendor is back; no event arrives
	for deadline := time.Now().Add(5 * time.Second); len(changes()) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cs := changes()
	if len(cs) != 2 || cs[0].state != worker.CircuitOpen || cs[0].gauge != worker.CircuitOpen {
		t.Fatalf("changes %+v, want open (gauge 2) then half-open", cs)
	}
	if cs[1].state != worker.CircuitHalfOpen || cs[1].gauge != worker.CircuitHalfOpen || cs[1].at.Sub(cs[0].at) < openFor {
		t.Fatalf("changes %+v: want half-open (gauge 1) once the open time (%v) was over, on an idle system", cs, openFor)
	}
	if got := testutilToFloat(gauge); got != worker.CircuitHalfOpen {
		t.Fatalf("kopru_circuit_state = %v after opening on an idle system, want 1 (half-open)", got)
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
