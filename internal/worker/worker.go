package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
)

// The dead-letter classes, as the worker's call sites name them; the contract (classes, headers,
// message ids) is package deadletter, which is what every other package imports.
const (
	ClassInvalid   = deadletter.Invalid
	ClassRejected  = deadletter.Rejected
	ClassExhausted = deadletter.Exhausted
	ClassAmbiguous = deadletter.Ambiguous
)

// Worker runs a set of routes in this process. It holds no state of its own beyond in-flight
// messages: everything durable is in JetStream. Start once, Stop once.
type Worker struct {
	js      jetstream.JetStream
	ledger  *ledger.Ledger
	schemas *event.Schemas
	metrics *metrics.Metrics
	log     *zap.Logger
	routes  []*runner

	base     context.Context // handlers' context: not cancelled by Stop, so a call in flight finishes
	stopping chan struct{}   // closed by Stop: waits hand their message back instead of sleeping
	stopOnce sync.Once
	wg       sync.WaitGroup
}

type runner struct {
	Route
	policy  Policy
	work    chan jetstream.Msg // to the route's Concurrency handler goroutines
	log     *zap.Logger
	debug   bool // log is enabled at debug level
	m       routeMetrics
	cons    jetstream.Consumer
	consume jetstream.ConsumeContext
}

// New prepares a worker; nothing runs until Start.
func New(js jetstream.JetStream, l *ledger.Ledger, s *event.Schemas, m *metrics.Metrics, log *zap.Logger, routes []Route) (*Worker, error) {
	w := &Worker{js: js, ledger: l, schemas: s, metrics: m, log: log, base: context.Background(), stopping: make(chan struct{})}
	seen := map[string]bool{}
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("route %s is listed twice", r.Name)
		}
		seen[r.Name] = true
		if !s.Has(r.EventType) {
			return nil, fmt.Errorf("route %s: event type %s has no schema", r.Name, r.EventType)
		}
		p := r.Policy.WithDefaults()
		m.AddRoute(r.Name)
		m.AddTarget(r.TargetName, r.Operation)
		w.routes = append(w.routes, &runner{Route: r, policy: p, work: make(chan jetstream.Msg),
			log: log.With(zap.String("route", r.Name), zap.String("target", r.TargetName)), debug: log.Core().Enabled(zap.DebugLevel),
			m: newRouteMetrics(m, r.Name)})
	}
	return w, nil
}

// ConsumerConfig is the durable consumer of route r.
func ConsumerConfig(r Route) jetstream.ConsumerConfig {
	p := r.Policy.WithDefaults()
	return jetstream.ConsumerConfig{
		Durable:       r.Name,
		Description:   fmt.Sprintf("Köprü route %s: %s → %s %s", r.Name, r.EventType, r.TargetName, r.Operation),
		FilterSubject: event.EventsPrefix + r.EventType,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       p.AckWait,
		MaxDeliver:    -1, // the worker owns the retry budget (Policy.MaxAttempts, MaxDeliveries)
		MaxAckPending: p.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Start creates or updates each route's durable consumer and starts consuming.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.EnsureConsumers(ctx); err != nil {
		return err
	}
	w.watchGuards()
	for _, r := range w.routes {
		cons := r.cons
		r := r
		// Concurrency long-lived handlers rather than a goroutine per event: a fresh goroutine grows its
		// stack anew for every event (decoding, validation), which costs more CPU than the hand-off.
		for range r.policy.Concurrency {
			w.wg.Add(1)
			go w.serve(r)
		}
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			select {
			case r.work <- msg: // backpressure: waits for a free handler
			case <-w.stopping:
				_ = msg.Nak() // stopping: hand it back at once
			}
		}, jetstream.PullMaxMessages(r.policy.Concurrency),
			// Short pull requests: a pull the server lost (a consumer leader change on a cluster) is
			// noticed by the missing heartbeat and re-issued within seconds, not after 30 s.
			jetstream.PullExpiry(5*time.Second),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if errors.Is(err, jetstream.ErrNoHeartbeat) {
					r.log.Info("consumer heartbeat missed; pulling again", zap.Error(err))
					return
				}
				r.log.Warn("consumer error", zap.Error(err))
			}))
		if err != nil {
			return fmt.Errorf("route %s: consume: %w", r.Name, err)
		}
		r.consume = cc
		r.log.Info("route started", zap.String("subject", event.EventsPrefix+r.EventType),
			zap.Int("concurrency", r.policy.Concurrency))
	}
	return nil
}

// serve handles r's events one at a time until the worker stops.
func (w *Worker) serve(r *runner) {
	defer w.wg.Done()
	k := newKeeper(r.policy.AckWait / 3)
	defer k.done()
	for {
		select {
		case msg := <-r.work:
			w.handle(r, k, msg)
		case <-w.stopping:
			return
		}
	}
}

