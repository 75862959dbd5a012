package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/ledger"
)

// This file is the guarded call: the route's guard (concurrency, rate, circuit breaker) in front of
// one vendor call or natural-key lookup, each bounded by the attempt timeout.

func (w *Worker) request(j *job) adapter.Request {
	return adapter.Request{EventID: j.env.ID, Type: j.env.Type, Source: j.env.Source, Time: j.env.EventTime(),
		Data: j.env.Data}
}

// call makes vendor call number j.entry.Attempts through the route's guard. The call is recorded in
// the entry's history, saved with the next ledger write.
func (w *Worker) call(j *job) (res adapter.Result, err error) {
	r := j.r
	g := r.Guard
	if g != nil {
		ok, wait, probe := g.allow(time.Now())
		if !ok {
			return adapter.Result{}, circuitOpen(r, wait)
		}
		if probe {
			defer func() { res, err = probeResult(j, g, res, err) }()
		}
		release, err := g.acquire(w.ctx)
		if err != nil {
			g.record(callNeutral, time.Now())
			return adapter.Result{}, &adapter.Error{Class: adapter.ClassNotSent, Reason: adapter.ReasonLimit, Msg: "no call slot: " + err.Error()}
		}
		defer release()
		if err := w.renewLease(j); err != nil {
			g.record(callNeutral, time.Now())
			return adapter.Result{}, err
		}
	}
	ctx, cancel := context.WithTimeout(adapter.WithTraceparent(w.ctx, j.env.Traceparent), r.policy.AttemptTimeout)
	defer cancel()
	j.callMade = true
	began := time.Now()
	res, err = r.Target.Call(ctx, w.request(j))
	if g != nil {
		g.record(breakerOutcome(err), time.Now())
	}
	j.entry.AddAttempt(attemptRecord(j.entry.Attempts, began, err))
	return res, err
}

// lookup asks the route's adapter (an adapter.Finder) whether the record the unknown call would have
// made exists.
func (w *Worker) lookup(j *job, cause *adapter.Error) (adapter.Result, bool, error) {
	f := j.r.Target.(adapter.Finder) // step asks for a lookup only when Input.Finder
	ctx, cancel := context.WithTimeout(adapter.WithTraceparent(w.ctx, j.env.Traceparent), j.r.policy.AttemptTimeout)
	defer cancel()
	return f.Find(ctx, w.request(j))
}

func circuitOpen(r *runner, wait time.Duration) *adapter.Error {
	return &adapter.Error{Class: adapter.ClassNotSent, Reason: adapter.ReasonCircuitOpen, RetryAfter: wait,
		Msg: "circuit open for " + r.TargetName + ": no call made"}
}

// probeResult turns the failure of a half-open probe that provably had no effect (not sent, "not now")
// into a circuit_open refusal: the probe was the breaker's question, so the event gets its attempt back
// and waits with the others. A probe whose outcome is unknown stays unknown: the vendor may have acted.
func probeResult(j *job, g *Guard, res adapter.Result, err error) (adapter.Result, error) {
	if err == nil || !adapter.Unwell(err) {
		return res, err
	}
	te := adapter.AsError(err)
	if te.Class != adapter.ClassNotSent && te.Class != adapter.ClassRetryable || te.Reason == adapter.ReasonCircuitOpen {
		return res, err
	}
	j.logger().Info("circuit probe failed; the event waits with the others", zap.String("error", adapter.MaskDigits(te.Msg)))
	wait := g.Blocked(time.Now())
	if wait <= 0 {
		wait = g.probeWait()
	}
	refused := circuitOpen(j.r, wait)
	refused.Err = err // what the vendor answered: it is counted as that (step's failure)
	return res, refused
}

// attemptRecord is the ledger's record of call n, begun at began, that ended with err.
func attemptRecord(n int, began time.Time, err error) ledger.Attempt {
	a := ledger.Attempt{N: n, At: began.UTC(), DurationMS: float64(time.Since(began).Microseconds()) / 1000, Class: "ok"}
	if err != nil {
		te := adapter.AsError(err)
		a.Class, a.Status, a.Error = te.Class.String(), te.Status, adapter.MaskDigits(adapter.OneLine(te.Msg)) // served to ingest-token holders
	}
	return a
}

// renewLease keeps the promise of the `started` entry the claim wrote: the call it announces ends
// within the lease. Waiting for a call slot or a rate token eats into that lease, so after a wait of
// more than half its slack (Lease - AttemptTimeout) the entry is stamped again, compare-and-set on the
// revision this delivery holds. Another delivery that took the event over in the meantime makes that
// write fail, and then no call is made.
func (w *Worker) renewLease(j *job) error {
	p := j.r.policy
	if time.Since(j.entry.StartedAt) <= (p.Lease()-p.AttemptTimeout)/2 {
		return nil
	}
	e := j.entry
	e.StartedAt = time.Now().UTC()
	if err := w.save(j, e); err != nil {
		return fmt.Errorf("%w: %w", errLeaseLost, err)
	}
	j.logger().Debug("waited for a call slot; ledger lease renewed")
	return nil
}

// breakerOutcome says what a call's result means for the circuit breaker: only failures that say the
// vendor is unwell (adapter.Unwell: not reachable, "not now", a 5xx without a record-level message)
// count against it. A problem of the event itself (invalid, a header Go refuses to send) or a session
// the vendor ended is neutral; any other answer (a success, a refusal, a per-record message) shows the
// vendor answering.
func breakerOutcome(err error) outcome {
	if err == nil {
		return callOK
	}
	if adapter.Unwell(err) {
		return callFailed
	}
	te := adapter.AsError(err)
	switch {
	case te.Class == adapter.ClassInvalid, errors.Is(err, adapter.ErrSessionEnded), te.Reason == adapter.ReasonHeader, te.Reason == adapter.ReasonEncode:
		return callNeutral
	}
	return callOK
}

// backoffAfter is the wait after a failure of call n: the n-th interval of the route's exponential
// schedule with jitter (cenkalti/backoff), so a later delivery resumes where an earlier one stopped.
func backoffAfter(p Policy, n int) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.InitialInterval
	b.MaxInterval = p.MaxInterval
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxElapsedTime = 0 // the budget is MaxAttempts, not time
	b.Reset()
	d := b.NextBackOff()
	for i := 1; i < n; i++ {
		d = b.NextBackOff()
	}
	return d
}
