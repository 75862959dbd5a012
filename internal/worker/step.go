package worker

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ledger"
)

// This file is the exactly-once protocol of DESIGN.md "The hard part", as one pure function: step
// takes what this delivery knows (the event's ledger entry, JetStream's delivery count, what just
// happened, the route's policy, the time) and says what to do next. It does no I/O and reads no clock;
// run (handle.go) carries its actions out, ledger.go writes the entries it asks for, and settle
// (settle.go) is the one place that acks, naks, publishes and counts.

// Happened is what the delivery just learned before it asks step what to do.
type Happened int

const (
	// Delivered: the delivery read the event's ledger entry (Input.Entry; the zero Entry when the event
	// has none yet).
	Delivered Happened = iota + 1
	// Called: the vendor call (or the guard in front of it) returned Input.Err; nil is a success.
	Called
	// LookedUp: a natural-key lookup answered Input.Exists, or failed with Input.Err.
	LookedUp
	// Waited: an in-process wait ended; Input.Next says what it was for (DoCall or DoLookup).
	Waited
)

// Input is everything step decides on.
type Input struct {
	Happened Happened
	Entry    ledger.Entry // the event's ledger entry as this delivery last read or wrote it
	Found    bool         // the ledger holds an entry for the event (Entry is it)
	Err      error        // Called, LookedUp: the failure; nil when it answered
	CallMade bool         // Called: the request reached the vendor (not refused by the guard first)
	Exists   bool         // LookedUp: the record the unknown call would have made exists
	// Cause is the unknown outcome a lookup resolves (LookedUp, Waited for a lookup).
	Cause *adapter.Error
	Next  Do // Waited: what the wait was for

	Deliveries int  // JetStream's delivery count of this message (0: unknown)
	Finder     bool // the route's adapter can look a record up by its natural key (adapter.Finder)
	Policy     Policy
	Now        time.Time
	Backoff    time.Duration // the backoff schedule's wait after a failure of call Entry.Attempts
	Jitter     time.Duration // added to a lease wait, so waiting deliveries do not return together

	Target, EventID string // for the operator's instructions in an ambiguous dead letter
}

// Do is the kind of an Action.
type Do int

const (
	DoCall       Do = iota + 1 // write Entry, then call the vendor
	DoLookup                   // write Entry (when set), then ask the vendor whether Cause's record exists
	DoWait                     // write Entry, keep the message for Delay, then step again (Waited)
	DoSucceed                  // write succeeded with the call's outcome, publish the outcome, ack
	DoReemit                   // publish the finished entry's outcome or dead letter again, ack
	DoDeadLetter               // write dead, publish the dead letter, ack
	DoLater                    // write Entry (when set), hand the message back to JetStream for Delay
	DoAck                      // ack and nothing else (a replay meant for another route)
	DoAbandon                  // leave the message unsettled: the process is stopping mid-call
)

var doNames = [...]string{"", "call", "lookup", "wait", "succeed", "reemit", "dead-letter", "later", "ack", "abandon"}

func (d Do) String() string {
	if int(d) < len(doNames) {
		return doNames[d]
	}
	return fmt.Sprintf("Do(%d)", int(d))
}

// Action is what step decides; its zero fields mean "none".
type Action struct {
	Do     Do
	Entry  *ledger.Entry // the ledger entry to write before anything else
	Create bool          // Entry is the event's first: a KV create, which fails if the key exists
	Delay  time.Duration // DoWait, DoLater
	Next   Do            // DoWait: what follows the wait

	// DoDeadLetter: the letter's class, one-line reason, vendor status and vendor calls made.
	Class    deadletter.Class
	Msg      string
	Status   string
	Attempts int

	Retry string // the kopru_retries_total reason this action counts
	// Failed is the call's or lookup's failure this action answers, counted in kopru_call_failures_total.
	Failed  *adapter.Error
	Calls   int            // vendor calls the action answers (kopru_attempts_total)
	Dropped bool           // the event's traceparent was dropped (kopru_traceparent_dropped_total)
	Bump    bool           // DoLater: record this delivery as uncounted in the entry (the wait is not the event's)
	Cause   *adapter.Error // DoLookup, DoWait for a lookup: the unknown outcome being resolved

	Note       string // what to log with Err when the action is taken, at level
	Err        error
	level      noteLevel
	withResult bool // log the call's result (masked) too: the vendor acted and this is its only record
	// Fail is what a failed ledger write turns this action into: the message is handed back after
	// Fail.Delay and Fail.Note is logged.
	Fail *Action
}