// Stop stops fetching, hands waiting messages back to JetStream, and waits for calls in flight until
// ctx ends. Messages still in flight then are redelivered to another worker.
func (w *Worker) Stop(ctx context.Context) error {
	for _, r := range w.routes {
		if r.consume != nil {
			r.consume.Stop()
		}
	}
	w.stopOnce.Do(func() { close(w.stopping) })
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopped with events still in flight: %w", ctx.Err())
	}
}

// Consumers returns each route's consumer handle (for status and metrics).
func (w *Worker) Consumers() map[string]jetstream.Consumer {
	out := map[string]jetstream.Consumer{}
	for _, r := range w.routes {
		if r.cons != nil {
			out[r.Name] = r.cons
		}
	}
	return out
}

// job is one delivery of one event on one route.
type job struct {
	r     *runner
	msg   jetstream.Msg
	meta  *jetstream.MsgMetadata
	env   *event.Envelope
	key   string
	entry ledger.Entry
	rev   uint64
	log   *zap.Logger
}

// logger returns the route's logger narrowed to this event, built on first use so that events that log
// nothing pay nothing.
func (j *job) logger() *zap.Logger {
	if j.log == nil {
		j.log = j.r.log
		if j.env != nil {
			j.log = j.log.With(zap.String("event_id", j.env.ID))
			if j.env.Traceparent != "" {
				j.log = j.log.With(zap.String("traceparent", j.env.Traceparent))
			}
		}
	}
	return j.log
}

func (w *Worker) handle(r *runner, k *keeper, msg jetstream.Msg) {
	r.m.received.Inc()
	r.m.inflight.Inc()
	defer r.m.inflight.Dec()
	k.keep(msg)
	defer k.done()

	j := &job{r: r, msg: msg}
	j.meta, _ = msg.Metadata()
	defer func() {
		if p := recover(); p != nil { // a defect must not take the process down or lose the message
			if j.meta == nil || j.meta.NumDelivered < panicDeliveries {
				j.logger().Error("panic while handling an event; it will be redelivered", zap.Any("panic", p))
				_ = msg.NakWithDelay(min(5*time.Second, r.policy.AckWait/4))
				return
			}
			// The same event keeps failing: a defect to report, not a reason to loop forever.
			class := ClassInvalid
			if j.entry.State == ledger.Started {
				class = ClassAmbiguous // it failed somewhere after a call began
			}
			w.deadLetter(j, class, fmt.Sprintf("Köprü failed on this event %d times (a defect: %v); report it, then replay", j.meta.NumDelivered, p),
				"", j.entry.Attempts)
		}
	}()
	w.process(j)
}

func (w *Worker) process(j *job) {
	r, msg := j.r, j.msg
	if w.replayForAnother(j) {
		return
	}
	env, err := event.DecodeMessage(msg.Headers(), msg.Data()) // structured or binary content mode
	if err != nil {
		w.deadLetter(j, ClassInvalid, event.Reason(err), "", 0)
		return
	}
	j.env = env
	if env.DroppedTraceparent != "" { // the producer's mistake: handled without it, never failed for it
		w.metrics.TraceparentDropped.WithLabelValues(r.Name).Inc()
		j.logger().Warn("traceparent is not W3C trace context; dropped",
			zap.String("traceparent", strconv.Quote(adapter.OneLine(clipText(env.DroppedTraceparent, 120)))))
	}
	if env.Type != r.EventType {
		w.deadLetter(j, ClassInvalid, fmt.Sprintf("event of type %q was published on %s", adapter.OneLine(env.Type), msg.Subject()), "", 0)
		return
	}
	if err := w.schemas.Validate(env.Type, env.Data); err != nil {
		w.deadLetter(j, ClassInvalid, event.Reason(err), "", 0)
		return
	}
	j.key = ledger.Key(r.Name, env.ID)
	if r.Guard != nil {
		if d := r.Guard.Blocked(time.Now()); d > 0 {
			w.refuse(j, d)
			return
		}
	}
	if !w.claim(j) {
		return
	}
	w.callLoop(j)
}

// replayForAnother settles a DLQ replay meant for another route of the same event type (acked: this
// route already finished the event), and reports whether it did. Kopru-Replay-Route counts only on a
// message with the replay ticket internal/ops left in the ledger for its exact id and bytes; without
// one (a producer set the header) it is logged and the event is processed normally, never dropped.
func (w *Worker) replayForAnother(j *job) bool {
	h := j.msg.Headers()
	rr := h.Get(deadletter.HdrReplayRoute)
	if rr == "" || rr == j.r.Name {
		return false
	}
	route, err := w.ledger.ReplayTicket(w.base, h.Get(nats.MsgIdHdr), j.msg.Data())
	switch {
	case err == nil && route == rr:
		_ = j.msg.Ack()
		return true
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		w.later(j, time.Second, "ledger unavailable", err)
		return true
	}
	j.logger().Warn("Kopru-Replay-Route names another route, but no Köprü replay published this message: processing it",
		zap.String("replay_route", adapter.OneLine(rr)))
	return false
}

