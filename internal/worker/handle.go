package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// This file runs one delivery: admit it (decode, validate, guard), claim it, and carry out step's
// actions until one settles the message.

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

	res      adapter.Result    // the last call's or lookup's result
	callMade bool              // the last call reached the vendor
	letter   map[string]string // DoDeadLetter: the letter's headers, built by record
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

// panicDeliveries is how many deliveries of one event may end in a panic before it is dead-lettered.
const panicDeliveries = 3

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
			w.afterPanic(j, p)
		}
	}()
	w.run(j, w.admit(j))
}

// afterPanic settles a delivery whose handling panicked: handed back the first times; then, the same
// event failing again and again being a defect to report rather than a reason to loop, dead-lettered
// — unless its entry says it finished, which is re-emitted and never overwritten.
func (w *Worker) afterPanic(j *job, p any) {
	defer func() {
		if p2 := recover(); p2 != nil { // settling failed too: the message comes back after AckWait
			j.logger().Error("panic while settling an event after a panic; it will be redelivered", zap.Any("panic", p2))
		}
	}()
	if j.meta == nil || j.meta.NumDelivered < panicDeliveries {
		j.logger().Error("panic while handling an event; it will be redelivered", zap.Any("panic", p))
		w.settle(j, Action{Do: DoLater, Delay: min(5*time.Second, j.r.policy.AckWait/4)})
		return
	}
	if j.key != "" && j.rev == 0 && w.read(j) != nil { // the entry this delivery never got to read
		w.settle(j, Action{Do: DoLater, Delay: time.Second})
		return
	}
	if j.entry.Terminal() {
		w.run(j, Action{Do: DoReemit})
		return
	}
	class := deadletter.Invalid
	if j.entry.State == ledger.Started {
		class = deadletter.Ambiguous // it failed somewhere after a call began
	}
	w.run(j, deadLetter(class, fmt.Sprintf("Köprü failed on this event %d times (a defect: %v); report it, then replay",
		j.meta.NumDelivered, p), "", j.entry.Attempts))
}

// admit decodes and checks the delivery and claims the event: it returns the first action.
func (w *Worker) admit(j *job) Action {
	msg := j.msg
	if act, ok := w.replayForAnother(j); ok {
		return act
	}
	env, err := event.DecodeMessage(msg.Headers(), msg.Data()) // structured or binary content mode
	if err != nil {
		return deadLetter(deadletter.Invalid, event.Reason(err), "", 0)
	}
	j.env = env
	dropped := env.DroppedTraceparent != ""
	if dropped { // the producer's mistake: handled without it, never failed for it (counted by settle)
		j.logger().Warn("traceparent is not W3C trace context; dropped",
			zap.String("traceparent", strconv.Quote(adapter.OneLine(clipText(env.DroppedTraceparent, 120)))))
	}
	act := w.check(j)
	act.Dropped = dropped
	return act
}

// check is admit's part after decoding: the event's type and data, the guard, then the claim.
func (w *Worker) check(j *job) Action {
	r, msg, env := j.r, j.msg, j.env
	if env.Type != r.EventType {
		return deadLetter(deadletter.Invalid, fmt.Sprintf("event of type %q was published on %s", adapter.OneLine(env.Type), msg.Subject()), "", 0)
	}
	if err := w.schemas.Validate(env.Type, env.Data); err != nil {
		return deadLetter(deadletter.Invalid, event.Reason(err), "", 0)
	}
	j.key = ledger.Key(r.Name, env.ID)
	if r.Guard != nil {
		if d := r.Guard.Blocked(time.Now()); d > 0 {
			// The circuit is open: a delivery that is the breaker's, not the event's. It is recorded as
			// uncounted in the event's entry; an event with no entry yet is forgiven at its claim.
			if err := w.read(j); err != nil {
				j.entry, j.rev = ledger.Entry{}, 0
			}
			return Action{Do: DoLater, Delay: d, Retry: string(adapter.ReasonCircuitOpen), Bump: true}
		}
	}
	return step(w.input(j, Delivered, nil)) // the zero entry: create it, or find the one there
}

// replayForAnother: a DLQ replay meant for another route of the same event type is acked (this route
// already finished the event). Kopru-Replay-Route counts only on a message with the replay ticket
// internal/ops left in the ledger for its exact id and bytes; without one (a producer set the header)
// it is logged and the event is processed normally, never dropped.
func (w *Worker) replayForAnother(j *job) (Action, bool) {
	h := j.msg.Headers()
	rr := h.Get(deadletter.HdrReplayRoute)
	if rr == "" || rr == j.r.Name {
		return Action{}, false
	}
	route, err := w.ledger.ReplayTicket(context.Background(), h.Get(nats.MsgIdHdr), j.msg.Data())
	switch {
	case err == nil && route == rr:
		return Action{Do: DoAck}, true
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		a := later(time.Second, "ledger unavailable")
		a.Err = err
		return *a, true
	}
	j.logger().Warn("Kopru-Replay-Route names another route, but no Köprü replay published this message: processing it",
		zap.String("replay_route", adapter.OneLine(rr)))
	return Action{}, false
}