// errLeaseLost: the ledger entry could not be re-stamped before a delayed call; no call was made.
var errLeaseLost = errors.New("cannot renew the call's ledger lease")

// step is the protocol. The rules, in DESIGN.md's order:
//
//  1. (Producers' Nats-Msg-Id dedup is JetStream's.)
//  2. Before a call the entry says `started`, made by a KV create for the first one; a finished entry
//     (succeeded, dead) is re-emitted and acked without a call; a `started` entry within its lease
//     belongs to another delivery, which is waited for.
//  3. A failure's class decides: invalid and rejected are dead letters at once; not sent and retryable
//     are retried within the budget (MaxAttempts calls, MaxDeliveries counted deliveries); an open
//     circuit gives the attempt back and waits in JetStream.
//  4. An unknown outcome, or a `started` entry past its lease (its worker died mid-call), is asked of
//     the vendor by natural key when the adapter has one, and dead-lettered ambiguous when it has not:
//     never a silent second call.
//  5. Waits are exponential with jitter (Input.Backoff), at least the vendor's Retry-After and at most
//     MaxWait; a Retry-After beyond MaxWait exhausts the event; waits up to InProcessWait are slept with
//     the message kept, longer ones are handed back to JetStream.
func step(in Input) Action {
	switch in.Happened {
	case Delivered:
		return delivered(in)
	case Called, LookedUp:
		a := called
		if in.Happened == LookedUp {
			a = lookedUp
		}
		act := a(in)
		if in.CallMade {
			act.Calls = 1
		}
		if in.Err != nil && !errors.Is(in.Err, errLeaseLost) {
			act.Failed = failure(in.Err)
		}
		return act
	case Waited:
		if in.Next == DoLookup {
			return Action{Do: DoLookup, Cause: in.Cause}
		}
		return nextCall(in, "")
	}
	panic(fmt.Sprintf("worker: step of unknown Happened %d", in.Happened))
}

// delivered: rule 2, and rule 4 for an entry a dead worker left.
func delivered(in Input) Action {
	e, p := in.Entry, in.Policy
	switch {
	case !in.Found: // the first delivery that got this far: its earlier deliveries made no call and are forgiven
		first := ledger.Entry{State: ledger.Started, Attempts: 1, StartedAt: in.Now, Uncounted: max(0, in.Deliveries-1)}
		return Action{Do: DoCall, Entry: &first, Create: true, Fail: later(time.Second, "ledger unavailable")}
	case e.State == ledger.Succeeded, e.State == ledger.Dead:
		return Action{Do: DoReemit}
	case e.State == ledger.Started:
		if e.Unresolved != "" { // no call in flight: a natural-key lookup is still owed
			if spent(in) {
				return deadLetter(deadletter.Ambiguous, ambiguousMsg(in, e.Unresolved, "the natural-key lookup never answered and "+
					fmt.Sprintf("the delivery budget (%d) is spent", p.MaxDeliveries)), "", e.Attempts)
			}
			return unknown(in, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonLookup, Msg: e.Unresolved})
		}
		if age := in.Now.Sub(e.StartedAt); age < p.Lease() {
			// Another delivery is (or was just) calling: come back when its lease ends. The wait is not
			// the event's, so it is recorded as uncounted.
			return Action{Do: DoLater, Delay: p.Lease() - age + in.Jitter, Retry: "lease_wait", Bump: true}
		}
		return unknown(in, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonAbandoned,
			Msg: fmt.Sprintf("a worker began call %d at %s and never recorded its result (it probably stopped mid-call)",
				e.Attempts, e.StartedAt.Format(time.RFC3339))})
	}
	// Retrying: the last call provably had no effect (an entry of no state a worker writes reads so too).
	if spent(in) {
		return deadLetter(deadletter.Exhausted, fmt.Sprintf("gave up after %d deliveries and %d calls", counted(in), e.Attempts), "", e.Attempts)
	}
	return nextCall(in, "")
}

