package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/worker"
)

func newEvent(t testing.TB) *event.Envelope {
	return event.New("installation.requested", "test", exampleData(t))
}

func TestNEventsMakeNCallsAndNOutcomes(t *testing.T) {
	s := newStack(t)
	const n = 50
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		env := newEvent(t)
		ids[env.ID] = true
		s.publish(env, "")
	}
	outs := s.outcomes(n, 20*time.Second)
	if len(outs) != n {
		t.Fatalf("got %d outcomes, want %d", len(outs), n)
	}
	numbers := map[string]bool{}
	for _, o := range outs {
		var d map[string]any
		if err := json.Unmarshal(o.Data, &d); err != nil {
			t.Fatal(err)
		}
		if o.Type != "installation.call-created" || !ids[d["requestId"].(string)] || d["route"] != "licrus-installation" || d["target"] != "licrus" {
			t.Fatalf("unexpected outcome %s %v", o.Type, d)
		}
		if o.ID != event.OutcomeID("licrus-installation", d["requestId"].(string)) {
			t.Fatalf("outcome id %s is not derived from route and request id", o.ID)
		}
		if err := s.app.Schemas.Validate("installation.call-created", o.Data); err != nil {
			t.Fatalf("outcome breaks its schema: %v", err)
		}
		numbers[d["callNumber"].(string)] = true
	}
	if len(numbers) != n {
		t.Fatalf("%d distinct call numbers, want %d", len(numbers), n)
	}
	if got := s.sim.CallCount(); got != n {
		t.Fatalf("simulator accepted %d calls, want %d", got, n)
	}
	if got := counter(s.app, "licrus-installation", "succeeded"); got != n {
		t.Fatalf("succeeded counter %v, want %d", got, n)
	}
	s.assertNoSecrets()
}

func TestSameEventPublishedTwiceCallsOnce(t *testing.T) {
	s := newStack(t)
	env := newEvent(t)
	s.publish(env, "")
	s.publish(env, "") // same Nats-Msg-Id: JetStream drops it
	s.settle(1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want 1", got)
	}
	if outs := s.outcomes(-1, 200*time.Millisecond); len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
}

func TestRedeliveryAfterSuccessMakesNoSecondCallOrOutcome(t *testing.T) {
	s := newStack(t)
	env := newEvent(t)
	s.publish(env, "")
	s.settle(1, 10*time.Second)
	// The same event again, past JetStream's dedup (another Nats-Msg-Id, as after the window): only the
	// ledger stands between it and a second Licrus call.
	s.publish(env, env.ID+"-again")
	deadline := time.Now().Add(10 * time.Second)
	for counter(s.app, "licrus-installation", "duplicate") < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := counter(s.app, "licrus-installation", "duplicate"); got != 1 {
		t.Fatalf("duplicate counter %v, want 1", got)
	}
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want 1", got)
	}
	if outs := s.outcomes(-1, 300*time.Millisecond); len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1 (the re-emitted one must be deduplicated)", len(outs))
	}
}

func TestRetryableAnswersThenSuccess(t *testing.T) {
	s := newStack(t, fast)
	s.sim.Faults.Push(sim.Fault{Status: 503}, sim.Fault{Status: 503}, sim.Fault{Status: 503})
	s.publish(newEvent(t), "")
	outs := s.outcomes(1, 10*time.Second)
	if len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
	if got := s.sim.Requests(); got != 4 {
		t.Fatalf("simulator saw %d requests, want 4", got)
	}
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want 1", got)
	}
	if got := testutilToFloat(s.app.Metrics.Attempts.WithLabelValues("licrus-installation")); got != 4 {
		t.Fatalf("attempts counter %v, want 4", got)
	}
	if got := testutilToFloat(s.app.Metrics.Retries.WithLabelValues("licrus-installation", "retryable")); got != 3 {
		t.Fatalf("retries counter %v, want 3", got)
	}
}

func TestRetryAfterLongerThanInProcessWaitGoesBackToJetStream(t *testing.T) {
	s := newStack(t, fast, func(r *worker.Route) { r.Policy.InProcessWait = 100 * time.Millisecond })
	s.sim.Faults.Push(sim.Fault{Status: 429, RetryAfter: time.Second})
	start := time.Now()
	s.publish(newEvent(t), "")
	if outs := s.outcomes(1, 10*time.Second); len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("succeeded after %s, before the 1s Retry-After", el)
	}
	if got := testutilToFloat(s.app.Metrics.Retries.WithLabelValues("licrus-installation", "retry_after")); got != 1 {
		t.Fatalf("retry_after counter %v, want 1", got)
	}
	if got := s.sim.Requests(); got != 2 {
		t.Fatalf("simulator saw %d requests, want 2", got)
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	s := newStack(t, fast, func(r *worker.Route) { r.Policy.MaxAttempts = 3 })
	s.sim.Faults.Always(&sim.Fault{Status: 503})
	env := newEvent(t)
	s.publish(env, "")
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	h := dl[0].Headers()
	if h.Get(deadletter.HdrErrorClass) != "exhausted" || h.Get(deadletter.HdrAttempts) != "3" || h.Get(deadletter.HdrTargetStatus) != "503" {
		t.Fatalf("headers %v", h)
	}
	if got := s.sim.Requests(); got != 3 {
		t.Fatalf("simulator saw %d requests, want 3", got)
	}
}

