package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/worker"
)

// Headers a replay adds to an edited event.
const (
	HdrEditedBy     = "Kopru-Edited-By"
	HdrEditedAt     = "Kopru-Edited-At"
	HdrEditedFields = "Kopru-Edited-Fields"
)

// Results of one item of a replay or purge.
const (
	ResultReplayed       = "replayed"         // republished, acknowledged, dead letter deleted
	ResultWouldReplay    = "would-replay"     // dry run
	ResultSkipped        = "skipped"          // not touched (ambiguous without the flag, gone, bad subject)
	ResultFailed         = "failed"           // republish failed: the dead letter is still there
	ResultNotDeleted     = "republished-kept" // republish acknowledged, delete failed: the dead letter stays; replaying it again is deduplicated
	ResultPurged         = "purged"
	ResultWouldPurge     = "would-purge"
	ResultPurgeFailed    = "purge-failed"
	ResultAlreadyReplay  = "replayed-duplicate" // JetStream already had this replay (an earlier run); dead letter deleted
	ResultAlreadyRemoved = "gone"               // someone else replayed or purged it meanwhile
)

// Item is what happened to one dead letter.
type Item struct {
	ID      uint64 `json:"id"`
	Route   string `json:"route"`
	EventID string `json:"eventId"`
	Class   string `json:"class"`
	Result  string `json:"result"`
	Reason  string `json:"reason,omitempty"`
	// ReplayMsgID is the Nats-Msg-Id of the republished event.
	ReplayMsgID string `json:"replayMsgId,omitempty"`
}

// Progress is told about each finished item: done of total so far.
type Progress func(done, total int, it Item)

// Edit replaces the event of a single dead letter before it is replayed.
type Edit struct {
	Event []byte // the whole edited CloudEvents envelope
	By    string // who edited it (recorded in Kopru-Edited-By and the log)
}

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

// Report sums up a replay or purge.
type Report struct {
	DryRun   bool           `json:"dryRun"`
	Selected int            `json:"selected"`
	Counts   map[string]int `json:"counts"` // by result
	Items    []Item         `json:"items"`
}

func (r *Report) add(it Item) {
	r.Items = append(r.Items, it)
	r.Counts[it.Result]++
}

// OK reports whether nothing failed.
func (r *Report) OK() bool {
	return r.Counts[ResultFailed] == 0 && r.Counts[ResultNotDeleted] == 0 && r.Counts[ResultPurgeFailed] == 0
}

// Select returns the dead letters a replay or purge with f would touch, oldest first. It refuses an
// empty filter unless f.All.
func (o *Ops) Select(ctx context.Context, f Filter) ([]DeadLetter, error) {
	if f.Empty() && !f.All {
		return nil, ErrNoFilter
	}
	res, err := o.scan(ctx, f)
	if err != nil {
		return nil, err
	}
	return res.Items, nil
}

