package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// Route states of GET /v1/events/{id}.
const (
	StatePending      = "pending"
	StateInProgress   = "in-progress"
	StateSucceeded    = "succeeded"
	StateDeadLettered = "dead-lettered"
	StateReplayed     = "replayed"
)

// EventRoute is one route an event can feed.
type EventRoute struct {
	Name, EventType, OutcomeType, Target string
}

// Events answers "what happened to my event?": GET /v1/events/{id} and, for Ingest, the wait of
// `Prefer: wait=N`. Everything it says comes from JetStream: the ledger entries of (route, event id),
// the DLQ, and the EVENTS messages routes have not yet acknowledged. Safe for concurrent use.
type Events struct {
	IngestTokens, AdminTokens []string // either kind may read an event's status
	Routes                    []EventRoute
	JS                        jetstream.JetStream // required
	NC                        *nats.Conn          // required for the wait: the outcome and DLQ subscriptions
	Ledger                    *ledger.Ledger      // required
	MaxWait                   time.Duration       // cap of Prefer: wait (0: 30 s)
	// MaxScan bounds the messages one status lookup reads from EVENTS or DLQ (0: 100,000).
	MaxScan int
	Log     *zap.Logger

	once sync.Once
	hub  *hub
}

// EventStatus is the body of GET /v1/events/{id} and of a 200 answer to Prefer: wait.
type EventStatus struct {
	ID     string        `json:"id"`
	Type   string        `json:"type,omitempty"`
	Done   bool          `json:"done"` // every route is terminal (succeeded or dead-lettered)
	Routes []RouteStatus `json:"routes"`
	// Outcomes are the outcome events of the routes that succeeded.
	Outcomes []json.RawMessage `json:"outcomes"`
}

// RouteStatus is what one route did with the event.
type RouteStatus struct {
	Route  string `json:"route"`
	Target string `json:"target,omitempty"`
	// State is pending, in-progress, succeeded, dead-lettered or replayed; replayed says what became of
	// the replay in NewState (one of the other four).
	State    string `json:"state"`
	NewState string `json:"newState,omitempty"`
	// Attempt and Since: in-progress, the vendor call under way or the last one made (waiting to retry).
	Attempt  int             `json:"attempt,omitempty"`
	Since    *time.Time      `json:"since,omitempty"`
	Retrying bool            `json:"retrying,omitempty"` // in-progress: between calls, waiting to retry
	Outcome  json.RawMessage `json:"outcome,omitempty"`  // succeeded: the outcome event as published
	Result   map[string]any  `json:"result,omitempty"`   // succeeded: the outcome's data (callNumber, customerId, key, message…)
	// Class, Error and DLQID repeat DeadLetter's class, error and id (dead-lettered).
	Class string `json:"class,omitempty"`
	Error string `json:"error,omitempty"`
	DLQID uint64 `json:"dlqId,omitempty"`
	// DeadLetter: dead-lettered, the dead letter (ID 0 once it was purged).
	DeadLetter *DeadLetterInfo `json:"deadLetter,omitempty"`
	Replay     *ledger.Replay  `json:"replay,omitempty"`  // replayed: the latest replay
	Replays    []ledger.Replay `json:"replays,omitempty"` // every replay kept, oldest first
	// Attempts are the vendor calls made for this route, oldest first (the last 10).
	Attempts []ledger.Attempt `json:"attempts"`
}

// DeadLetterInfo is a dead letter as the status shows it.
type DeadLetterInfo struct {
	ID           uint64    `json:"id,omitempty"` // DLQ stream sequence (kopru dlq show ID)
	Class        string    `json:"class"`
	Error        string    `json:"error"`
	TargetStatus string    `json:"targetStatus,omitempty"`
	Attempts     int       `json:"attempts"`
	FailedAt     time.Time `json:"failedAt,omitzero"`
}

func (rs RouteStatus) terminal() bool {
	s := rs.State
	if s == StateReplayed {
		s = rs.NewState
	}
	if s == StateDeadLettered {
		// The ledger says dead before the dead letter is stored (the worker writes the ledger first):
		// the route is terminal once its dead letter can be shown, with its DLQ id.
		return rs.DeadLetter != nil && rs.DeadLetter.ID != 0
	}
	return s == StateSucceeded
}

// ErrEventNotFound: no route, stream or dead letter knows the event id.
var ErrEventNotFound = errors.New("event not found")

// Register mounts GET /v1/events/{id}.
func (ev *Events) Register(mux *http.ServeMux) {
	ingest, admin := newTokenSet(ev.IngestTokens), newTokenSet(ev.AdminTokens)
	mux.HandleFunc("GET /v1/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		if ingest.empty() && admin.empty() {
			writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: "event status is disabled: set KOPRU_INGEST_TOKENS or KOPRU_ADMIN_TOKENS"})
			return
		}
		tok := bearer(r)
		if ingest.match(tok) < 0 && admin.match(tok) < 0 {
			unauthorized(w, "kopru-events", "a valid ingest or admin token is required: Authorization: Bearer <token>")
			return
		}
		id := r.PathValue("id")
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		st, err := ev.Status(ctx, id)
		switch {
		case errors.Is(err, ErrEventNotFound):
			writeJSON(w, http.StatusNotFound, problemResponse{Error: "no event with id " + quote(id) + " is known (never published, or already expired)"})
		case err != nil:
			ev.logger().Warn("event status failed", zap.Error(err))
			writeJSON(w, http.StatusServiceUnavailable, problemResponse{Error: "event status unavailable: " + err.Error()})
		default:
			writeJSON(w, http.StatusOK, st)
		}
	})
}