func TestHasErrorIsRejectedAtOnce(t *testing.T) {
	s := newStack(t, fast)
	s.sim.Faults.Push(sim.Fault{VendorError: "Seri numarası sistemde bulunamadı."})
	env := newEvent(t)
	s.publish(env, "")
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	h := dl[0].Headers()
	want := map[string]string{
		deadletter.HdrRoute: "licrus-installation", deadletter.HdrEventID: env.ID, deadletter.HdrOriginalSubject: "events.installation.requested",
		deadletter.HdrErrorClass: "rejected", deadletter.HdrAttempts: "1", deadletter.HdrTargetStatus: "HasError",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if e := h.Get(deadletter.HdrError); !strings.Contains(e, "Seri numarası sistemde bulunamadı.") || strings.Contains(e, "\n") {
		t.Errorf("Kopru-Error %q lacks the vendor message or is not one line", e)
	}
	if _, err := time.Parse(time.RFC3339, h.Get(deadletter.HdrFailedAt)); err != nil {
		t.Errorf("Kopru-Failed-At: %v", err)
	}
	orig, _ := env.Marshal()
	if string(dl[0].Data()) != string(orig) {
		t.Errorf("dead letter payload is not the original event bytes")
	}
	if got := s.sim.Requests(); got != 1 {
		t.Fatalf("simulator saw %d requests, want 1", got)
	}
	if outs := s.outcomes(-1, 200*time.Millisecond); len(outs) != 0 {
		t.Fatalf("%d outcomes, want 0", len(outs))
	}
}

func TestTimeoutAfterBodyReadIsAmbiguous(t *testing.T) {
	s := newStack(t, fast, func(r *worker.Route) {
		r.Policy.AttemptTimeout = 300 * time.Millisecond
		r.Policy.AckWait = 2 * time.Second
	})
	s.sim.Faults.Push(sim.Fault{HangAfterAct: true})
	s.publish(newEvent(t), "")
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	h := dl[0].Headers()
	if h.Get(deadletter.HdrErrorClass) != "ambiguous" || h.Get(deadletter.HdrAttempts) != "1" {
		t.Fatalf("headers %v", h)
	}
	if e := h.Get(deadletter.HdrError); !strings.Contains(e, "look in licrus") || !strings.Contains(e, "--allow-ambiguous") {
		t.Fatalf("Kopru-Error %q does not tell the operator what to check", e)
	}
	time.Sleep(500 * time.Millisecond)
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want exactly 1", got)
	}
	if outs := s.outcomes(-1, 100*time.Millisecond); len(outs) != 0 {
		t.Fatalf("%d outcomes, want 0", len(outs))
	}
}

func TestConnectionResetAfterActIsAmbiguous(t *testing.T) {
	s := newStack(t, fast)
	s.sim.Faults.Push(sim.Fault{ResetAfterAct: true})
	s.publish(newEvent(t), "")
	dl := s.deadLetters(1, 10*time.Second)
	if len(dl) != 1 || dl[0].Headers().Get(deadletter.HdrErrorClass) != "ambiguous" {
		t.Fatalf("want one ambiguous dead letter, got %d", len(dl))
	}
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want 1", got)
	}
}

// A worker that dies between the vendor call and the ledger update leaves a `started` entry; the
// worker that gets the redelivery must dead-letter it as ambiguous and never call again.
func TestWorkerDiesBetweenCallAndLedgerUpdate(t *testing.T) {
	s := newStack(t)
	s.app.Stop(context.Background())

	policy := func(r *worker.Route) {
		r.Policy.AttemptTimeout = 400 * time.Millisecond
		r.Policy.AckWait = time.Second
	}
	var called atomic.Int32
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	dying := func(r *worker.Route) {
		policy(r)
		real := r.Target
		r.Target = adapter.Func(func(ctx context.Context, req adapter.Request) (adapter.Result, error) {
			res, err := real.Call(ctx, req)
			called.Add(1)
			<-hold // the process "dies" here: never records the result, never acks
			return res, err
		})
	}
	first := s.start(dying)
	env := newEvent(t)
	s.publish(env, "")
	deadline := time.Now().Add(10 * time.Second)
	for called.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if called.Load() != 1 {
		t.Fatal("the first worker never called")
	}
	// Kill it: its connection goes away without an ack.
	first.KillForTest()

	s.start(policy)
	dl := s.deadLetters(1, 15*time.Second)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	h := dl[0].Headers()
	if h.Get(deadletter.HdrErrorClass) != "ambiguous" || h.Get(deadletter.HdrEventID) != env.ID {
		t.Fatalf("headers %v", h)
	}
	if e := h.Get(deadletter.HdrError); !strings.Contains(e, "never recorded its result") {
		t.Fatalf("Kopru-Error %q does not say a worker stopped mid-call", e)
	}
	if got := s.sim.CallCount(); got != 1 {
		t.Fatalf("simulator accepted %d calls, want exactly 1", got)
	}
}

