package worker

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ledger"
)

// The protocol's rules (DESIGN.md "The hard part"), one table row each, on step alone: no broker, no
// vendor, no clock.

var (
	t0     = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	policy = Policy{MaxAttempts: 4, MaxDeliveries: 10, AttemptTimeout: 10 * time.Second, InitialInterval: 200 * time.Millisecond,
		InProcessWait: 5 * time.Second, MaxWait: time.Minute}.WithDefaults()
)

func in(h Happened, e ledger.Entry, mods ...func(*Input)) Input {
	i := Input{Happened: h, Entry: e, Found: e.State != "", Policy: policy, Now: t0, Deliveries: 1, Backoff: 300 * time.Millisecond,
		Jitter: 123 * time.Millisecond, Target: "licrus", EventID: "evt-1"}
	for _, m := range mods {
		m(&i)
	}
	return i
}

func entry(s ledger.State, attempts int, startedAgo time.Duration) ledger.Entry {
	return ledger.Entry{State: s, Attempts: attempts, StartedAt: t0.Add(-startedAgo)}
}

func fails(class adapter.Class, reason adapter.Reason, mods ...func(*adapter.Error)) func(*Input) {
	return func(i *Input) {
		e := &adapter.Error{Class: class, Reason: reason, Msg: "the vendor said no", Status: "503"}
		for _, m := range mods {
			m(e)
		}
		i.Err = e
	}
}

func retryAfter(d time.Duration) func(*adapter.Error) {
	return func(e *adapter.Error) { e.RetryAfter = d }
}
func deliveries(n, uncounted int) func(*Input) {
	return func(i *Input) { i.Deliveries, i.Entry.Uncounted = n, uncounted }
}
func finder(i *Input) { i.Finder = true }
func cause(i *Input) {
	i.Cause = &adapter.Error{Class: adapter.ClassUnknown, Reason: "timeout", Msg: "no answer after the request was sent", Status: ""}
}