func (ev *Events) logger() *zap.Logger {
	if ev.Log == nil {
		return zap.NewNop()
	}
	return ev.Log
}

func (ev *Events) maxScan() int {
	if ev.MaxScan <= 0 {
		return 100000
	}
	return ev.MaxScan
}

// Status says what every route did with event id (ErrEventNotFound when nothing knows it).
func (ev *Events) Status(ctx context.Context, id string) (*EventStatus, error) {
	return ev.status(ctx, id, "")
}

// status is Status; typ, when known (the ingest just published the event), spares the EVENTS search.
func (ev *Events) status(ctx context.Context, id, typ string) (*EventStatus, error) {
	if strings.TrimSpace(id) == "" {
		return nil, ErrEventNotFound
	}
	entries := map[string]ledger.Entry{}
	for _, r := range ev.Routes {
		e, _, err := ev.Ledger.Get(ctx, ledger.Key(r.Name, id))
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries[r.Name] = e
		if typ == "" {
			typ = r.EventType
		}
	}
	inEvents := typ != ""
	if typ == "" {
		t, found, err := ev.findPending(ctx, id)
		if err != nil {
			return nil, err
		}
		typ, inEvents = t, found
	}
	// Dead letters to look up: those the ledger records (stored after their Kopru-Failed-At), those
	// that may have followed a replay (stored after it), and, when neither the ledger nor EVENTS knows
	// the event, any at all (an event refused before its ledger entry: undecodable, breaking its schema).
	var look []string
	var since time.Time
	full := false
	bound := func(t time.Time) {
		if t.IsZero() {
			full = true
		} else if since.IsZero() || t.Before(since) {
			since = t
		}
	}
	for _, r := range ev.Routes {
		e, ok := entries[r.Name]
		switch {
		case !ok && !inEvents:
			look = append(look, r.Name)
			full = true
		case !ok:
		case e.State == ledger.Dead:
			look = append(look, r.Name)
			t, _ := time.Parse(time.RFC3339, e.DLQ[deadletter.HdrFailedAt])
			bound(t)
		case len(e.Replays) > 0 && !e.Terminal():
			look = append(look, r.Name)
			bound(e.Replays[len(e.Replays)-1].At.Truncate(time.Second))
		}
	}
	if full {
		since = time.Time{}
	}
	dead, err := ev.findDeadLetters(ctx, id, look, since)
	if err != nil {
		return nil, err
	}
	st := &EventStatus{ID: id, Type: typ, Done: true, Outcomes: []json.RawMessage{}}
	for _, r := range ev.Routes {
		e, hasEntry := entries[r.Name]
		dl, hasDead := dead[r.Name]
		if !hasEntry && !hasDead && (!inEvents || r.EventType != typ) {
			continue // a route this event does not feed
		}
		if typ == "" && hasDead {
			typ = r.EventType
		}
		rs := routeStatus(r, e, hasEntry, dl, hasDead)
		if rs.Outcome != nil {
			st.Outcomes = append(st.Outcomes, rs.Outcome)
		}
		st.Done = st.Done && rs.terminal()
		st.Routes = append(st.Routes, rs)
	}
	st.Type = typ
	if len(st.Routes) == 0 {
		return nil, ErrEventNotFound
	}
	return st, nil
}