// run carries out act and the actions step decides after it, until one settles the message.
func (w *Worker) run(j *job, act Action) {
	for {
		act = w.record(j, act)
		w.settle(j, act)
		var in Input
		switch act.Do {
		case DoCall:
			j.callMade = false
			res, err := w.call(j)
			if w.interrupted(err) { // Stop cut the call off: what it did is the next delivery's question
				act = Action{Do: DoAbandon}
				if j.callMade {
					act.Calls, act.Failed = 1, adapter.AsError(err)
				}
				continue
			}
			j.res, in = res, w.input(j, Called, err)
			in.CallMade = j.callMade
		case DoLookup:
			res, found, err := w.lookup(j, act.Cause)
			if w.interrupted(err) {
				act = Action{Do: DoAbandon, Failed: adapter.AsError(err)}
				continue
			}
			j.res, in = res, w.input(j, LookedUp, err)
			in.Exists, in.Cause = found, act.Cause
		case DoWait:
			select {
			case <-time.After(act.Delay):
			case <-w.stopping: // hand it back rather than keep it through the shutdown
				act = Action{Do: DoLater, Delay: act.Delay}
				continue
			}
			in = w.input(j, Waited, nil)
			in.Next, in.Cause = act.Next, act.Cause
		default:
			return
		}
		act = step(in)
	}
}

// interrupted reports whether err is a call or lookup cut off by Stop cancelling the calls' context
// (a call that answered, or was refused before it was sent, is recorded as usual).
func (w *Worker) interrupted(err error) bool {
	return err != nil && w.ctx.Err() != nil &&
		(errors.Is(err, context.Canceled) || adapter.AsError(err).Reason == adapter.ReasonCanceled)
}

// record writes the ledger entry act asks for (for a success or a dead letter, the one it builds) and
// returns the action to carry out: act, or act.Fail when the write failed.
func (w *Worker) record(j *job, act Action) Action {
	e := act.Entry
	switch act.Do {
	case DoSucceed:
		b, err := w.outcome(j)
		if err != nil {
			return counts(act, Action{Do: DoLater, Delay: time.Minute, Err: err, Note: "cannot encode the outcome; the event will be looked at again", level: levelError})
		}
		done := j.entry
		done.State, done.Outcome = ledger.Succeeded, b
		e = &done
	case DoDeadLetter:
		j.letter = w.letter(j, act)
		if j.key == "" { // it never got as far as the ledger
			return act
		}
		dead := j.entry
		dead.State, dead.DLQ = ledger.Dead, j.letter
		e = &dead
	}
	if e == nil {
		return act
	}
	err := w.save(j, *e)
	switch {
	case err == nil:
		return act
	case act.Create && errors.Is(err, ledger.ErrExists): // another delivery made the entry: see what it says
		if rerr := w.read(j); rerr != nil || j.rev == 0 {
			return counts(act, Action{Do: DoLater, Delay: time.Second, Note: "ledger unavailable", Err: errors.Join(err, rerr), level: levelWarn})
		}
		return counts(act, w.record(j, step(w.input(j, Delivered, nil))))
	}
	f := *act.Fail
	f.Err = err
	return counts(act, f)
}

// counts carries what act counts (its calls, failure, retry, dropped traceparent) over to the action
// that replaces it: they happened whether or not act's ledger write did.
func counts(act, to Action) Action {
	to.Calls, to.Failed, to.Dropped = act.Calls, act.Failed, act.Dropped
	if to.Retry == "" {
		to.Retry = act.Retry
	}
	return to
}

// input is step's view of j after what happened.
func (w *Worker) input(j *job, h Happened, err error) Input {
	r := j.r
	in := Input{Happened: h, Entry: j.entry, Found: j.rev != 0, Err: err, Policy: r.policy, Now: time.Now().UTC(), Target: r.TargetName}
	if j.meta != nil {
		in.Deliveries = int(j.meta.NumDelivered)
	}
	if j.env != nil {
		in.EventID = j.env.ID
	}
	in.Finder = r.finder
	switch {
	case h == Delivered && j.entry.State == ledger.Started:
		in.Jitter = time.Duration(rand.IntN(500)) * time.Millisecond
	case err != nil:
		in.Backoff = backoffAfter(r.policy, j.entry.Attempts)
	}
	return in
}