func TestStepRules(t *testing.T) {
	lease := policy.Lease()
	tests := []struct {
		rule string
		in   Input
		want func(t *testing.T, a Action)
	}{
		// Rule 2: the ledger entry before a call; finished entries re-emit.
		{"2: first delivery creates `started`, call 1; earlier refused deliveries are forgiven", in(Delivered, ledger.Entry{}, deliveries(3, 0)),
			isCall(1, true, func(t *testing.T, a Action) { eq(t, "uncounted", a.Entry.Uncounted, 2) })},
		{"2: succeeded re-emits, no call", in(Delivered, entry(ledger.Succeeded, 1, time.Minute)), is(DoReemit)},
		{"2: dead re-emits, no call", in(Delivered, entry(ledger.Dead, 3, time.Minute)), is(DoReemit)},
		{"2: started within its lease is another delivery's: wait out the lease, uncounted",
			in(Delivered, entry(ledger.Started, 1, time.Second)), func(t *testing.T, a Action) {
				is(DoLater)(t, a)
				eq(t, "delay", a.Delay, lease-time.Second+123*time.Millisecond)
				eq(t, "bump", a.Bump, true)
				eq(t, "retry", a.Retry, "lease_wait")
				eq(t, "entry", a.Entry == nil, true)
			}},
		{"2: retrying calls again as call n+1", in(Delivered, entry(ledger.Retrying, 2, time.Minute)), isCall(3, false, nil)},
		{"2: retrying past the delivery budget is exhausted", in(Delivered, entry(ledger.Retrying, 2, time.Minute), deliveries(11, 0)),
			isDead(deadletter.Exhausted, 2, "gave up after 11 deliveries and 2 calls")},
		{"2: the last delivery within the budget still calls", in(Delivered, entry(ledger.Retrying, 2, time.Minute), deliveries(10, 0)), isCall(3, false, nil)},
		{"2: an entry there but of no state reads as retrying, never as a first one", in(Delivered, ledger.Entry{Attempts: 2, Uncounted: 1},
			func(i *Input) { i.Found = true }), isCall(3, false, func(t *testing.T, a Action) { eq(t, "uncounted", a.Entry.Uncounted, 1) })},
		{"2: deliveries the breaker refused do not count", in(Delivered, entry(ledger.Retrying, 2, time.Minute), deliveries(30, 25)), isCall(3, false, nil)},

		// Rule 3: the class decides.
		{"3: success records the outcome", in(Called, entry(ledger.Started, 1, 0)), is(DoSucceed)},
		{"3: invalid is dead at once; no call was made", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassInvalid, "invalid")),
			isDead(deadletter.Invalid, 0, "the vendor said no")},
		{"3: rejected is dead at once with the vendor's status", in(Called, entry(ledger.Started, 2, 0), fails(adapter.ClassRejected, "vendor_rejected")),
			func(t *testing.T, a Action) {
				isDead(deadletter.Rejected, 2, "the vendor said no")(t, a)
				eq(t, "status", a.Status, "503")
			}},
		{"3: not sent waits the backoff in process, entry retrying", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassNotSent, "dial")),
			isWait(300*time.Millisecond, "not_sent", DoCall, ledger.Retrying, 1)},
		{"3: retryable waits the backoff", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassRetryable, "http_5xx")),
			isWait(300*time.Millisecond, "retryable", DoCall, ledger.Retrying, 1)},
		{"3: a call before the last failing is retried", in(Called, entry(ledger.Started, 3, 0), fails(adapter.ClassRetryable, "http_5xx")),
			isWait(300*time.Millisecond, "retryable", DoCall, ledger.Retrying, 3)},
		{"3: the last allowed call failing is exhausted", in(Called, entry(ledger.Started, 4, 0), fails(adapter.ClassRetryable, "http_5xx")),
			isDead(deadletter.Exhausted, 4, "gave up after 4 calls; last: the vendor said no")},
		{"3: an open circuit gives the attempt back and waits in JetStream", in(Called, entry(ledger.Started, 2, 0),
			fails(adapter.ClassNotSent, adapter.ReasonCircuitOpen, retryAfter(20*time.Second))), func(t *testing.T, a Action) {
			is(DoLater)(t, a)
			eq(t, "delay", a.Delay, 20*time.Second)
			eq(t, "state", a.Entry.State, ledger.Retrying)
			eq(t, "attempts", a.Entry.Attempts, 1)
			eq(t, "uncounted", a.Entry.Uncounted, 1)
			eq(t, "retry", a.Retry, string(adapter.ReasonCircuitOpen))
		}},
		{"3: a failed half-open probe waits with the others but counts as what the vendor said", in(Called, entry(ledger.Started, 2, 0),
			func(i *Input) {
				i.CallMade = true
				i.Err = &adapter.Error{Class: adapter.ClassNotSent, Reason: adapter.ReasonCircuitOpen, RetryAfter: time.Second,
					Err: &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonHTTP503, Msg: "busy"}}
			}), func(t *testing.T, a Action) {
			is(DoLater)(t, a)
			eq(t, "attempts given back", a.Entry.Attempts, 1)
			eq(t, "calls", a.Calls, 1)
			eq(t, "failure class", a.Failed.Class, adapter.ClassRetryable)
			eq(t, "failure reason", a.Failed.Reason, adapter.ReasonHTTP503)
		}},
		{"3: a guard refusal is no call", in(Called, entry(ledger.Started, 2, 0), fails(adapter.ClassNotSent, adapter.ReasonCircuitOpen, retryAfter(time.Second))),
			func(t *testing.T, a Action) {
				eq(t, "calls", a.Calls, 0)
				eq(t, "failure reason", a.Failed.Reason, adapter.ReasonCircuitOpen)
			}},
		{"3: a lease lost before the call: no call made, back in a second", in(Called, entry(ledger.Started, 1, 0), func(i *Input) { i.Err = errLeaseLost }),
			func(t *testing.T, a Action) {
				is(DoLater)(t, a)
				eq(t, "delay", a.Delay, time.Second)
				eq(t, "entry", a.Entry == nil, true)
			}},

		// Rule 4: unknown outcomes are never called again silently.
		{"4: unknown outcome without a natural key is ambiguous, with what to verify", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassUnknown, "timeout")),
			func(t *testing.T, a Action) {
				isDead(deadletter.Ambiguous, 1, "outcome unknown after call 1: the vendor said no")(t, a)
				for _, w := range []string{"look in licrus", "event evt-1", "--allow-ambiguous"} {
					if !strings.Contains(a.Msg, w) {
						t.Errorf("message %q lacks %q", a.Msg, w)
					}
				}
			}},
		{"4: unknown outcome with a natural key is looked up", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassUnknown, "timeout"), finder),
			func(t *testing.T, a Action) { is(DoLookup)(t, a); eq(t, "cause", a.Cause.Msg, "the vendor said no") }},
		{"4: started past its lease (its worker died) is ambiguous", in(Delivered, entry(ledger.Started, 2, lease+time.Second)),
			isDead(deadletter.Ambiguous, 2, "never recorded its result")},
		{"4: started past its lease with a natural key is looked up", in(Delivered, entry(ledger.Started, 2, lease+time.Second), finder), is(DoLookup)},
		{"4: an owed lookup is made", in(Delivered, ledger.Entry{State: ledger.Started, Attempts: 2, StartedAt: t0, Unresolved: "reset"}, finder),
			func(t *testing.T, a Action) { is(DoLookup)(t, a); eq(t, "cause", a.Cause.Msg, "reset") }},
		{"4: an owed lookup past the delivery budget is ambiguous",
			in(Delivered, ledger.Entry{State: ledger.Started, Attempts: 2, StartedAt: t0, Unresolved: "reset"}, finder, deliveries(11, 0)),
			isDead(deadletter.Ambiguous, 2, "the natural-key lookup never answered")},
		{"4: the record exists: that is the outcome", in(LookedUp, entry(ledger.Started, 1, 0), finder, cause, func(i *Input) { i.Exists = true }), is(DoSucceed)},
		{"4: a lookup that failed is no answer, whatever it says of the record", in(LookedUp, entry(ledger.Started, 1, 0), finder, cause,
			fails(adapter.ClassRetryable, "http_5xx"), func(i *Input) { i.Exists = true }), func(t *testing.T, a Action) {
			if a.Do == DoSucceed {
				t.Fatal("a failed lookup was taken for the record existing")
			}
		}},
		{"4: no record: call again", in(LookedUp, entry(ledger.Started, 1, 0), finder, cause), isCall(2, false, nil)},
		{"4: no record after the last call: exhausted", in(LookedUp, entry(ledger.Started, 4, 0), finder, cause),
			isDead(deadletter.Exhausted, 4, "(no record was created)")},
		{"4: a failed lookup counts as a call and is owed", in(LookedUp, entry(ledger.Started, 1, 0), finder, cause, fails(adapter.ClassRetryable, "http_5xx")),
			func(t *testing.T, a Action) {
				isWait(300*time.Millisecond, "retryable", DoLookup, ledger.Started, 2)(t, a)
				eq(t, "unresolved", a.Entry.Unresolved, "no answer after the request was sent")
			}},
		{"4: a failed lookup with the budget spent is ambiguous", in(LookedUp, entry(ledger.Started, 3, 0), finder, cause, fails(adapter.ClassRetryable, "http_5xx")),
			isDead(deadletter.Ambiguous, 4, "the natural-key lookup failed too")},

		// Rule 5: waits.
		{"5: Retry-After longer than the backoff is honoured", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassRetryable, "http_5xx", retryAfter(2*time.Second))),
			isWait(2*time.Second, "retry_after", DoCall, ledger.Retrying, 1)},
		{"5: a long wait goes back to JetStream", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassRetryable, "http_5xx", retryAfter(30*time.Second))),
			func(t *testing.T, a Action) {
				is(DoLater)(t, a)
				eq(t, "delay", a.Delay, 30*time.Second)
				eq(t, "state", a.Entry.State, ledger.Retrying)
			}},
		{"5: a Retry-After past MaxWait exhausts the event", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassRetryable, "http_5xx", retryAfter(time.Hour))),
			isDead(deadletter.Exhausted, 1, "longer than the route's longest wait (1m0s)")},
		{"5: the backoff is capped at MaxWait", in(Called, entry(ledger.Started, 1, 0), fails(adapter.ClassRetryable, "http_5xx"), func(i *Input) { i.Backoff = time.Hour }),
			func(t *testing.T, a Action) { is(DoLater)(t, a); eq(t, "delay", a.Delay, time.Minute) }},
		{"5: after a wait for a call, the next call", in(Waited, entry(ledger.Retrying, 1, 0), func(i *Input) { i.Next = DoCall }), isCall(2, false, nil)},
		{"5: after a wait for a lookup, the lookup", in(Waited, entry(ledger.Started, 2, 0), cause, func(i *Input) { i.Next = DoLookup }),
			func(t *testing.T, a Action) {
				is(DoLookup)(t, a)
				eq(t, "cause", a.Cause != nil && a.Cause.Msg != "", true)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) { tt.want(t, step(tt.in)) })
	}
}