// called: rule 3 for a call's result.
func called(in Input) Action {
	if in.Err == nil {
		return Action{Do: DoSucceed, Fail: failedAfterSuccess}
	}
	e, p := in.Entry, in.Policy
	if errors.Is(in.Err, errLeaseLost) {
		a := *later(time.Second, "no call made")
		a.Err = in.Err
		return a
	}
	te := adapter.AsError(in.Err)
	switch te.Class {
	case adapter.ClassInvalid:
		return deadLetter(deadletter.Invalid, te.Msg, te.Status, e.Attempts-1) // refused before any call
	case adapter.ClassRejected:
		return deadLetter(deadletter.Rejected, te.Msg, te.Status, e.Attempts)
	case adapter.ClassUnknown:
		return unknown(in, te)
	}
	if te.Reason == adapter.ReasonCircuitOpen { // no call was made: give the attempt back and wait in JetStream
		back := e
		back.State, back.Attempts, back.Uncounted = ledger.Retrying, e.Attempts-1, e.Uncounted+1
		return Action{Do: DoLater, Entry: &back, Delay: te.RetryAfter, Retry: string(adapter.ReasonCircuitOpen),
			Fail: later(te.RetryAfter, "ledger update while the circuit is open failed")}
	}
	// Not sent, or "not now": the call had no effect.
	if e.Attempts >= p.MaxAttempts {
		return deadLetter(deadletter.Exhausted, fmt.Sprintf("gave up after %d calls; last: %s", e.Attempts, te.Msg), te.Status, e.Attempts)
	}
	if te.RetryAfter > p.MaxWait {
		return deadLetter(deadletter.Exhausted, fmt.Sprintf("gave up after %d calls: the vendor asked to wait %s before retrying, "+
			"longer than the route's longest wait (%s); replay when it is back; last: %s",
			e.Attempts, te.RetryAfter.Round(time.Second), p.MaxWait, te.Msg), te.Status, e.Attempts)
	}
	reason := "retryable"
	if te.Class == adapter.ClassNotSent {
		reason = "not_sent"
	}
	wait := in.Backoff
	if te.RetryAfter > wait {
		wait, reason = te.RetryAfter, "retry_after"
	}
	retrying := e
	retrying.State = ledger.Retrying
	return wait4(in, min(wait, p.MaxWait), &retrying, DoCall, Action{Retry: reason, Note: "call failed; will retry", Err: te,
		Fail: later(min(wait, p.MaxWait), "ledger update after a failed call failed")})
}

// lookedUp: rule 4, the natural-key lookup's answer.
func lookedUp(in Input) Action {
	e, p, cause := in.Entry, in.Policy, in.Cause
	if in.Err == nil && in.Exists {
		return Action{Do: DoSucceed, Note: "unknown outcome resolved: the record exists", Err: cause, Fail: failedAfterSuccess}
	}
	if in.Err == nil { // no record: the unknown call had no effect
		if e.Attempts >= p.MaxAttempts {
			return deadLetter(deadletter.Exhausted, fmt.Sprintf("gave up after %d calls; last: %s (no record was created)", e.Attempts, cause.Msg),
				cause.Status, e.Attempts)
		}
		a := nextCall(in, "unknown outcome resolved: no record exists; calling again")
		a.Cause = cause
		return a
	}
	// The failed lookup was a vendor call: it counts (the first lookup after a call is always made).
	le := adapter.AsError(in.Err)
	if e.Attempts+1 >= p.MaxAttempts || spent(in) {
		return deadLetter(deadletter.Ambiguous, ambiguousMsg(in, cause.Msg, "the natural-key lookup failed too ("+
			clipText(le.Msg, 100)+") and the retry budget is spent"), cause.Status, e.Attempts+1)
	}
	owed := e // no call is in flight while we wait; the lookup is owed
	owed.State, owed.Attempts, owed.StartedAt, owed.Unresolved = ledger.Started, e.Attempts+1, in.Now, cause.Msg
	wait := min(max(in.Backoff, le.RetryAfter), p.MaxWait)
	return wait4(in, wait, &owed, DoLookup, Action{Retry: "retryable", Cause: cause, Err: le,
		Note: "natural-key lookup after an unknown outcome failed; will look again",
		Fail: later(time.Second, "ledger update after a failed natural-key lookup failed")})
}

