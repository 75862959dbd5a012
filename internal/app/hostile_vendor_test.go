package app_test

// Hostile producers and hostile vendors (issue 11, items 1, 5, 6, 13, 14): each test fails on the code
// before the fix, and asserts on what the simulator received and what landed on OUTCOMES and DLQ.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/worker"
)

// An event with a malformed traceparent (CR/LF header injection) is handled without it: it succeeds,
// the vendor never sees the injected header, the drop is counted, and the target's circuit (threshold
// 1) stays closed for every other event (item 1).
func TestBadTraceparentIsDroppedAndNeverOpensTheCircuit(t *testing.T) {
	guard := worker.NewGuard("licrus", worker.GuardConfig{FailureThreshold: 1, OpenFor: time.Minute})
	var mu sync.Mutex
	var states []int
	guard.OnChange(func(st int, _ time.Time) { mu.Lock(); states = append(states, st); mu.Unlock() })
	s := newStack(t, fast, func(r *worker.Route) { r.Guard = guard })
	const good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	bad := newEvent(t)
	bad.Traceparent = good + "\r\nX-Injected: 1"
	s.publish(bad, "")
	ok := newEvent(t)
	ok.Traceparent = good
	s.publish(ok, "")
	if outs := s.outcomes(2, 10*time.Second); len(outs) != 2 {
		t.Fatalf("%d outcomes, want 2 (dead letters: %d)", len(outs), len(s.deadLetters(-1, 100*time.Millisecond)))
	}
	calls := s.sim.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls at the vendor, want 2", len(calls))
	}
	var sawGood bool
	for _, c := range calls {
		if c.Header.Get("X-Injected") != "" {
			t.Fatalf("the injected header reached the vendor")
		}
		switch tp := c.Header.Get("Traceparent"); tp {
		case good:
			sawGood = true
		case "":
		default:
			t.Fatalf("vendor received traceparent %q", tp)
		}
	}
	if !sawGood {
		t.Fatal("the valid traceparent was not passed on")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 0 {
		t.Fatalf("circuit changed state %v on a per-event problem", states)
	}
	if got := testutilToFloat(s.app.Metrics.TraceparentDropped.WithLabelValues("licrus-installation")); got != 1 {
		t.Fatalf("kopru_traceparent_dropped_total = %v, want 1", got)
	}
}

// A Retry-After of 31 years neither parks the event nor overflows: the wait is past the route's budget
// (MaxWait), so the event is an `exhausted` dead letter at once, after one call (item 5).
func TestHugeRetryAfterDeadLettersExhausted(t *testing.T) {
	s := newStack(t, fast)
	s.sim.Faults.Push(sim.Fault{Status: 429, RetryAfter: 999999999 * time.Second})
	ev := newEvent(t)
	s.publish(ev, "")
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1: the event is parked", len(dl))
	}
	h := dl[0].Headers()
	if deadletter.Class(h.Get(deadletter.HdrErrorClass)) != deadletter.Exhausted || h.Get(deadletter.HdrTargetStatus) != "429" ||
		!strings.Contains(h.Get(deadletter.HdrError), "longer than the route's longest wait") {
		t.Fatalf("dead letter %v", h)
	}
	if n := s.sim.Requests(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// DİA answers "kart kodu zaten kullanılıyor" (body code 501) about one card: the event resolves through
// the natural-key lookup, and the breaker (threshold 1) never opens, since DİA is well (item 14).
func TestDIADuplicateCardAnswerDoesNotMoveTheBreaker(t *testing.T) {
	e := newE2E(t)
	guard := worker.NewGuard("dia", worker.GuardConfig{FailureThreshold: 1, OpenFor: time.Minute})
	var mu sync.Mutex
	var states []int
	guard.OnChange(func(st int, _ time.Time) { mu.Lock(); states = append(states, st); mu.Unlock() })
	r := e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3))
	r.Guard = guard
	e.start([]worker.Route{r})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	const n = 3
	for range n { // the same card code from three events: the 2nd and 3rd get 501
		e.publish(customerEvent(t, "C-DUP-501", nil), "")
	}
	outs.wait(n, 15*time.Second)
	if c, _ := cardsWithCode(e.sims.DIA, "C-DUP-501"); c != 1 {
		t.Fatalf("%d cards, want 1", c)
	}
	if e.sims.DIA.EkleCalls() != n {
		t.Fatalf("%d ekle calls, want %d (two answered 501)", e.sims.DIA.EkleCalls(), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 0 {
		t.Fatalf("circuit changed state %v on per-record answers", states)
	}
}

// When DİA's _ekle fails with 5xx and scf_carikart_listele keeps failing too, the lookups count against
// the budget: the event ends as one `ambiguous` dead letter after a bounded number of requests, and no
// log line holds the vendor's raw tax number or phone (item 6).
func TestDIALookupThatKeepsFailingEndsAmbiguous(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(4))})
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	e.sims.DIA.Faults.Always(&sim.Fault{VendorError: "500: Vergi no 1234567890 ve tel 05321234567 için işlem yapılamadı"})
	ev := customerEvent(t, "C-LOOKUP-DOWN", nil)
	e.publish(ev, "")
	dl := dlq.wait(1, 20*time.Second)
	checkDeadLetter(t, dl[0], "dia-customer", ev, deadletter.Ambiguous, "4", "lookup failed too", "--allow-ambiguous")
	dlq.stays(1, 300*time.Millisecond)
	if got := e.sims.DIA.EkleCalls() + e.sims.DIA.ListCalls(); got > 4 {
		t.Fatalf("%d ekle+listele requests, want at most the budget of 4", got)
	}
	if e.sims.DIA.ListCalls() < 1 {
		t.Fatal("no lookup was made")
	}
	for _, l := range e.logs.All() {
		line := l.Message + fmt.Sprint(l.ContextMap())
		if strings.Contains(line, "1234567890") || strings.Contains(line, "05321234567") {
			t.Fatalf("unmasked vendor message in a log line: %s", line)
		}
	}
}

