package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

func TestGuardOpensProbesAndCloses(t *testing.T) {
	g := NewGuard("licrus", GuardConfig{Concurrency: 2, FailureThreshold: 3, OpenFor: time.Minute})
	var states []int
	g.OnChange(func(s int, _ time.Time) { states = append(states, s) })
	now := time.Unix(1000, 0)
	for i := 0; i < 2; i++ {
		g.record(callFailed, now)
	}
	if st, _ := g.State(); st != CircuitClosed {
		t.Fatalf("open after 2 failures (threshold 3)")
	}
	g.record(callOK, now) // a success resets the count
	for i := 0; i < 3; i++ {
		g.record(callFailed, now)
	}
	if st, until := g.State(); st != CircuitOpen || !until.Equal(now.Add(time.Minute)) {
		t.Fatalf("state %d until %v", st, until)
	}
	if ok, wait, _ := g.allow(now.Add(10 * time.Second)); ok || wait != 50*time.Second {
		t.Fatalf("allowed while open (wait %v)", wait)
	}
	if d := g.Blocked(now.Add(10 * time.Second)); d != 50*time.Second {
		t.Fatalf("blocked %v", d)
	}
	later := now.Add(61 * time.Second)
	if ok, _, _ := g.allow(later); !ok {
		t.Fatal("no probe after the open time")
	}
	if ok, _, _ := g.allow(later); ok {
		t.Fatal("a second call went through while the probe is out")
	}
	g.record(callFailed, later) // the probe failed: open again
	if st, _ := g.State(); st != CircuitOpen {
		t.Fatalf("state %d after a failed probe", st)
	}
	again := later.Add(61 * time.Second)
	if ok, _, _ := g.allow(again); !ok {
		t.Fatal("no second probe")
	}
	g.record(callOK, again)
	if st, _ := g.State(); st != CircuitClosed {
		t.Fatalf("state %d after a good probe", st)
	}
	want := []int{CircuitOpen, CircuitHalfOpen, CircuitOpen, CircuitHalfOpen, CircuitClosed}
	if len(states) != len(want) {
		t.Fatalf("transitions %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("transitions %v, want %v", states, want)
		}
	}
}

func TestBreakerOutcome(t *testing.T) {
	cases := []struct {
		err  error
		want outcome
	}{
		{nil, callOK},
		{&adapter.Error{Class: adapter.ClassRejected}, callOK},
		{&adapter.Error{Class: adapter.ClassInvalid}, callNeutral},
		{&adapter.Error{Class: adapter.ClassRetryable}, callFailed},
		{&adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonSession, Err: adapter.ErrSessionEnded}, callNeutral},
		{&adapter.Error{Class: adapter.ClassNotSent}, callFailed},
		{&adapter.Error{Class: adapter.ClassUnknown}, callFailed},
		{errors.New("plain"), callFailed},
		// Issue 11, item 14: a per-record answer (DİA 501 "kart kodu zaten kullanılıyor") shows DİA well.
		{&adapter.Error{Class: adapter.ClassUnknown, Reason: "vendor_5xx", Status: "501", PerRecord: true}, callOK},
		// Item 1: a header Go refuses to send (an event's traceparent) is the event's problem.
		{&adapter.Error{Class: adapter.ClassInvalid, Reason: adapter.ReasonHeader}, callNeutral},
		{&adapter.Error{Class: adapter.ClassRejected, Reason: "redirect"}, callOK},
	}
	for _, tc := range cases {
		if got := breakerOutcome(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestGuardConcurrencyAndRate(t *testing.T) {
	g := NewGuard("x", GuardConfig{Concurrency: 1})
	rel, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := g.acquire(ctx); err == nil {
		t.Fatal("second slot granted with concurrency 1")
	}
	rel()
	rel2, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rel2()

	// 20 calls/s with a bucket of one: the third call waits for its token (~100 ms after the first).
	r := NewGuard("y", GuardConfig{Concurrency: 4, Rate: 20, Burst: 1})
	start := time.Now()
	for i := 0; i < 3; i++ {
		rel, err := r.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	if el := time.Since(start); el < 80*time.Millisecond {
		t.Fatalf("3 calls at 20/s took %v; the rate limit did not hold", el)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	p := Policy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second}.WithDefaults()
	prevMax := time.Duration(0)
	for i := 0; i < 10; i++ {
		d := backoffAfter(p, i+1)
		base := min(p.InitialInterval<<i, p.MaxInterval)
		if d < base/2 || d > base*3/2 {
			t.Fatalf("step %d: %v outside %v ±50%%", i, d, base)
		}
		prevMax = max(prevMax, d)
	}
	if prevMax > 1500*time.Millisecond {
		t.Fatalf("backoff passed its cap: %v", prevMax)
	}
	if p.Lease() <= p.AttemptTimeout {
		t.Fatalf("lease %v not longer than an attempt %v", p.Lease(), p.AttemptTimeout)
	}
}

// TestGuardOpenExpiresToHalfOpenWhenIdle: with no call at all after the circuit opened, the state
// (which kopru_circuit_state and kopru status show) moves to half-open when the open time is over,
// and the next call is the probe. A circuit opened again meanwhile keeps its later deadline.
func TestGuardOpenExpiresToHalfOpenWhenIdle(t *testing.T) {
	const openFor = 500 * time.Millisecond
	g := NewGuard("licrus", GuardConfig{FailureThreshold: 1, OpenFor: openFor})
	changes := make(chan int, 10)
	g.OnChange(func(s int, _ time.Time) { changes <- s })
	t1 := time.Now()
	g.record(callFailed, t1)
	if s := <-changes; s != CircuitOpen {
		t.Fatalf("first change %d, want open", s)
	}
	time.Sleep(openFor / 2)
	t2 := time.Now()
	g.record(callFailed, t2) // opened again (an in-flight call failed): a later until
	// The first open time's timer, run now rather than waited for: its until is stale, the circuit
	// stays open. (Unless this goroutine stalled past the second until, when the real timer may
	// already have moved it.)
	g.expire(t1.Add(openFor))
	if st, _ := g.State(); st != CircuitOpen && time.Now().Before(t2.Add(openFor)) {
		t.Fatalf("state %d after the first until's expiry, before the later until", st)
	}
	// The real timers: the first one's expiry changes nothing, the second's moves the circuit to
	// half-open, never before the later until (a timer fires no earlier than OpenFor after record).
	select {
	case s := <-changes:
		if s != CircuitHalfOpen {
			t.Fatalf("change %d, want half-open", s)
		}
		if now := time.Now(); now.Before(t2.Add(openFor)) {
			t.Fatalf("half-open %v before the later until (the first open time moved it)", t2.Add(openFor).Sub(now))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the circuit stayed open on an idle guard after its open time")
	}
	if st, _ := g.State(); st != CircuitHalfOpen {
		t.Fatalf("state %d after the open time, want half-open", st)
	}
	if ok, _, _ := g.allow(time.Now()); !ok {
		t.Fatal("no probe after half-open")
	}
	if ok, _, _ := g.allow(time.Now()); ok {
		t.Fatal("a second call went through while the probe is out")
	}
	g.record(callOK, time.Now())
	if st, _ := g.State(); st != CircuitClosed {
		t.Fatalf("state %d after a good probe", st)
	}
}
