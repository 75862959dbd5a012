package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// ReplayOptions say what to replay and how.
type ReplayOptions struct {
	Filter
	DryRun         bool
	AllowAmbiguous bool     // replay class ambiguous too (the vendor may be called a second time)
	Rate           float64  // at most this many republishes per second (0: no limit)
	Progress       Progress // optional
	Edit           *Edit    // only with exactly one id
	By             string   // who replays (recorded in the ledger entry for the event's status); "" = "unknown"
}

// ReplayMsgID is the Nats-Msg-Id of the replay of dead letter seq of event eventID
// (deadletter.ReplayMsgID).
func ReplayMsgID(eventID string, seq uint64) string { return deadletter.ReplayMsgID(eventID, seq) }

// storedEventID returns the event id of a dead letter (headers h, payload data) as the worker took
// it: a binary-mode event's ce-id header (never a field of its business data), else the exact "id"
// member of the stored structured event (not "ID": encoding/json would match a struct tag without
// regard to case). It returns fallback (the Kopru-Event-Id header) when there is no such string id;
// the header can differ: NATS trims header values.
func storedEventID(h map[string][]string, data []byte, fallback string) string {
	if event.IsBinary(h) {
		if id := event.Header(h, event.HeaderPrefix+"id"); id != "" {
			return id
		}
		return fallback
	}
	var doc map[string]json.RawMessage
	var id string
	if json.Unmarshal(data, &doc) == nil && json.Unmarshal(doc["id"], &id) == nil && id != "" {
		return id
	}
	return fallback
}

// MaxRate is the highest replay rate accepted (republishes per second); MinRate the lowest above 0.
const (
	MaxRate = 10000
	MinRate = 0.01
)

// CheckRate refuses a replay rate that is not 0 (no limit) or within [MinRate, MaxRate]; the error
// wraps ErrOption.
func CheckRate(rate float64) error {
	if rate == 0 || (rate >= MinRate && rate <= MaxRate) {
		return nil
	}
	return fmt.Errorf("%w: rate %v is out of range: give %v to %v republishes per second, or 0 for no limit",
		ErrOption, rate, MinRate, MaxRate)
}