// A 60-minute vendor outage, compressed 600× by configuration (open 50 ms, backoff 1–50 ms, the
// outage 6 s), with the default budgets (8 calls, 50 deliveries): every event waits it out and
// succeeds once, since refusals of the open circuit and failed probes are the breaker's (item 13).
func TestSixtyMinuteOutageCompressedEveryEventSurvives(t *testing.T) {
	const scale = 600
	guard := worker.NewGuard("licrus", worker.GuardConfig{Concurrency: 4, FailureThreshold: 5, OpenFor: 30 * time.Second / scale})
	s := newStack(t, func(r *worker.Route) {
		r.Guard = guard
		r.Policy.Concurrency = 4
		r.Policy.InitialInterval = time.Millisecond
		r.Policy.MaxInterval = 30 * time.Second / scale
		r.Policy.InProcessWait = 5 * time.Second / scale
		r.Policy.AttemptTimeout = time.Second
		r.Policy.AckWait = 5 * time.Second
	})
	s.sim.Faults.Always(&sim.Fault{Status: 503})
	const n = 10
	for range n {
		s.publish(newEvent(t), "")
	}
	time.Sleep(time.Hour / scale)
	down := s.sim.Requests()
	s.sim.Faults.Reset()
	outs := s.outcomes(n, 20*time.Second)
	dl := s.deadLetters(-1, 100*time.Millisecond)
	if len(outs) != n || len(dl) != 0 {
		var why []string
		for _, m := range dl {
			why = append(why, m.Headers().Get(deadletter.HdrError))
		}
		t.Fatalf("%d outcomes and %d dead letters after the outage, want %d and 0: %v", len(outs), len(dl), n, why)
	}
	if s.sim.CallCount() != n {
		t.Fatalf("%d calls accepted, want %d", s.sim.CallCount(), n)
	}
	t.Logf("%d requests reached the vendor during the outage; %v deliveries", down,
		testutilToFloat(s.app.Metrics.EventsReceived.WithLabelValues("licrus-installation")))
}

// A second copy of an event (same id, another message) that arrives while the first is calling waits
// for the lease without it counting against the delivery budget: the wait is recorded as uncounted,
// the owner's next ledger write keeps that count, and the event succeeds with one call (item 13).
func TestLeaseWaitIsUncountedAndTheOwnerFinishes(t *testing.T) {
	s := newStack(t, fast, func(r *worker.Route) {
		r.Policy.Concurrency = 2
		r.Policy.AttemptTimeout = time.Second
		r.Policy.AckWait = 3 * time.Second // lease 2 s
	})
	s.sim.Faults.Push(sim.Fault{Delay: 800 * time.Millisecond})
	ev := newEvent(t)
	s.publish(ev, "copy-a")
	for deadline := time.Now().Add(10 * time.Second); s.sim.Requests() < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first copy never reached the vendor")
		}
	}
	s.publish(ev, "copy-b") // the first copy is calling (for 800 ms)
	if outs := s.outcomes(1, 10*time.Second); len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
	waitCount(t, "duplicates", func() float64 { return counter(s.app, "licrus-installation", "duplicate") }, 1, 10*time.Second)
	if n := s.sim.CallCount(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	if dl := s.deadLetters(-1, 100*time.Millisecond); len(dl) != 0 {
		t.Fatalf("%d dead letters: %s", len(dl), dl[0].Headers().Get(deadletter.HdrError))
	}
	kv, err := s.js.KeyValue(context.Background(), bus.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	kve, err := kv.Get(context.Background(), ledger.Key("licrus-installation", ev.ID))
	if err != nil {
		t.Fatal(err)
	}
	var e ledger.Entry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		t.Fatal(err)
	}
	if e.State != ledger.Succeeded || e.Uncounted != 1 {
		t.Fatalf("ledger entry %+v: want succeeded with the lease wait uncounted", e)
	}
	for _, l := range s.logs.All() {
		if strings.Contains(l.Message, "ledger update failed") {
			t.Fatalf("the owner's write lost to the waiting copy: %s", l.Message)
		}
	}
}
