package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
)

// settle carries out the message side of act, after record wrote its ledger entry. It is the only
// place that acks, naks and publishes, and that counts what happened to an event: its calls, their
// failures, its retries, its result (only the delivery's own gauges, received and in flight, are
// counted by handle as it begins and ends). For the actions that go on (call, lookup, wait) it only
// counts and logs.
func (w *Worker) settle(j *job, act Action) {
	r := j.r
	if act.Dropped {
		w.metrics.TraceparentDropped.WithLabelValues(r.Name).Inc()
	}
	if act.Calls > 0 {
		r.m.attempts.Add(float64(act.Calls))
	}
	if act.Failed != nil {
		w.metrics.CallFailures.WithLabelValues(r.Name, act.Failed.Class.String(), string(act.Failed.Reason)).Inc()
	}
	if act.Retry != "" {
		w.metrics.Retries.WithLabelValues(r.Name, act.Retry).Inc()
	}
	if act.Bump {
		w.bumpUncounted(j)
	}
	if act.Note != "" {
		w.note(j, act)
	}
	switch act.Do {
	case DoSucceed:
		if err := w.publish(event.OutcomesPrefix+r.OutcomeType, event.OutcomeID(r.Name, j.env.ID), nil, j.entry.Outcome); err != nil {
			w.handBack(j, time.Second, "outcome publish failed (the ledger holds it; it will be re-emitted)", err)
			return
		}
		w.ack(j, metrics.ResultSucceeded)
		if r.debug { // checked first: the event's logger (a clone of the encoder) is built only to be used
			j.logger().Debug("event succeeded", zap.Int("attempts", j.entry.Attempts))
		}
	case DoReemit:
		if j.entry.State == ledger.Dead {
			if err := w.publishDeadLetter(j, j.entry.DLQ); err != nil {
				w.handBack(j, time.Second, "dead-letter re-emit failed", err)
				return
			}
		} else {
			var out event.Envelope
			if err := json.Unmarshal(j.entry.Outcome, &out); err != nil {
				j.logger().Error("ledger outcome is corrupt", zap.Error(err))
				_ = j.msg.NakWithDelay(time.Minute)
				return
			}
			if err := w.publish(event.OutcomesPrefix+r.OutcomeType, out.ID, nil, j.entry.Outcome); err != nil {
				w.handBack(j, time.Second, "outcome re-emit failed", err)
				return
			}
		}
		w.ack(j, metrics.ResultDuplicate)
		if r.debug {
			j.logger().Debug("duplicate delivery of a finished event: re-emitted, no call made")
		}
	case DoDeadLetter:
		if err := w.publishDeadLetter(j, j.letter); err != nil {
			w.handBack(j, time.Second, "dead-letter publish failed", err)
			return
		}
		w.ack(j, string(act.Class))
		j.logger().Warn("event dead-lettered", zap.String("class", string(act.Class)),
			zap.String("error", adapter.MaskDigits(j.letter[deadletter.HdrError])), zap.Int("attempts", act.Attempts),
			zap.String("target_status", act.Status))
	case DoLater:
		_ = j.msg.NakWithDelay(act.Delay) // its Note was logged above
	case DoAck:
		_ = j.msg.Ack()
	case DoAbandon:
		j.logger().Info("stopping mid-event: left for redelivery", zap.Int("attempt", j.entry.Attempts))
	}
}

// ack acknowledges the message and counts the event's result.
func (w *Worker) ack(j *job, result string) {
	_ = j.msg.Ack()
	j.r.m.result(result).Inc()
	if result == metrics.ResultDuplicate {
		return
	}
	if t, ok := endToEndStart(j); ok {
		j.r.m.endToEnd.Observe(time.Since(t).Seconds())
	}
}

// handBack logs a failure met in settle itself (a publish) and hands the message back after d.
func (w *Worker) handBack(j *job, d time.Duration, note string, err error) {
	a := later(d, note)
	a.Err = err
	w.note(j, *a)
	_ = j.msg.NakWithDelay(d)
}

// note logs act's Note with what explains it.
func (w *Worker) note(j *job, act Action) {
	fields := []zap.Field{zap.Int("attempt", j.entry.Attempts)}
	var te *adapter.Error
	switch {
	case errors.As(act.Err, &te): // a vendor's answer, classified
		fields = append(fields, zap.String("error", adapter.MaskDigits(te.Msg)), zap.String("class", te.Class.String()),
			zap.String("reason", string(te.Reason)), zap.String("status", te.Status))
	case act.Err != nil: // the broker's or Köprü's own
		fields = append(fields, zap.String("error", adapter.MaskDigits(adapter.OneLine(act.Err.Error()))))
	}
	if act.Delay > 0 {
		fields = append(fields, zap.Duration("wait", act.Delay))
	}
	if act.Cause != nil {
		fields = append(fields, zap.String("cause", adapter.MaskDigits(act.Cause.Msg)))
	}
	if act.withResult {
		fields = append(fields, zap.String("result", adapter.MaskDigits(fmt.Sprint(j.res.Fields))))
	}
	msg := act.Note
	if act.level > levelInfo && !strings.HasSuffix(msg, "again") {
		msg += "; retrying later"
	}
	switch act.level {
	case levelError:
		j.logger().Error(msg, fields...)
	case levelWarn:
		j.logger().Warn(msg, fields...)
	default:
		j.logger().Info(msg, fields...)
	}
}

// outcome encodes the outcome of j's successful call.
func (w *Worker) outcome(j *job) ([]byte, error) {
	r := j.r
	return event.Outcome{Route: r.Name, Target: r.TargetName, Type: r.OutcomeType, DataSchema: w.schemas.DataSchema(r.OutcomeType),
		Request: j.env, Fields: j.res.Fields}.Encode(time.Now())
}

// letter is the dead letter's headers for act: the contract's Kopru-* headers, and a binary-mode
// event's ce-* attributes.
func (w *Worker) letter(j *job, act Action) map[string]string {
	h := j.msg.Headers()
	eventID := h.Get(nats.MsgIdHdr)
	if id := event.Header(h, event.HeaderPrefix+"id"); id != "" && event.IsBinary(h) {
		eventID = id // a binary-mode event that did not decode: its ce-id is its id
	}
	if j.env != nil {
		eventID = j.env.ID
	}
	return deadletter.Letter{Route: j.r.Name, EventID: eventID, OriginalSubject: j.msg.Subject(), Class: act.Class,
		Error: act.Msg, Attempts: act.Attempts, TargetStatus: act.Status, FailedAt: time.Now(),
		ReplayOf: h.Get(deadletter.HdrReplayOf), CloudEvent: event.BinaryHeaders(h)}.Encode()
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.js.PublishMsg(ctx, m)
	return err
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
