package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/target"
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
	if ok, wait := g.allow(now.Add(10 * time.Second)); ok || wait != 50*time.Second {
		t.Fatalf("allowed while open (wait %v)", wait)
	}
	if d := g.Blocked(now.Add(10 * time.Second)); d != 50*time.Second {
		t.Fatalf("blocked %v", d)
	}
	later := now.Add(61 * time.Second)
	if ok, _ := g.allow(later); !ok {
		t.Fatal("no probe after the open time")
	}
	if ok, _ := g.allow(later); ok {
		t.Fatal("a second call went through while the probe is out")
	}
	g.record(callFailed, later) // the probe failed: open again
	if st, _ := g.State(); st != CircuitOpen {
		t.Fatalf("state %d after a failed probe", st)
	}
	again := later.Add(61 * time.Second)
	if ok, _ := g.allow(again); !ok {
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
		{&target.Error{Class: target.ClassRejected}, callOK},
		{&target.Error{Class: target.ClassInvalid}, callNeutral},
		{&target.Error{Class: target.ClassRetryable}, callFailed},
		{&target.Error{Class: target.ClassRetryable, Reason: "session"}, callNeutral},
		{&target.Error{Class: target.ClassNotSent}, callFailed},
		{&target.Error{Class: target.ClassUnknown}, callFailed},
		{errors.New("plain"), callFailed},
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
	b := newBackoff(p)
	prevMax := time.Duration(0)
	for i := 0; i < 10; i++ {
		d := b.NextBackOff()
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
	const openFor = 80 * time.Millisecond
	g := NewGuard("licrus", GuardConfig{FailureThreshold: 1, OpenFor: openFor})
	changes := make(chan int, 10)
	g.OnChange(func(s int, _ time.Time) { changes <- s })
	start := time.Now()
	g.record(callFailed, start)
	if s := <-changes; s != CircuitOpen {
		t.Fatalf("first change %d, want open", s)
	}
	time.Sleep(openFor / 2)
	g.record(callFailed, time.Now()) // opened again (an in-flight call failed): a later until
	select {
	case s := <-changes:
		t.Fatalf("change %d at %v, before any open time was over", s, time.Since(start))
	case <-time.After(openFor*3/4 - 10*time.Millisecond): // past the first until, before the second
	}
	if st, _ := g.State(); st != CircuitOpen {
		t.Fatalf("state %d before the later until", st)
	}
	select {
	case s := <-changes:
		if s != CircuitHalfOpen {
			t.Fatalf("change %d, want half-open", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the circuit stayed open on an idle guard after its open time")
	}
	if st, _ := g.State(); st != CircuitHalfOpen {
		t.Fatalf("state %d after the open time, want half-open", st)
	}
	if ok, _ := g.allow(time.Now()); !ok {
		t.Fatal("no probe after half-open")
	}
	if ok, _ := g.allow(time.Now()); ok {
		t.Fatal("a second call went through while the probe is out")
	}
	g.record(callOK, time.Now())
	if st, _ := g.State(); st != CircuitClosed {
		t.Fatalf("state %d after a good probe", st)
	}
}
