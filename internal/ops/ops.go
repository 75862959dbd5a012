// Package ops is Köprü's operator library over JetStream: list, show, replay and purge dead letters
// (stream DLQ, subjects dlq.<route>), and the per-route status. The CLI (kopru dlq, kopru status) and
// the admin API and operator page (internal/httpapi) are thin shells around it.
//
// A dead letter's ID is its stream sequence in DLQ. Replay follows DESIGN.md: the dead letter is
// deleted only after its republish was acknowledged by JetStream, and the republish carries the
// Nats-Msg-Id "<event id>/replay/<dlq seq>", so a replay retried after a failed delete is dropped as a
// duplicate instead of running twice.
package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// Errors of the package; test with errors.Is.
var (
	ErrNotFound = errors.New("dead letter not found")
	ErrNoFilter = errors.New("no selection: name a route, a class, ids or another filter (or select all)")
	ErrEdit     = errors.New("edited event refused")
	// ErrOption: a filter or option is malformed (a route name that cannot be a subject token, a rate
	// out of range); the caller's mistake, not the server's.
	ErrOption = errors.New("invalid option")
)

// Route is one line of the route table that Status reports on (callers pass the lines of routes.Table).
type Route struct {
	Name      string `json:"name"`
	EventType string `json:"eventType"`
	Target    string `json:"target"`
}

// Publisher publishes a message on JetStream and waits for its PubAck. jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// CircuitFunc returns the circuit state gauge per target (0 closed, 1 half-open, 2 open); a target
// it does not know is reported as "closed/unknown".
type CircuitFunc func(ctx context.Context) (map[string]float64, error)

// Options configure Ops. The zero value works: no routes for Status, a no-op logger, schemas loaded
// from the embedded schemas/.
type Options struct {
	Routes  []Route
	Logger  *zap.Logger
	Schemas *event.Schemas
	Circuit CircuitFunc
	// Publisher replaces the JetStream publisher used by Replay (tests inject failures here).
	Publisher Publisher
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Ops is the operator library. Safe for concurrent use; it owns nothing it must close.
type Ops struct {
	js      jetstream.JetStream
	dlq     jetstream.Stream
	ledger  *ledger.Ledger
	routes  []Route
	log     *zap.Logger
	schemas *event.Schemas
	circuit CircuitFunc
	pub     Publisher
	now     func() time.Time
	// deleteMsg removes a dead letter; tests replace it to make deletes fail.
	deleteMsg func(ctx context.Context, seq uint64) error
}

// New binds Ops to the streams and the ledger bucket, which must exist (a running kopru creates them).
func New(ctx context.Context, js jetstream.JetStream, o Options) (*Ops, error) {
	dlq, err := js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w (has a kopru worker ever run against this NATS server? it creates the streams)", bus.StreamDLQ, err)
	}
	kv, err := js.KeyValue(ctx, bus.LedgerBucket)
	if err != nil {
		return nil, fmt.Errorf("ledger bucket %s: %w", bus.LedgerBucket, err)
	}
	op := &Ops{js: js, dlq: dlq, ledger: ledger.New(kv, nil), routes: o.Routes, log: o.Logger,
		schemas: o.Schemas, circuit: o.Circuit, pub: o.Publisher, now: o.Now}
	if op.log == nil {
		op.log = zap.NewNop()
	}
	if op.schemas == nil {
		if op.schemas, err = event.LoadSchemas(); err != nil {
			return nil, err
		}
	}
	if op.pub == nil {
		op.pub = js
	}
	if op.now == nil {
		op.now = time.Now
	}
	op.deleteMsg = dlq.DeleteMsg
	return op, nil
}

// Routes returns the routes Status reports on.
func (o *Ops) Routes() []Route { return append([]Route(nil), o.routes...) }

// Filter selects dead letters. Every set field must match (AND); the zero Filter selects nothing for
// Replay and Purge unless All is set, and everything for List.
type Filter struct {
	Route  string           `json:"route,omitempty"`
	Class  deadletter.Class `json:"class,omitempty"`  // invalid | rejected | exhausted | ambiguous
	Status string           `json:"status,omitempty"` // Kopru-Target-Status, exactly
	Since  time.Time        `json:"since,omitzero"`   // failed at or after (Kopru-Failed-At, else the stream time)
	Until  time.Time        `json:"until,omitzero"`   // failed before
	Grep   string           `json:"grep,omitempty"`   // text contained in Kopru-Error (case-insensitive)
	IDs    []uint64         `json:"ids,omitempty"`    // these dead letters only
	Limit  int              `json:"limit,omitempty"`  // at most this many (0: no limit for Replay/Purge, 100 for List)
	All    bool             `json:"all,omitempty"`    // Replay/Purge: an empty filter means every dead letter
}

// Empty reports whether f selects by nothing.
func (f Filter) Empty() bool {
	return f.Route == "" && f.Class == "" && f.Status == "" && f.Since.IsZero() && f.Until.IsZero() &&
		f.Grep == "" && len(f.IDs) == 0
}