// ReplayMsgID is the Nats-Msg-Id of the replay of dead letter seq of event eventID. An id that could not
// travel in a header unchanged (see event.CheckID) is replaced by a digest of it.
func ReplayMsgID(eventID string, seq uint64) string {
	switch {
	case eventID == "":
		eventID = "no-id"
	case event.CheckID(eventID) != nil:
		sum := sha256.Sum256([]byte(eventID))
		eventID = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return eventID + "/replay/" + strconv.FormatUint(seq, 10)
}

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

func (o *Ops) replayOne(ctx context.Context, d DeadLetter, ro ReplayOptions) Item {
	it := Item{ID: d.ID, Route: d.Route, EventID: d.EventID, Class: d.Class}
	if d.Class == worker.ClassAmbiguous && !ro.AllowAmbiguous {
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
		msg.Header.Set(HdrEditedBy, by)
		msg.Header.Set(HdrEditedAt, at)
		msg.Header.Set(HdrEditedFields, strings.Join(fields, ","))
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
		rec := ledger.Replay{By: ro.By, At: o.now().UTC(), DLQID: d.ID, Class: d.Class, Error: d.Error, Edited: ro.Edit != nil}
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
	msg.Header.Set(worker.HdrReplayRoute, d.Route)
	msg.Header.Set(worker.HdrReplayOf, strconv.FormatUint(d.ID, 10))
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

// originalEvent is a dead letter's event as a structured-mode document: its payload, or for a
// binary-mode event (ce-* headers, the data as payload) the two put together, so that an edit is
// compared with the whole event.
func originalEvent(m *jetstream.RawStreamMsg) []byte {
	if !event.IsBinary(m.Header) {
		return m.Data
	}
	env, err := event.DecodeMessage(m.Header, m.Data)
	if err != nil {
		return m.Data
	}
	b, err := env.Marshal()
	if err != nil {
		return m.Data
	}
	return b
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

// checkEdit validates an edited envelope against the dead letter: it must decode, keep the event id
// and type, and its data must satisfy the type's schema. It returns the compacted bytes and the
// changed fields.
func (o *Ops) checkEdit(d DeadLetter, orig, edited []byte) ([]byte, []string, error) {
	env, err := event.Decode(bytes.TrimSpace(edited))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrEdit, event.Reason(err))
	}
	wantID := d.EventID // the caller set it from the stored event (storedEventID)
	if env.ID != wantID {
		return nil, nil, fmt.Errorf("%w: the event id must stay %q (got %q)", ErrEdit, wantID, env.ID)
	}
	if typ := strings.TrimPrefix(d.OriginalSubject, event.EventsPrefix); env.Type != typ {
		return nil, nil, fmt.Errorf("%w: type %q does not match the original subject %s", ErrEdit, env.Type, d.OriginalSubject)
	}
	if err := o.schemas.Validate(env.Type, env.Data); err != nil {
		var se *event.SchemaError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("%w: %s", ErrEdit, strings.Join(se.Problems, "; "))
		}
		return nil, nil, fmt.Errorf("%w: %s", ErrEdit, event.Reason(err))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, bytes.TrimSpace(edited)); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrEdit, err)
	}
	fields := Changed(orig, buf.Bytes())
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("%w: nothing was changed", ErrEdit)
	}
	return buf.Bytes(), fields, nil
}

// Changed lists the JSON paths ("/data/customer/city") whose values differ between a and b. Arrays
// are compared whole. Numbers are compared as written, since the mappings read them that way
// (`2.0` and `1e3` are refused where `2` and `1000` are accepted): `2.0` edited to `2` is a change.
// When a is not JSON it returns ["/"].
func Changed(a, b []byte) []string {
	var va, vb any
	if decodeNumbers(a, &va) != nil || decodeNumbers(b, &vb) != nil {
		return []string{"/"}
	}
	var out []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		mx, okx := x.(map[string]any)
		my, oky := y.(map[string]any)
		if okx && oky {
			keys := map[string]bool{}
			for k := range mx {
				keys[k] = true
			}
			for k := range my {
				keys[k] = true
			}
			for k := range keys {
				walk(path+"/"+k, mx[k], my[k])
			}
			return
		}
		if !reflect.DeepEqual(x, y) {
			if path == "" {
				path = "/"
			}
			out = append(out, path)
		}
	}
	walk("", va, vb)
	sort.Strings(out)
	return out
}

// PurgeOptions say what to purge.
type PurgeOptions struct {
	Filter
	DryRun   bool
	Progress Progress
}

// Purge deletes the selected dead letters (nothing else: the ledger keeps recording them as dead).
func (o *Ops) Purge(ctx context.Context, po PurgeOptions) (*Report, error) {
	items, err := o.Select(ctx, po.Filter)
	if err != nil {
		return nil, err
	}
	rep := &Report{DryRun: po.DryRun, Selected: len(items), Counts: map[string]int{}, Items: []Item{}}
	for i, d := range items {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		it := Item{ID: d.ID, Route: d.Route, EventID: d.EventID, Class: d.Class, Result: ResultPurged}
		if po.DryRun {
			it.Result = ResultWouldPurge
		} else if err := o.deleteMsg(ctx, d.ID); err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				it.Result = ResultAlreadyRemoved
			} else {
				it.Result, it.Reason = ResultPurgeFailed, err.Error()
			}
		}
		rep.add(it)
		if po.Progress != nil {
			po.Progress(i+1, len(items), it)
		}
	}
	if !po.DryRun {
		o.log.Info("dead letters purged", zap.Int("selected", len(items)), zap.Any("counts", rep.Counts))
	}
	return rep, nil
}

// decodeNumbers unmarshals b into v keeping numbers as json.Number (their text).
func decodeNumbers(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