// Replay puts the selected dead letters back on their original subjects, oldest first. For each: the
// ledger entry of (route, event id) is reset when it records the dead letter, the original bytes
// (or the edit) are republished with Kopru-Replay-Route, Kopru-Replay-Of and Nats-Msg-Id
// "<event id>/replay/<seq>", the PubAck is awaited, and only then is the dead letter deleted. A
// failure skips that item and goes on; nothing is deleted unless its republish was acknowledged.
// Class ambiguous is skipped unless AllowAmbiguous. The returned error is for failures that stop the
// whole run (selection, ctx); per-item failures are in the report.
func (o *Ops) Replay(ctx context.Context, ro ReplayOptions) (*Report, error) {
	if ro.Edit != nil && len(ro.IDs) != 1 {
		return nil, fmt.Errorf("%w: an edit applies to exactly one dead letter (one id)", ErrEdit)
	}
	if err := CheckRate(ro.Rate); err != nil {
		return nil, err
	}
	items, err := o.Select(ctx, ro.Filter)
	if err != nil {
		return nil, err
	}
	rep := &Report{DryRun: ro.DryRun, Selected: len(items), Counts: map[string]int{}, Items: []Item{}}
	if ro.Edit != nil {
		if len(items) != 1 {
			return nil, fmt.Errorf("%w: %d", ErrNotFound, ro.IDs[0])
		}
		m, err := o.get(ctx, items[0].ID)
		if err != nil {
			return nil, err
		}
		orig := originalEvent(m)
		items[0].EventID = storedEventID(m.Header, m.Data, items[0].EventID)
		if _, _, err := o.checkEdit(items[0], orig, ro.Edit.Event); err != nil {
			return nil, err // refused before anything changes
		}
	}
	var tick *time.Ticker
	if ro.Rate > 0 && !ro.DryRun {
		tick = time.NewTicker(time.Duration(float64(time.Second) / ro.Rate))
		defer tick.Stop()
	}
	first := true
	for i, d := range items {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if tick != nil && !first {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
		it := o.replayOne(ctx, d, ro)
		if it.Result != ResultSkipped && it.Result != ResultAlreadyRemoved {
			first = false
		}
		rep.add(it)
		if ro.Progress != nil {
			ro.Progress(i+1, len(items), it)
		}
	}
	o.log.Info("dead-letter replay finished", zap.Bool("dry_run", ro.DryRun), zap.Int("selected", len(items)),
		zap.Any("counts", rep.Counts))
	return rep, nil
}

// replayOne replays dead letter d (Replay describes the steps) and says what became of it; it never
// deletes a dead letter whose republish was not acknowledged.
func (o *Ops) replayOne(ctx context.Context, d DeadLetter, ro ReplayOptions) Item {
	it := Item{ID: d.ID, Route: d.Route, EventID: d.EventID, Class: d.Class}
	if d.Class == deadletter.Ambiguous && !ro.AllowAmbiguous {
		it.Result, it.Reason = ResultSkipped, "class ambiguous: the vendor may already have acted; verify, then replay with allow-ambiguous or purge it"
		return it
	}
	if !strings.HasPrefix(d.OriginalSubject, event.EventsPrefix) {
		it.Result, it.Reason = ResultSkipped, fmt.Sprintf("original subject %q is not on events.>", d.OriginalSubject)
		return it
	}
	m, err := o.get(ctx, d.ID)
	if errors.Is(err, ErrNotFound) {
		it.Result, it.Reason = ResultAlreadyRemoved, "the dead letter is no longer in the DLQ (replayed or purged meanwhile)"
		return it
	}
	if err != nil {
		it.Result, it.Reason = ResultFailed, err.Error()
		return it
	}
	// The ledger key, the edit check and the replay's message id use the id the worker saw: the one in
	// the stored event, not the (trimmed) header.
	orig := originalEvent(m)
	d.EventID = storedEventID(m.Header, m.Data, d.EventID) // a binary-mode event's id is its ce-id, not a field of its data
	it.EventID = d.EventID
	it.ReplayMsgID = ReplayMsgID(d.EventID, d.ID)
	data := m.Data
	msg := nats.NewMsg(d.OriginalSubject)
	if ro.Edit == nil {
		// A binary-mode event's attributes travel as its ce-* headers: republish them with the data,
		// or the worker would see bare data. (An edit is a whole structured envelope.)
		for k, v := range event.BinaryHeaders(m.Header) {
			msg.Header.Set(k, v)
		}
	}
	if ro.Edit != nil {
		edited, fields, err := o.checkEdit(d, orig, ro.Edit.Event)
		if err != nil {
			it.Result, it.Reason = ResultSkipped, err.Error()
			return it
		}
		data = edited
		by := ro.Edit.By
		if by == "" {
			by = "unknown"
		}
		at := o.now().UTC().Format(time.RFC3339)
		msg.Header.Set(deadletter.HdrEditedBy, by)
		msg.Header.Set(deadletter.HdrEditedAt, at)
		msg.Header.Set(deadletter.HdrEditedFields, strings.Join(fields, ","))
		if !ro.DryRun {
			o.log.Info("dead letter edited before replay", zap.Uint64("dlq_id", d.ID), zap.String("route", d.Route),
				zap.String("event_id", d.EventID), zap.String("edited_by", by), zap.String("edited_at", at),
				zap.Strings("changed", fields))
		}
	}
	if ro.DryRun {
		it.Result = ResultWouldReplay
		return it
	}
	if d.EventID != "" {
		rec := ledger.Replay{By: ro.By, At: o.now().UTC(), DLQID: d.ID, Class: string(d.Class), Error: d.Error, Edited: ro.Edit != nil}
		if rec.By == "" && ro.Edit != nil {
			rec.By = ro.Edit.By
		}
		if rec.By == "" {
			rec.By = "unknown"
		}
		if note, err := o.resetLedger(ctx, d, rec); err != nil {
			it.Result, it.Reason = ResultFailed, err.Error()
			return it
		} else if note != "" {
			it.Reason = note
		}
	}
	msg.Data = data
	// The ticket is what makes the other routes of this event type honour Kopru-Replay-Route.
	if err := o.ledger.PutReplayTicket(ctx, it.ReplayMsgID, data, d.Route); err != nil {
		it.Result, it.Reason = ResultFailed, "replay ticket not written, dead letter kept: "+err.Error()
		return it
	}
	msg.Header.Set(deadletter.HdrReplayRoute, d.Route)
	msg.Header.Set(deadletter.HdrReplayOf, strconv.FormatUint(d.ID, 10))
	msg.Header.Set(nats.MsgIdHdr, it.ReplayMsgID)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ack, err := o.pub.PublishMsg(pctx, msg)
	cancel()
	if err != nil {
		it.Result, it.Reason = ResultFailed, "republish failed, dead letter kept: "+err.Error()
		return it
	}
	it.Result = ResultReplayed
	if ack != nil && ack.Duplicate {
		it.Result, it.Reason = ResultAlreadyReplay, "JetStream already had this replay (an earlier run republished it)"
	}
	if err := o.deleteMsg(ctx, d.ID); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		it.Result = ResultNotDeleted
		it.Reason = fmt.Sprintf("republished (Nats-Msg-Id %s) but the dead letter could not be deleted: %v; "+
			"replaying it again within the dedup window is dropped as a duplicate, or purge it", it.ReplayMsgID, err)
		o.log.Warn("replayed dead letter not deleted", zap.Uint64("dlq_id", d.ID), zap.Error(err))
	}
	return it
}

// resetLedger makes the ledger entry of (route, event id) say "run again" when it records the dead
// letter (or is missing): state retrying with no calls counted, so the replay gets a fresh retry
// budget, while the attempt history stays and rec is added to its replays (GET /v1/events/{id}). An
// entry in any other state means the event already ran again since it was dead-lettered (an earlier
// replay whose delete failed): it is left as it is, and the worker re-emits its outcome or waits,
// instead of calling twice.
func (o *Ops) resetLedger(ctx context.Context, d DeadLetter, rec ledger.Replay) (string, error) {
	key := ledger.Key(d.Route, d.EventID)
	e, rev, err := o.ledger.Get(ctx, key)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		e = ledger.Entry{}
	case err != nil:
		return "", fmt.Errorf("ledger read before replay failed, dead letter kept: %w", err)
	case e.State != ledger.Dead && (e.State != ledger.Retrying || e.Attempts != 0):
		// (retrying with no call: an earlier replay the worker refused before calling — invalid again)
		return fmt.Sprintf("ledger already shows %s for this event: not reset", e.State), nil
	}
	e.State, e.Attempts, e.Outcome, e.DLQ = ledger.Retrying, 0, nil, nil
	e.AddReplay(rec)
	if rev == 0 {
		_, err = o.ledger.Create(ctx, key, e)
	} else {
		_, err = o.ledger.Update(ctx, key, e, rev)
	}
	if err != nil {
		return "", fmt.Errorf("ledger reset failed, dead letter kept: %w", err)
	}
	return "", nil
}