// DeadLetter is one dead letter as listed.
type DeadLetter struct {
	ID              uint64           `json:"id"` // stream sequence in DLQ
	Route           string           `json:"route"`
	EventID         string           `json:"eventId"`
	Class           deadletter.Class `json:"class"`
	Error           string           `json:"error"`
	Attempts        int              `json:"attempts"`
	TargetStatus    string           `json:"targetStatus,omitempty"`
	FailedAt        time.Time        `json:"failedAt"` // Kopru-Failed-At, else the time JetStream stored it
	StoredAt        time.Time        `json:"storedAt"` // stream time
	OriginalSubject string           `json:"originalSubject"`
	ReplayOf        string           `json:"replayOf,omitempty"` // the dead letter an earlier replay came from
	Subject         string           `json:"subject"`            // dlq.<route>
}

// Age is how long ago the event failed.
func (d DeadLetter) Age(now time.Time) time.Duration { return now.Sub(d.FailedAt) }

func fromHeaders(seq uint64, subject string, h nats.Header, stored time.Time) DeadLetter {
	l := deadletter.Parse(subject, h, stored)
	return DeadLetter{ID: seq, Subject: subject, StoredAt: stored.UTC(), Route: l.Route, EventID: l.EventID,
		Class: l.Class, Error: l.Error, Attempts: l.Attempts, TargetStatus: l.TargetStatus, FailedAt: l.FailedAt,
		OriginalSubject: l.OriginalSubject, ReplayOf: l.ReplayOf}
}

func (f Filter) match(d DeadLetter) bool {
	switch {
	case f.Route != "" && d.Route != f.Route:
		return false
	case f.Class != "" && d.Class != f.Class:
		return false
	case f.Status != "" && d.TargetStatus != f.Status:
		return false
	case !f.Since.IsZero() && d.FailedAt.Before(f.Since):
		return false
	case !f.Until.IsZero() && !d.FailedAt.Before(f.Until):
		return false
	case f.Grep != "" && !strings.Contains(strings.ToLower(d.Error), strings.ToLower(f.Grep)):
		return false
	}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			if id == d.ID {
				return true
			}
		}
		return false
	}
	return true
}

// ListResult is a page of dead letters, oldest first.
type ListResult struct {
	Items   []DeadLetter `json:"items"`
	Scanned int          `json:"scanned"` // dead letters looked at
	More    bool         `json:"more"`    // the limit cut the list short
}

// DefaultListLimit is List's limit when the filter has none.
const DefaultListLimit = 100

// List returns the dead letters f selects, oldest first, at most f.Limit (DefaultListLimit when 0).
// It reads headers only, through an ordered consumer that ends at the stream's last sequence when the
// call began, so it is bounded even while new dead letters arrive.
func (o *Ops) List(ctx context.Context, f Filter) (*ListResult, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultListLimit
	}
	return o.scan(ctx, f)
}

// scan reads the DLQ with f; f.Limit 0 means no limit.
func (o *Ops) scan(ctx context.Context, f Filter) (*ListResult, error) {
	if err := checkRouteName(f.Route); err != nil {
		return nil, err
	}
	res := &ListResult{Items: []DeadLetter{}}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			m, err := o.get(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			res.Scanned++
			d := fromHeaders(m.Sequence, m.Subject, m.Header, m.Time)
			if f.match(d) {
				if f.Limit > 0 && len(res.Items) == f.Limit {
					res.More = true
					break
				}
				res.Items = append(res.Items, d)
			}
		}
		return res, nil
	}
	info, err := o.dlq.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", bus.StreamDLQ, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return res, nil
	}
	subj := event.DLQPrefix + ">"
	if f.Route != "" {
		subj = event.DLQPrefix + f.Route
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}, HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 30 * time.Second}
	if !f.Since.IsZero() {
		// Failed-At is stamped before the dead letter is stored: start a little earlier and let match decide.
		st := f.Since.Add(-time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &st
	}
	cons, err := o.dlq.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bus.StreamDLQ, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bus.StreamDLQ, err)
	}
	if ci.NumPending == 0 {
		return res, nil
	}
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", bus.StreamDLQ, err)
		}
		n, done := 0, false
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			if meta.Sequence.Stream > last {
				done = true
				continue
			}
			res.Scanned++
			d := fromHeaders(meta.Sequence.Stream, m.Subject(), m.Headers(), meta.Timestamp)
			if f.match(d) && !done {
				if f.Limit > 0 && len(res.Items) == f.Limit {
					res.More, done = true, true
					continue
				}
				res.Items = append(res.Items, d)
			}
			if meta.NumPending == 0 || meta.Sequence.Stream == last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("read %s: %w", bus.StreamDLQ, err)
		}
		if done || n == 0 {
			return res, ctx.Err()
		}
	}
}

// checkRouteName refuses a route filter that cannot be one token of a dlq.<route> subject.
func checkRouteName(route string) error {
	for _, r := range route {
		if r <= ' ' || r == 0x7f || r == '.' || r == '*' || r == '>' {
			return fmt.Errorf("%w: route %q is not a route name (no spaces, dots, wildcards or control characters)", ErrOption, route)
		}
	}
	return nil
}

func (o *Ops) get(ctx context.Context, id uint64) (*jetstream.RawStreamMsg, error) {
	if id == 0 { // stream sequences start at 1; JetStream answers 0 with a request error
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	m, err := o.dlq.GetMsg(ctx, id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get dead letter %d: %w", id, err)
	}
	if !strings.HasPrefix(m.Subject, event.DLQPrefix) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return m, nil
}
