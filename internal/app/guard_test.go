package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/worker"
)

// While Licrus is down the circuit opens, the route's consumer is paused, and events wait without
// burning their retry budget; when Licrus is back every event succeeds once.
func TestCircuitOpensPausesConsumerAndRecovers(t *testing.T) {
	guard := worker.NewGuard("licrus", worker.GuardConfig{Concurrency: 8, FailureThreshold: 3, OpenFor: 700 * time.Millisecond})
	s := newStack(t, fast, func(r *worker.Route) {
		r.Guard = guard
		r.Policy.MaxAttempts = 4
		r.Policy.Concurrency = 4
	})
	s.sim.Faults.Always(&sim.Fault{Status: 503})
	const n = 10
	for i := 0; i < n; i++ {
		s.publish(newEvent(t), "")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := guard.State(); st == worker.CircuitOpen {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, _ := guard.State(); st != worker.CircuitOpen {
		t.Fatalf("circuit state %d, want open", st)
	}
	if got := testutilToFloat(s.app.Metrics.Circuit.WithLabelValues("licrus")); got != worker.CircuitOpen {
		t.Fatalf("kopru_circuit_state = %v, want 2", got)
	}
	info, err := s.js.Consumer(context.Background(), bus.StreamEvents, "licrus-installation")
	if err != nil {
		t.Fatal(err)
	}
	paused := false
	for end := time.Now().Add(2 * time.Second); !paused && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		ci, err := info.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		paused = ci.Paused
	}
	if !paused {
		t.Fatalf("consumer not paused while the circuit is open")
	}
	// `kopru status` sees it from any machine, without the worker's metrics.
	o, err := ops.New(context.Background(), s.js, ops.Options{Routes: app.OpsRoutes(routes.Builtin())})
	if err != nil {
		t.Fatal(err)
	}
	st, err := o.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Routes {
		if r.Route == "licrus-installation" && r.PausedUntil.IsZero() {
			t.Fatalf("status does not show the route paused: %+v", r)
		}
	}
	for _, ts := range st.Targets {
		if ts.Target == "licrus" && ts.Circuit != "open" {
			t.Fatalf("status shows the licrus circuit %q, want open", ts.Circuit)
		}
	}
	// Let it fail a little longer (probes), then recover.
	time.Sleep(1500 * time.Millisecond)
	requestsWhileDown := s.sim.Requests()
	s.sim.Faults.Reset()
	outs := s.outcomes(n, 20*time.Second)
	if len(outs) != n {
		t.Fatalf("%d outcomes after recovery, want %d (dead letters: %d)", len(outs), n, len(s.deadLetters(-1, 100*time.Millisecond)))
	}
	if dl := s.deadLetters(-1, 100*time.Millisecond); len(dl) != 0 {
		t.Fatalf("%d dead letters: the open circuit burnt retry budgets", len(dl))
	}
	if s.sim.CallCount() != n {
		t.Fatalf("%d calls accepted, want %d", s.sim.CallCount(), n)
	}
	// Without a breaker, 10 events × 4 attempts would be 40 requests while down.
	if requestsWhileDown >= 4*n {
		t.Fatalf("%d requests reached the failing vendor; the breaker did not hold them back", requestsWhileDown)
	}
	if st, _ := guard.State(); st != worker.CircuitClosed {
		t.Fatalf("circuit state %d after recovery, want closed", st)
	}
	if got := testutilToFloat(s.app.Metrics.Retries.WithLabelValues("licrus-installation", "circuit_open")); got == 0 {
		t.Fatalf("no circuit_open retries counted")
	}
}

// An event that waits for a call slot after its claim renews its ledger lease before calling, so the
// `started` entry never announces a call older than the lease allows (another delivery would take the
// event for abandoned while its call is under way).
func TestWaitForCallSlotRenewsLease(t *testing.T) {
	guard := worker.NewGuard("licrus", worker.GuardConfig{Concurrency: 1})
	s := newStack(t, fast, func(r *worker.Route) {
		r.Guard = guard
		r.Policy.Concurrency = 2 // two events claimed at once, one call slot
		r.Policy.AttemptTimeout = time.Second
		r.Policy.AckWait = 3 * time.Second // lease 2 s: renewed after waiting more than 0.5 s
	})
	s.sim.Faults.Always(&sim.Fault{Delay: 800 * time.Millisecond})
	a, b := newEvent(t), newEvent(t)
	s.publish(a, "")
	s.publish(b, "")
	outs := s.outcomes(2, 15*time.Second)
	if len(outs) != 2 || s.sim.CallCount() != 2 {
		t.Fatalf("%d outcomes, %d calls; want 2 and 2", len(outs), s.sim.CallCount())
	}
	calls := s.sim.Calls()
	first := calls[0]
	if calls[1].At.Before(first.At) {
		first = calls[1]
	}
	// Both events were claimed at once; the one that waited for the first call (0.8 s) must have had
	// its entry stamped again once the slot was free: no earlier than the end of that first call.
	kv, err := s.js.KeyValue(context.Background(), bus.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	var latest time.Time
	for _, ev := range []*event.Envelope{a, b} {
		kve, err := kv.Get(context.Background(), ledger.Key("licrus-installation", ev.ID))
		if err != nil {
			t.Fatal(err)
		}
		var e ledger.Entry
		if err := json.Unmarshal(kve.Value(), &e); err != nil {
			t.Fatal(err)
		}
		if e.State != ledger.Succeeded || e.Attempts != 1 {
			t.Fatalf("entry of %s: %+v", ev.ID, e)
		}
		if e.StartedAt.After(latest) {
			latest = e.StartedAt
		}
	}
	if latest.Before(first.At.Add(-100 * time.Millisecond)) {
		t.Fatalf("the waiting event's lease was not renewed: latest start %s, the call it waited for ended %s",
			latest.Format(time.RFC3339Nano), first.At.Format(time.RFC3339Nano))
	}
}