// failure is the error a failed call is counted under: a failed half-open probe reads as the
// circuit's refusal (the event waits with the others) but is counted as what the vendor answered.
func failure(err error) *adapter.Error {
	te := adapter.AsError(err)
	if te.Reason == adapter.ReasonCircuitOpen && te.Err != nil {
		return adapter.AsError(te.Err)
	}
	return te
}

// unknown: rule 4 — ask the vendor when the adapter has a natural key, else dead-letter ambiguous.
func unknown(in Input, te *adapter.Error) Action {
	if !in.Finder {
		return deadLetter(deadletter.Ambiguous, ambiguousMsg(in, te.Msg, ""), te.Status, in.Entry.Attempts)
	}
	return Action{Do: DoLookup, Cause: te}
}

// nextCall stamps the entry with call number Attempts+1, beginning now.
func nextCall(in Input, note string) Action {
	e := in.Entry
	e.State, e.Attempts, e.StartedAt, e.Unresolved = ledger.Started, e.Attempts+1, in.Now, ""
	return Action{Do: DoCall, Entry: &e, Note: note, Fail: later(time.Second, "ledger update before a call failed")}
}

// wait4 is rule 5's choice between a wait in process and one in JetStream: a (with its Retry, Note,
// Fail) after writing e, then next.
func wait4(in Input, wait time.Duration, e *ledger.Entry, next Do, a Action) Action {
	a.Entry, a.Delay = e, wait
	if wait > in.Policy.InProcessWait {
		a.Do = DoLater // a long wait: free the slot, JetStream brings the message back
		return a
	}
	a.Do, a.Next = DoWait, next
	return a
}

func deadLetter(class deadletter.Class, msg, status string, attempts int) Action {
	return Action{Do: DoDeadLetter, Class: class, Msg: msg, Status: status, Attempts: attempts,
		Fail: &Action{Do: DoLater, Delay: time.Second, level: levelError,
			Note: "ledger update before dead-lettering failed; the event will be looked at again"}}
}

func later(d time.Duration, note string) *Action {
	return &Action{Do: DoLater, Delay: d, Note: note, level: levelWarn}
}

// noteLevel is how loud an action's Note is logged.
type noteLevel int

const (
	levelInfo noteLevel = iota
	levelWarn
	levelError
)

// failedAfterSuccess: the vendor acted but its outcome could not be recorded. If another delivery
// meanwhile declared the event finished (an expired lease) its record stands; else the next delivery
// looks again.
var failedAfterSuccess = &Action{Do: DoLater, Delay: time.Second, level: levelError, withResult: true,
	Note: "vendor call succeeded but the ledger update failed; the event will be looked at again"}

// counted is how many deliveries count against the delivery budget: not those the breaker refused or
// that came before the entry existed (Entry.Uncounted).
func counted(in Input) int { return in.Deliveries - in.Entry.Uncounted }

// spent reports whether this delivery is past the route's delivery budget.
func spent(in Input) bool { return in.Deliveries > 0 && counted(in) > in.Policy.MaxDeliveries }

// ambiguousMsg is the one-line message of an ambiguous dead letter: what happened and what to verify.
func ambiguousMsg(in Input, cause, extra string) string {
	if extra != "" {
		extra = "; " + extra
		cause = clipText(cause, 100) // keep the instruction within one line's length
	}
	return fmt.Sprintf("outcome unknown after call %d: %s%s; %s may have acted: look in %s for a record "+
		"made from event %s around %s, then purge this dead letter if it exists or replay it with --allow-ambiguous if it does not",
		in.Entry.Attempts, cause, extra, in.Target, in.Target, in.EventID, in.Entry.StartedAt.Format(time.RFC3339))
}

// clipText cuts s to at most n bytes (on a rune boundary): a dead letter's cause is clipped by bytes so
// the operator's instruction after it stays within the header's one-line cap (redact.OneLine).
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