// claim makes this delivery the owner of the event's next vendor call, or settles the delivery itself
// (re-emits a finished event, waits out another worker's lease, dead-letters an abandoned call). It
// reports whether the caller should go on and call.
func (w *Worker) claim(j *job) bool {
	ctx := w.base
	now := time.Now().UTC()
	// Deliveries before the entry existed made no call (the circuit was open, the ledger unavailable):
	// they do not count against the delivery budget.
	uncounted := 0
	if j.meta != nil && j.meta.NumDelivered > 1 {
		uncounted = int(j.meta.NumDelivered) - 1
	}
	err := w.save(j, ledger.Entry{State: ledger.Started, Attempts: 1, StartedAt: now, Uncounted: uncounted})
	if err == nil {
		return true
	}
	if !errors.Is(err, ledger.ErrExists) {
		w.later(j, time.Second, "ledger unavailable", err)
		return false
	}
	e, rev, err := w.ledger.Get(ctx, j.key)
	if err != nil {
		w.later(j, time.Second, "ledger unavailable", err)
		return false
	}
	j.entry, j.rev = e, rev
	switch e.State {
	case ledger.Succeeded:
		w.reemitOutcome(j)
		return false
	case ledger.Dead:
		w.reemitDeadLetter(j)
		return false
	case ledger.Started:
		if e.Unresolved != "" { // no call in flight: a natural-key lookup is still owed
			if w.deliveriesSpent(j) {
				w.deadLetter(j, ClassAmbiguous, w.ambiguousMsg(j, e.Unresolved, "the natural-key lookup never answered and "+
					fmt.Sprintf("the delivery budget (%d) is spent", j.r.policy.MaxDeliveries)), "", e.Attempts)
				return false
			}
			return w.unknownOutcome(j, &adapter.Error{Class: adapter.ClassUnknown, Reason: "lookup", Msg: e.Unresolved})
		}
		lease := j.r.policy.Lease()
		if age := now.Sub(e.StartedAt); age < lease {
			// Another delivery of this event is (or was just) calling. Come back when its lease ends.
			// The wait is not the event's: record it as uncounted (the owner's next write merges the count).
			w.metrics.Retries.WithLabelValues(j.r.Name, "lease_wait").Inc()
			w.bumpUncounted(j.key, e, rev)
			_ = j.msg.NakWithDelay(lease - age + time.Duration(rand.IntN(500))*time.Millisecond)
			return false
		}
		return w.unknownOutcome(j, &adapter.Error{Class: adapter.ClassUnknown, Reason: "abandoned",
			Msg: fmt.Sprintf("a worker began call %d at %s and never recorded its result (it probably stopped mid-call)",
				e.Attempts, e.StartedAt.Format(time.RFC3339))})
	}
	// Retrying: the last call provably had no effect.
	if w.deliveriesSpent(j) {
		w.deadLetter(j, ClassExhausted, fmt.Sprintf("gave up after %d deliveries and %d calls", w.counted(j), e.Attempts), "", e.Attempts)
		return false
	}
	return w.startAttempt(j)
}

// counted is how many deliveries of this event count against the delivery budget: those the breaker
// refused (ledger Entry.Uncounted) do not.
func (w *Worker) counted(j *job) int {
	if j.meta == nil {
		return 0
	}
	return int(j.meta.NumDelivered) - j.entry.Uncounted
}

// deliveriesSpent reports whether this delivery is past the route's delivery budget.
func (w *Worker) deliveriesSpent(j *job) bool { return w.counted(j) > j.r.policy.MaxDeliveries }

// refuse hands a delivery back because the target's circuit is open, for d. Such a delivery is the
// breaker's, not the event's: it is recorded as uncounted in the event's entry (bumpUncounted); an
// event with no entry yet is forgiven at its claim.
func (w *Worker) refuse(j *job, d time.Duration) {
	w.metrics.Retries.WithLabelValues(j.r.Name, reasonCircuitOpen).Inc()
	ctx, cancel := context.WithTimeout(w.base, 5*time.Second)
	e, rev, err := w.ledger.Get(ctx, j.key)
	cancel()
	if err == nil && !e.Terminal() {
		w.bumpUncounted(j.key, e, rev)
	}
	_ = j.msg.NakWithDelay(d)
}

// bumpUncounted adds one to the Uncounted deliveries of entry e (at revision rev), compare-and-set and
// best effort: a lost race only means this one delivery counts. Another delivery that owns the entry
// meanwhile merges the count on its next write (save), so the bump never takes an event over.
func (w *Worker) bumpUncounted(key string, e ledger.Entry, rev uint64) {
	ctx, cancel := context.WithTimeout(w.base, 5*time.Second)
	defer cancel()
	e.Uncounted++
	_, _ = w.ledger.Update(ctx, key, e, rev)
}