// TestStepInvariants: over random inputs, a call is always announced by a `started` entry numbering
// it, every ledger write has a fallback, and a dead letter says why.
func TestStepInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	states := []ledger.State{"", ledger.Started, ledger.Retrying, ledger.Succeeded, ledger.Dead}
	classes := []adapter.Class{adapter.ClassNotSent, adapter.ClassRetryable, adapter.ClassRejected, adapter.ClassInvalid, adapter.ClassUnknown}
	reasons := []adapter.Reason{adapter.ReasonDial, adapter.ReasonHTTP5xx, adapter.ReasonCircuitOpen, adapter.ReasonTimeout}
	for n := 0; n < 20000; n++ {
		e := ledger.Entry{State: states[r.IntN(len(states))], Attempts: r.IntN(6), StartedAt: t0.Add(-time.Duration(r.IntN(60)) * time.Second),
			Uncounted: r.IntN(5)}
		if e.State == "" {
			e = ledger.Entry{}
		}
		if e.State == ledger.Started && r.IntN(3) == 0 {
			e.Unresolved = "reset"
		}
		i := in(Happened(1+r.IntN(4)), e, deliveries(r.IntN(14), e.Uncounted), cause, func(i *Input) {
			i.Found = e.State != "" || r.IntN(8) == 0
			i.Finder, i.Exists, i.Next = r.IntN(2) == 0, r.IntN(2) == 0, []Do{DoCall, DoLookup}[r.IntN(2)]
			i.Backoff = time.Duration(r.IntN(10)) * time.Second
		})
		if r.IntN(4) > 0 {
			fails(classes[r.IntN(len(classes))], reasons[r.IntN(len(reasons))], retryAfter(time.Duration(r.IntN(120))*time.Second))(&i)
		}
		if i.Happened != Delivered && i.Entry.State == "" {
			continue // only a delivery meets an event with no entry
		}
		a := step(i)
		if a.Do == DoCall && (a.Entry == nil || a.Entry.State != ledger.Started || a.Entry.Unresolved != "" ||
			a.Entry.Attempts != i.Entry.Attempts+1 || !a.Entry.StartedAt.Equal(i.Now)) {
			t.Fatalf("%+v: a call not announced by its started entry: %+v", i, a.Entry)
		}
		// Rule 4: no call after an unknown outcome unless a lookup said there is no record.
		callable := (i.Happened == Delivered && (i.Entry.State == "" || i.Entry.State == ledger.Retrying)) ||
			(i.Happened == LookedUp && i.Err == nil && !i.Exists) || (i.Happened == Waited && i.Next == DoCall) ||
			(i.Happened == Called && i.Err != nil && adapter.AsError(i.Err).Class != adapter.ClassUnknown)
		if a.Do == DoCall && !callable {
			t.Fatalf("%+v: a call where no rule allows one", i)
		}
		if (a.Entry != nil || a.Do == DoSucceed || a.Do == DoDeadLetter) && (a.Fail == nil || a.Fail.Do != DoLater) {
			t.Fatalf("%+v: %s writes the ledger with no fallback", i, a.Do)
		}
		if a.Do == DoDeadLetter && (a.Class == "" || a.Msg == "" || strings.ContainsAny(a.Msg, "\n\r")) {
			t.Fatalf("%+v: dead letter without a one-line reason: %+v", i, a)
		}
		if a.Do == DoWait && (a.Delay > i.Policy.InProcessWait || a.Next == 0) {
			t.Fatalf("%+v: wait %v in process", i, a.Delay)
		}
		if a.Do == DoLater && a.Delay > i.Policy.MaxWait && !errors.Is(i.Err, errLeaseLost) && adapter.AsError(i.Err).Reason != adapter.ReasonCircuitOpen {
			t.Fatalf("%+v: waits %v, past MaxWait", i, a.Delay)
		}
	}
}