func TestInvalidEventsAreDeadLetteredOnce(t *testing.T) {
	s := newStack(t)
	bad := []struct {
		name, body, reason string
	}{
		{"malformed JSON", `{"specversion":"1.0","id":"x1",`, "not a JSON CloudEvents envelope"},
		{"no id", `{"specversion":"1.0","source":"t","type":"installation.requested","data":{}}`, "no id"},
		{"schema violation", `{"specversion":"1.0","id":"x3","source":"t","type":"installation.requested","data":{"customer":{"fullName":"A"},"product":{"group":"g","serialNumbers":[]},"deviceCount":0}}`, "breaks schema"},
		{"wrong type for subject", `{"specversion":"1.0","id":"x4","source":"t","type":"customer.created","data":{}}`, "was published on"},
		{"specversion 0.3", `{"specversion":"0.3","id":"x5","source":"t","type":"installation.requested","data":{}}`, "unsupported specversion"},
	}
	for i, b := range bad {
		s.publishRaw("events.installation.requested", []byte(b.body), "bad-"+string(rune('a'+i)))
	}
	dl := s.deadLetters(len(bad), 10*time.Second)
	if len(dl) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(bad))
	}
	byID := map[string]int{}
	for i, m := range dl {
		byID[m.Headers().Get(deadletter.HdrEventID)] = i
	}
	for i, b := range bad {
		// The event id of an undecodable event is its Nats-Msg-Id; of the others, the envelope's id.
		idx, ok := byID["bad-"+string(rune('a'+i))]
		if !ok {
			idx, ok = byID["x"+string(rune('1'+i))]
		}
		if !ok {
			t.Fatalf("%s: no dead letter", b.name)
		}
		h := dl[idx].Headers()
		i := idx
		t.Run(b.name, func(t *testing.T) {
			if h.Get(deadletter.HdrErrorClass) != "invalid" || h.Get(deadletter.HdrAttempts) != "0" {
				t.Fatalf("headers %v", h)
			}
			if e := h.Get(deadletter.HdrError); !strings.Contains(e, b.reason) {
				t.Fatalf("Kopru-Error %q does not say %q", e, b.reason)
			}
			if string(dl[i].Data()) != b.body {
				t.Fatalf("payload changed")
			}
		})
	}
	if got := s.sim.Requests(); got != 0 {
		t.Fatalf("simulator saw %d requests, want 0", got)
	}
	if got := counter(s.app, "licrus-installation", "invalid"); got != float64(len(bad)) {
		t.Fatalf("invalid counter %v", got)
	}
}

func TestTraceparentTravelsToVendorAndOutcome(t *testing.T) {
	s := newStack(t)
	env := newEvent(t)
	env.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	s.publish(env, "")
	outs := s.outcomes(1, 10*time.Second)
	if len(outs) != 1 || outs[0].Traceparent != env.Traceparent {
		t.Fatalf("outcome traceparent %q, want %q", outs[0].Traceparent, env.Traceparent)
	}
	calls := s.sim.Calls()
	if len(calls) != 1 || calls[0].Header.Get("Traceparent") != env.Traceparent {
		t.Fatalf("vendor request traceparent %q, want %q", calls[0].Header.Get("Traceparent"), env.Traceparent)
	}
}

// A defect that panics on one event neither kills the worker nor loops forever: the event is
// dead-lettered, and other events keep flowing.
func TestPanickingTargetIsContained(t *testing.T) {
	var calls atomic.Int32
	s := newStack(t, fast, func(r *worker.Route) {
		r.Policy.AckWait = 2 * time.Second
		r.Policy.AttemptTimeout = time.Second
		real := r.Target
		r.Target = adapter.Func(func(ctx context.Context, req adapter.Request) (adapter.Result, error) {
			if strings.Contains(string(req.Data), "PANIC") {
				calls.Add(1)
				panic("adapter defect")
			}
			return real.Call(ctx, req)
		})
	})
	bad := event.New("installation.requested", "test", json.RawMessage(strings.Replace(string(exampleData(t)), "Deneme Müşteri", "PANIC", 1)))
	s.publish(bad, "")
	s.publish(newEvent(t), "")
	dl := s.deadLetters(1, 15*time.Second)
	if len(dl) != 1 || dl[0].Headers().Get(deadletter.HdrEventID) != bad.ID {
		t.Fatalf("want one dead letter for the panicking event, got %d", len(dl))
	}
	// The panic struck after the call began, so the vendor may have acted: ambiguous, and never a
	// second call.
	if h := dl[0].Headers(); h.Get(deadletter.HdrErrorClass) != "ambiguous" {
		t.Fatalf("headers %v", h)
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("the panicking call ran %d times, want 1", got)
	}
	if outs := s.outcomes(1, 5*time.Second); len(outs) != 1 {
		t.Fatalf("the healthy event got %d outcomes", len(outs))
	}
}