// routeStatus folds a route's ledger entry and latest dead letter into its state.
func routeStatus(r EventRoute, e ledger.Entry, hasEntry bool, dl DeadLetterInfo, hasDead bool) RouteStatus {
	rs := RouteStatus{Route: r.Name, Target: r.Target, Attempts: e.History, Replays: e.Replays}
	if rs.Attempts == nil {
		rs.Attempts = []ledger.Attempt{}
	}
	var replay *ledger.Replay
	if n := len(e.Replays); n > 0 {
		replay = &e.Replays[n-1]
	}
	state := StatePending
	switch {
	case !hasEntry && hasDead:
		state = StateDeadLettered
	case !hasEntry:
	case e.State == ledger.Succeeded:
		state, rs.Outcome = StateSucceeded, e.Outcome
	case e.State == ledger.Dead:
		state = StateDeadLettered
		if !hasDead || dl.Class == "" {
			dl = deadLetterFromHeaders(e.DLQ, dl.ID)
		}
		hasDead = true
	case replay != nil && hasDead && !dl.FailedAt.Before(replay.At.Truncate(time.Second)):
		// Replayed, and dead-lettered again before the ledger heard of it (refused at decoding).
		state = StateDeadLettered
	case e.Attempts == 0:
		state = StatePending // replayed (or reset), not yet picked up
	default:
		state, rs.Attempt, rs.Retrying = StateInProgress, e.Attempts, e.State == ledger.Retrying
		since := e.StartedAt
		rs.Since = &since
	}
	if state == StateDeadLettered && hasDead {
		d := dl
		rs.DeadLetter = &d
		rs.Class, rs.Error, rs.DLQID = d.Class, d.Error, d.ID
	}
	if rs.Outcome != nil {
		var out struct {
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal(rs.Outcome, &out) == nil {
			rs.Result = out.Data
		}
	}
	rs.State = state
	if replay != nil {
		rs.State, rs.NewState, rs.Replay = StateReplayed, state, replay
	}
	return rs
}

func deadLetterFromHeaders(h map[string]string, id uint64) DeadLetterInfo {
	// The error is the vendor's message: served to ingest-token holders, its personal data masked.
	d := DeadLetterInfo{ID: id, Class: h[deadletter.HdrErrorClass], Error: adapter.MaskDigits(h[deadletter.HdrError]), TargetStatus: h[deadletter.HdrTargetStatus]}
	d.Attempts, _ = strconv.Atoi(h[deadletter.HdrAttempts])
	d.FailedAt, _ = time.Parse(time.RFC3339, h[deadletter.HdrFailedAt])
	return d
}

// findPending looks for event id among the EVENTS messages that some route has not acknowledged yet
// (after the lowest ack floor of the routes' consumers), and returns its type.
func (ev *Events) findPending(ctx context.Context, id string) (string, bool, error) {
	var subjects []string
	seen := map[string]bool{}
	var floor uint64
	first := true
	for _, r := range ev.Routes {
		if !seen[r.EventType] {
			seen[r.EventType] = true
			subjects = append(subjects, event.EventsPrefix+r.EventType)
		}
		c, err := ev.JS.Consumer(ctx, bus.StreamEvents, r.Name)
		if err != nil {
			continue // no consumer yet: nothing acknowledged
		}
		info, err := c.Info(ctx)
		if err != nil {
			return "", false, err
		}
		if first || info.AckFloor.Stream < floor {
			floor, first = info.AckFloor.Stream, false
		}
	}
	if len(subjects) == 0 {
		return "", false, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: floor + 1, InactiveThreshold: 30 * time.Second}
	typ := ""
	err := ev.scan(ctx, bus.StreamEvents, cfg, func(m jetstream.Msg, _ *jetstream.MsgMetadata) bool {
		h := m.Headers()
		if h.Get(nats.MsgIdHdr) == id || event.Header(h, event.HeaderPrefix+"id") == id {
			typ = strings.TrimPrefix(m.Subject(), event.EventsPrefix)
			return false
		}
		return true
	})
	return typ, typ != "", err
}

// findDeadLetters returns the latest dead letter of event id on each of routes, stored since since
// (a minute of slack; zero: the whole DLQ).
func (ev *Events) findDeadLetters(ctx context.Context, id string, routes []string, since time.Time) (map[string]DeadLetterInfo, error) {
	out := map[string]DeadLetterInfo{}
	if len(routes) == 0 {
		return out, nil
	}
	subjects := make([]string, len(routes))
	for i, r := range routes {
		subjects[i] = event.DLQPrefix + r
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 30 * time.Second}
	if !since.IsZero() {
		st := since.Add(-time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &st
	}
	err := ev.scan(ctx, bus.StreamDLQ, cfg, func(m jetstream.Msg, meta *jetstream.MsgMetadata) bool {
		h := m.Headers()
		if h.Get(deadletter.HdrEventID) != id {
			return true
		}
		route := strings.TrimPrefix(m.Subject(), event.DLQPrefix)
		hm := map[string]string{}
		for k := range h {
			hm[k] = h.Get(k)
		}
		d := deadLetterFromHeaders(hm, meta.Sequence.Stream)
		if d.FailedAt.IsZero() {
			d.FailedAt = meta.Timestamp.UTC()
		}
		out[route] = d // oldest first: the last one seen is the latest
		return true
	})
	return out, err
}

// scan reads stream through an ordered consumer made with cfg, up to the stream's last message when
// it began and at most MaxScan messages, calling fn until it returns false. A cfg that delivers all
// starts at the latest MaxScan messages of the stream.
func (ev *Events) scan(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, fn func(jetstream.Msg, *jetstream.MsgMetadata) bool) error {
	s, err := ev.JS.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || (cfg.OptStartSeq > last) {
		return nil
	}
	if n := uint64(ev.maxScan()); cfg.DeliverPolicy == jetstream.DeliverAllPolicy && last > n {
		// The whole stream is too long to read: read its latest MaxScan messages (as SearchKey does),
		// so the newest are reached and one lookup never reads more than that.
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last-n+1
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	if ci.NumPending == 0 {
		return nil
	}
	for read := 0; read < ev.maxScan(); {
		batch, err := cons.FetchNoWait(512)
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			read++
			meta, err := m.Metadata()
			if err != nil || meta.Sequence.Stream > last {
				return nil
			}
			if !fn(m, meta) || meta.NumPending == 0 || meta.Sequence.Stream == last {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 {
			return ctx.Err()
		}
	}
	return nil
}