func is(d Do) func(*testing.T, Action) {
	return func(t *testing.T, a Action) {
		t.Helper()
		if a.Do != d {
			t.Fatalf("got %s (%+v), want %s", a.Do, a, d)
		}
	}
}

func isCall(n int, create bool, more func(*testing.T, Action)) func(*testing.T, Action) {
	return func(t *testing.T, a Action) {
		t.Helper()
		is(DoCall)(t, a)
		eq(t, "state", a.Entry.State, ledger.Started)
		eq(t, "attempts", a.Entry.Attempts, n)
		eq(t, "create", a.Create, create)
		eq(t, "startedAt", a.Entry.StartedAt, t0)
		if more != nil {
			more(t, a)
		}
	}
}

func isDead(c deadletter.Class, attempts int, msg string) func(*testing.T, Action) {
	return func(t *testing.T, a Action) {
		t.Helper()
		is(DoDeadLetter)(t, a)
		eq(t, "class", a.Class, c)
		eq(t, "attempts", a.Attempts, attempts)
		if !strings.Contains(a.Msg, msg) {
			t.Errorf("message %q lacks %q", a.Msg, msg)
		}
	}
}

func isWait(d time.Duration, retry string, next Do, s ledger.State, attempts int) func(*testing.T, Action) {
	return func(t *testing.T, a Action) {
		t.Helper()
		is(DoWait)(t, a)
		eq(t, "delay", a.Delay, d)
		eq(t, "retry", a.Retry, retry)
		eq(t, "next", a.Next, next)
		eq(t, "state", a.Entry.State, s)
		eq(t, "attempts", a.Entry.Attempts, attempts)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