// onlyCounted reports whether cur differs from mine only by a higher Uncounted: another delivery
// recorded a refused delivery (bumpUncounted) and nothing else.
func onlyCounted(cur, mine ledger.Entry) bool {
	return cur.Uncounted > mine.Uncounted && cur.State == mine.State && cur.Attempts == mine.Attempts &&
		cur.StartedAt.Equal(mine.StartedAt) && cur.Unresolved == mine.Unresolved
}

// startAttempt records that call number entry.Attempts+1 begins now.
func (w *Worker) startAttempt(j *job) bool {
	e := j.entry
	e.State, e.Attempts, e.StartedAt, e.Unresolved = ledger.Started, e.Attempts+1, time.Now().UTC(), ""
	if err := w.save(j, e); err != nil {
		// ErrConflict: another delivery got there first; it will finish the event.
		w.later(j, time.Second, "ledger update before a call failed", err)
		return false
	}
	return true
}

// save writes e as the event's ledger entry: a create when this delivery holds no revision yet, else a
// compare-and-set on the revision it read. A write whose answer is lost (a timeout under load) may still
// have landed, so a failed write is checked by reading the entry back: if it holds exactly e, the write
// is ours. Transient failures are retried for up to half a lease; ErrExists and ErrConflict mean another
// delivery moved the entry and come back at once — except a conflict that only recorded a refused
// delivery (bumpUncounted), whose count is merged into e before writing again.
func (w *Worker) save(j *job, e ledger.Entry) error {
	// The window covers a JetStream leader election (seconds) even for short attempt timeouts; each try
	// has its own deadline so one stuck request cannot use the whole window.
	window := max(j.r.policy.Lease()/2, 12*time.Second)
	deadline := time.Now().Add(window)
	delay := 50 * time.Millisecond
	var want []byte // e as stored, marshalled only if a write fails and must be checked
	for {
		ctx, cancel := context.WithTimeout(w.base, window/3)
		var rev uint64
		var err error
		if j.rev == 0 {
			rev, err = w.ledger.Create(ctx, j.key, e)
		} else {
			rev, err = w.ledger.Update(ctx, j.key, e, j.rev)
		}
		if err == nil {
			cancel()
			j.entry, j.rev = e, rev
			return nil
		}
		cur, crev, gerr := w.ledger.Get(ctx, j.key)
		cancel()
		if gerr == nil {
			if want == nil {
				want, _ = json.Marshal(e)
			}
			if got, _ := json.Marshal(cur); bytes.Equal(got, want) {
				j.entry, j.rev = cur, crev // the write landed; only its answer was lost
				return nil
			}
			if errors.Is(err, ledger.ErrConflict) && j.rev != 0 && onlyCounted(cur, j.entry) {
				// Only a refused delivery was recorded meanwhile: keep its count and write again.
				e.Uncounted += cur.Uncounted - j.entry.Uncounted
				j.entry.Uncounted, j.rev, want = cur.Uncounted, crev, nil
				continue
			}
			if errors.Is(err, ledger.ErrExists) || errors.Is(err, ledger.ErrConflict) {
				return err
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		j.logger().Warn("ledger write failed; retrying", zap.Error(err), zap.Duration("wait", delay))
		time.Sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

func (w *Worker) callLoop(j *job) {
	r := j.r
	bo := newBackoff(r.policy)
	for i := 1; i < j.entry.Attempts; i++ {
		bo.NextBackOff() // resume the schedule of earlier deliveries
	}
	for {
		res, err := w.call(j)
		if err == nil {
			w.succeed(j, res)
			return
		}
		if errors.Is(err, errLeaseLost) {
			w.later(j, time.Second, "no call made", err)
			return
		}
		te := adapter.AsError(err)
		log := j.logger().With(zap.Int("attempt", j.entry.Attempts), zap.String("class", te.Class.String()),
			zap.String("reason", string(te.Reason)), zap.String("status", te.Status))
		switch te.Class {
		case adapter.ClassInvalid:
			w.deadLetter(j, ClassInvalid, te.Msg, te.Status, j.entry.Attempts-1) // refused before any call
			return
		case adapter.ClassRejected:
			w.deadLetter(j, ClassRejected, te.Msg, te.Status, j.entry.Attempts)
			return
		case adapter.ClassUnknown:
			if !w.unknownOutcome(j, te) {
				return
			}
			continue // a natural-key check proved the earlier call had no effect: call again
		}
		if te.Reason == reasonCircuitOpen { // no call was made: give the attempt back and wait in JetStream
			w.metrics.Retries.WithLabelValues(r.Name, reasonCircuitOpen).Inc()
			e := j.entry
			e.State, e.Attempts, e.Uncounted = ledger.Retrying, e.Attempts-1, e.Uncounted+1
			if err := w.save(j, e); err != nil {
				w.later(j, te.RetryAfter, "ledger update while the circuit is open failed", err)
				return
			}
			_ = j.msg.NakWithDelay(te.RetryAfter)
			return
		}
		// Not sent, or retryable: the call had no effect.
		if j.entry.Attempts >= r.policy.MaxAttempts {
			w.deadLetter(j, ClassExhausted, fmt.Sprintf("gave up after %d calls; last: %s", j.entry.Attempts, te.Msg), te.Status, j.entry.Attempts)
			return
		}
		wait := bo.NextBackOff()
		reason := "retryable"
		if te.Class == adapter.ClassNotSent {
			reason = "not_sent"
		}
		if te.RetryAfter > r.policy.MaxWait {
			w.deadLetter(j, ClassExhausted, fmt.Sprintf("gave up after %d calls: the vendor asked to wait %s before retrying, "+
				"longer than the route's longest wait (%s); replay when it is back; last: %s",
				j.entry.Attempts, te.RetryAfter.Round(time.Second), r.policy.MaxWait, te.Msg), te.Status, j.entry.Attempts)
			return
		}
		if te.RetryAfter > wait {
			wait, reason = te.RetryAfter, "retry_after"
		}
		wait = min(wait, r.policy.MaxWait)
		w.metrics.Retries.WithLabelValues(r.Name, reason).Inc()
		e := j.entry
		e.State = ledger.Retrying
		if err := w.save(j, e); err != nil {
			w.later(j, wait, "ledger update after a failed call failed", err)
			return
		}
		log.Info("call failed; will retry", zap.String("error", adapter.MaskDigits(te.Msg)), zap.Duration("wait", wait))
		if wait > r.policy.InProcessWait {
			_ = j.msg.NakWithDelay(wait) // a long wait: free the slot, JetStream brings it back
			return
		}
		select {
		case <-time.After(wait):
		case <-w.stopping:
			_ = j.msg.NakWithDelay(wait)
			return
		}
		if !w.startAttempt(j) {
			return
		}
	}
}

// unknownOutcome handles a call that may have taken effect. With a natural key (adapter.Finder) it asks
// the vendor: found → that is the outcome; not found → it reports true and the caller calls again.
// Without one, the event is dead-lettered as ambiguous: never a silent second call.
//
// A lookup is a vendor call too: each one that fails counts against the event's budget (MaxAttempts,
// MaxDeliveries), and when the budget is spent before a lookup answers the event is dead-lettered as
// ambiguous, since nobody knows whether the record exists.
func (w *Worker) unknownOutcome(j *job, te *adapter.Error) bool {
	r := j.r
	f, ok := r.Target.(adapter.Finder)
	if !ok {
		w.deadLetter(j, ClassAmbiguous, w.ambiguousMsg(j, te.Msg, ""), te.Status, j.entry.Attempts)
		return false
	}
	bo := newBackoff(r.policy)
	for {
		ctx, cancel := context.WithTimeout(adapter.WithTraceparent(w.base, j.env.Traceparent), r.policy.AttemptTimeout)
		res, found, err := f.Find(ctx, w.request(j))
		cancel()
		if err == nil && found {
			j.logger().Info("unknown outcome resolved: the record exists", zap.String("cause", adapter.MaskDigits(te.Msg)))
			w.succeed(j, res)
			return false
		}
		if err == nil {
			break
		}
		le := adapter.AsError(err)
		// The failed lookup was a vendor call: it counts (the first lookup after a call is always made).
		if j.entry.Attempts+1 >= r.policy.MaxAttempts || w.deliveriesSpent(j) {
			w.deadLetter(j, ClassAmbiguous, w.ambiguousMsg(j, te.Msg, "the natural-key lookup failed too ("+
				clipText(le.Msg, 100)+") and the retry budget is spent"), te.Status, j.entry.Attempts+1)
			return false
		}
		e := j.entry // no call is in flight while we wait
		e.State, e.Attempts, e.StartedAt, e.Unresolved = ledger.Started, e.Attempts+1, time.Now().UTC(), te.Msg
		if serr := w.save(j, e); serr != nil {
			w.later(j, time.Second, "ledger update after a failed natural-key lookup failed", serr)
			return false
		}
		wait := bo.NextBackOff()
		if le.RetryAfter > wait {
			wait = le.RetryAfter
		}
		wait = min(wait, r.policy.MaxWait)
		w.metrics.Retries.WithLabelValues(r.Name, "retryable").Inc()
		j.logger().Info("natural-key lookup after an unknown outcome failed; will look again", zap.Int("attempt", e.Attempts),
			zap.String("error", adapter.MaskDigits(le.Msg)), zap.String("cause", adapter.MaskDigits(te.Msg)), zap.Duration("wait", wait))
		if wait > r.policy.InProcessWait {
			_ = j.msg.NakWithDelay(wait)
			return false
		}
		select {
		case <-time.After(wait):
		case <-w.stopping:
			_ = j.msg.NakWithDelay(wait)
			return false
		}
	}
	if j.entry.Attempts >= r.policy.MaxAttempts {
		w.deadLetter(j, ClassExhausted, fmt.Sprintf("gave up after %d calls; last: %s (no record was created)", j.entry.Attempts, te.Msg), te.Status, j.entry.Attempts)
		return false
	}
	j.logger().Info("unknown outcome resolved: no record exists; calling again", zap.String("cause", adapter.MaskDigits(te.Msg)))
	return w.startAttempt(j)
}

// ambiguousMsg is the one-line message of an ambiguous dead letter: what happened and what to verify.
func (w *Worker) ambiguousMsg(j *job, cause, extra string) string {
	r := j.r
	if extra != "" {
		extra = "; " + extra
	}
	if extra != "" {
		cause = clipText(cause, 100) // keep the instruction within one line's length
	}
	return fmt.Sprintf("outcome unknown after call %d: %s%s; %s may have acted: look in %s for a record "+
		"made from event %s around %s, then purge this dead letter if it exists or replay it with --allow-ambiguous if it does not",
		j.entry.Attempts, cause, extra, r.TargetName, r.TargetName, j.env.ID, j.entry.StartedAt.Format(time.RFC3339))
}

func (w *Worker) request(j *job) adapter.Request {
	return adapter.Request{EventID: j.env.ID, Type: j.env.Type, Source: j.env.Source, Time: j.env.EventTime(),
		Data: j.env.Data, Traceparent: j.env.Traceparent}
}

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
		release, err := g.acquire(w.base)
		if err != nil {
			g.record(callNeutral, time.Now())
			return adapter.Result{}, &adapter.Error{Class: adapter.ClassNotSent, Reason: "limit", Msg: "no call slot: " + err.Error()}
		}
		defer release()
		if err := w.renewLease(j); err != nil {
			g.record(callNeutral, time.Now())
			return adapter.Result{}, err
		}
	}
	ctx, cancel := context.WithTimeout(adapter.WithTraceparent(w.base, j.env.Traceparent), r.policy.AttemptTimeout)
	defer cancel()
	r.m.attempts.Inc()
	began := time.Now()
	res, err = r.Target.Call(ctx, w.request(j))
	if g != nil {
		g.record(breakerOutcome(err), time.Now())
	}
	j.entry.AddAttempt(attemptRecord(j.entry.Attempts, began, err)) // saved with the next ledger write
	return res, err
}

func circuitOpen(r *runner, wait time.Duration) *adapter.Error {
	return &adapter.Error{Class: adapter.ClassNotSent, Reason: reasonCircuitOpen, RetryAfter: wait,
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
	if te.Class != adapter.ClassNotSent && te.Class != adapter.ClassRetryable || te.Reason == reasonCircuitOpen {
		return res, err
	}
	j.logger().Info("circuit probe failed; the event waits with the others", zap.String("error", adapter.MaskDigits(te.Msg)))
	wait := g.Blocked(time.Now())
	if wait <= 0 {
		wait = g.probeWait()
	}
	return res, circuitOpen(j.r, wait)
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

const reasonCircuitOpen = "circuit_open"

// errLeaseLost: the ledger entry could not be re-stamped before a delayed call; no call was made.
var errLeaseLost = errors.New("cannot renew the call's ledger lease")

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

// panicDeliveries is how many deliveries of one event may end in a panic before it is dead-lettered.
const panicDeliveries = 3

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

// watchGuards exports each guard's state and pauses the consumers of its routes while it is open, so
// their events wait in JetStream (on every worker) instead of burning their retry budget.
func (w *Worker) watchGuards() {
	seen := map[*Guard]bool{}
	for _, r := range w.routes {
		g := r.Guard
		if g == nil || seen[g] {
			continue
		}
		seen[g] = true
		gauge := w.metrics.Circuit.WithLabelValues(g.Target)
		gauge.Set(CircuitClosed)
		var names []string
		for _, r2 := range w.routes {
			if r2.Guard == g {
				names = append(names, r2.Name)
			}
		}
		g.OnChange(func(state int, until time.Time) {
			gauge.Set(float64(state))
			switch state {
			case CircuitOpen:
				w.log.Warn("circuit open: target failing; pausing its consumers", zap.String("target", g.Target),
					zap.Time("until", until), zap.Strings("routes", names))
				for _, name := range names {
					ctx, cancel := context.WithTimeout(w.base, 5*time.Second)
					if _, err := w.js.PauseConsumer(ctx, bus.StreamEvents, name, until); err != nil {
						w.log.Warn("cannot pause consumer", zap.String("route", name), zap.Error(err))
					}
					cancel()
				}
			case CircuitHalfOpen:
				w.log.Info("circuit half-open: probing target", zap.String("target", g.Target))
			case CircuitClosed:
				w.log.Info("circuit closed: target answering again", zap.String("target", g.Target))
			}
		})
	}
}

// succeed records the outcome in the ledger, publishes it and acks.
func (w *Worker) succeed(j *job, res adapter.Result) {
	r := j.r
	data := make(map[string]any, len(res.Fields)+3)
	for k, v := range res.Fields {
		data[k] = v
	}
	data["requestId"], data["route"], data["target"] = j.env.ID, r.Name, r.TargetName
	outID := event.OutcomeID(r.Name, j.env.ID)
	b, err := json.Marshal(outcomeEnvelope{SpecVersion: "1.0", ID: outID, Source: "kopru/" + r.Name, Type: r.OutcomeType,
		Time: time.Now().UTC().Format(time.RFC3339Nano), DataContentType: "application/json",
		Subject: j.env.ID, DataSchema: w.schemas.DataSchema(r.OutcomeType),
		Traceparent: j.env.Traceparent, RequestID: j.env.ID, Route: r.Name, Target: r.TargetName, Data: data})
	if err != nil {
		j.logger().Error("cannot encode the outcome; the event will be looked at again", zap.Error(err))
		_ = j.msg.NakWithDelay(time.Minute)
		return
	}
	e := j.entry
	e.State, e.Outcome = ledger.Succeeded, b
	if err := w.save(j, e); err != nil {
		// The vendor acted but the ledger write failed. If another delivery meanwhile declared the event
		// finished (an expired lease), its record stands; otherwise come back and look again.
		j.logger().Error("vendor call succeeded but the ledger update failed; the event will be looked at again",
			zap.Error(err), zap.String("result", adapter.MaskDigits(fmt.Sprint(res.Fields))))
		_ = j.msg.NakWithDelay(time.Second)
		return
	}
	if err := w.publish(event.OutcomesPrefix+r.OutcomeType, outID, nil, b); err != nil {
		w.later(j, time.Second, "outcome publish failed (the ledger holds it; it will be re-emitted)", err)
		return
	}
	_ = j.msg.Ack()
	w.finished(j, metrics.ResultSucceeded)
	if j.r.debug { // checked first: the event's logger (a clone of the encoder) is built only to be used
		j.logger().Debug("event succeeded", zap.Int("attempts", e.Attempts))
	}
}

func (w *Worker) reemitOutcome(j *job) {
	var out event.Envelope
	if err := json.Unmarshal(j.entry.Outcome, &out); err != nil {
		j.logger().Error("ledger outcome is corrupt", zap.Error(err))
		_ = j.msg.NakWithDelay(time.Minute)
		return
	}
	if err := w.publish(event.OutcomesPrefix+j.r.OutcomeType, out.ID, nil, j.entry.Outcome); err != nil {
		w.later(j, time.Second, "outcome re-emit failed", err)
		return
	}
	_ = j.msg.Ack()
	j.r.m.result(metrics.ResultDuplicate).Inc()
	if j.r.debug {
		j.logger().Debug("duplicate delivery of a finished event: outcome re-emitted, no call made")
	}
}

// deadLetter records the dead letter in the ledger (when the event got that far), publishes it on
// dlq.<route> with the original bytes and the contract headers, and acks.
func (w *Worker) deadLetter(j *job, class deadletter.Class, reason, status string, attempts int) {
	eventID := j.msg.Headers().Get(nats.MsgIdHdr)
	if id := event.Header(j.msg.Headers(), event.HeaderPrefix+"id"); id != "" && event.IsBinary(j.msg.Headers()) {
		eventID = id // a binary-mode event that did not decode: its ce-id is its id
	}
	if j.env != nil {
		eventID = j.env.ID
	}
	h := deadletter.Letter{
		Route:           j.r.Name,
		EventID:         eventID,
		OriginalSubject: j.msg.Subject(),
		Class:           class,
		Error:           reason,
		Attempts:        attempts,
		TargetStatus:    status,
		FailedAt:        time.Now(),
		ReplayOf:        j.msg.Headers().Get(deadletter.HdrReplayOf),
		// A binary-mode event's attributes are its ce-* headers: the dead letter keeps them.
		CloudEvent: event.BinaryHeaders(j.msg.Headers()),
	}.Encode()
	if j.key != "" {
		e := j.entry
		e.State, e.DLQ = ledger.Dead, h
		if err := w.save(j, e); err != nil {
			j.logger().Error("ledger update before dead-lettering failed; the event will be looked at again", zap.Error(err))
			_ = j.msg.NakWithDelay(time.Second)
			return
		}
	}
	if err := w.publishDeadLetter(j, h); err != nil {
		w.later(j, time.Second, "dead-letter publish failed", err)
		return
	}
	_ = j.msg.Ack()
	w.finished(j, string(class))
	j.logger().Warn("event dead-lettered", zap.String("class", string(class)), zap.String("error", adapter.MaskDigits(h[deadletter.HdrError])),
		zap.Int("attempts", attempts), zap.String("target_status", status))
}

func (w *Worker) reemitDeadLetter(j *job) {
	if err := w.publishDeadLetter(j, j.entry.DLQ); err != nil {
		w.later(j, time.Second, "dead-letter re-emit failed", err)
		return
	}
	_ = j.msg.Ack()
	j.r.m.result(metrics.ResultDuplicate).Inc()
}

func (w *Worker) publishDeadLetter(j *job, h map[string]string) error {
	var seq uint64
	if j.meta != nil {
		seq = j.meta.Sequence.Stream
	}
	return w.publish(deadletter.Subject(j.r.Name), deadletter.MsgID(j.r.Name, h[deadletter.HdrEventID], seq, h[deadletter.HdrReplayOf]), h, j.msg.Data())
}

func (w *Worker) publish(subject, msgID string, headers map[string]string, data []byte) error {
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range headers {
		m.Header.Set(k, v)
	}
	m.Header.Set(nats.MsgIdHdr, msgID)
	ctx, cancel := context.WithTimeout(w.base, 10*time.Second)
	defer cancel()
	_, err := w.js.PublishMsg(ctx, m)
	return err
}

func (w *Worker) finished(j *job, result string) {
	j.r.m.result(result).Inc()
	if t, ok := endToEndStart(j); ok {
		j.r.m.endToEnd.Observe(time.Since(t).Seconds())
	}
}

// endToEndStart is where kopru_event_end_to_end_seconds starts: the producer's time, unless it is
// absurd (more than a day before JetStream stored the event, or in the future), and then the time
// JetStream stored it. A producer's clock must not skew the metric (year 0001 added 9e10 s).
func endToEndStart(j *job) (time.Time, bool) {
	received := time.Now()
	if j.meta != nil && !j.meta.Timestamp.IsZero() {
		received = j.meta.Timestamp
	}
	if j.env != nil {
		if t := j.env.EventTime(); !t.IsZero() && !t.Before(received.Add(-24*time.Hour)) && !t.After(received.Add(time.Minute)) {
			return t, true
		}
	}
	return received, j.meta != nil
}

// later hands the message back to JetStream after d, leaving the ledger as it is.
func (w *Worker) later(j *job, d time.Duration, what string, err error) {
	j.logger().Warn(what+"; retrying later", zap.String("error", adapter.MaskDigits(err.Error())), zap.Duration("wait", d))
	_ = j.msg.NakWithDelay(d)
}

func newBackoff(p Policy) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.InitialInterval
	b.MaxInterval = p.MaxInterval
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxElapsedTime = 0 // the budget is MaxAttempts, not time
	b.Reset()
	return b
}

// keeper tells JetStream, every interval, that the message its handler goroutine is working on is still
// in progress, until the handler is done with it. One per handler goroutine, its timer reused for every
// message: most calls end long before the first InProgress is due, and pay only a timer reset.
type keeper struct {
	every time.Duration
	mu    sync.Mutex
	msg   jetstream.Msg // the message in hand; nil between messages
	t     *time.Timer
}

func newKeeper(every time.Duration) *keeper {
	k := &keeper{every: every}
	k.t = time.AfterFunc(time.Hour, k.tick)
	k.t.Stop()
	return k
}

func (k *keeper) tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.msg == nil {
		return
	}
	_ = k.msg.InProgress()
	k.t.Reset(k.every)
}

// keep starts keeping msg alive; done stops it. A tick already under way when done is called may
// still reach the next message early: one InProgress too many, which only resets its ack timer.
func (k *keeper) keep(msg jetstream.Msg) {
	k.mu.Lock()
	k.msg = msg
	k.mu.Unlock()
	k.t.Reset(k.every)
}

func (k *keeper) done() {
	k.mu.Lock()
	k.msg = nil
	k.mu.Unlock()
	k.t.Stop()
}

// outcomeEnvelope is an outcome's CloudEvent with its data still a value, so it is encoded in one
// pass. Its subject is the request id; the correlation (requestId, route, target) is in extension
// attributes as well as in data, so a consumer can route on attributes alone.
type outcomeEnvelope struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Time            string         `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Subject         string         `json:"subject,omitempty"`
	DataSchema      string         `json:"dataschema,omitempty"`
	Traceparent     string         `json:"traceparent,omitempty"`
	RequestID       string         `json:"requestid"`
	Route           string         `json:"route"`
	Target          string         `json:"target"`
	Data            map[string]any `json:"data"`
}

// routeMetrics holds one route's series, resolved once so the hot path does no label lookups.
type routeMetrics struct {
	received, attempts prometheus.Counter
	inflight           prometheus.Gauge
	endToEnd           prometheus.Observer
	results            map[string]prometheus.Counter
}

func newRouteMetrics(m *metrics.Metrics, route string) routeMetrics {
	rm := routeMetrics{received: m.EventsReceived.WithLabelValues(route), attempts: m.Attempts.WithLabelValues(route),
		inflight: m.Inflight.WithLabelValues(route), endToEnd: m.EndToEnd.WithLabelValues(route), results: map[string]prometheus.Counter{}}
	for _, r := range metrics.Results {
		rm.results[r] = m.Events.WithLabelValues(route, r)
	}
	return rm
}

func (rm routeMetrics) result(r string) prometheus.Counter { return rm.results[r] }

// clipText cuts s to at most n bytes (on a rune boundary) for a log field.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
