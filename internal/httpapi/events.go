package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ledger"
)

// EventRoute is one route an event can feed.
type EventRoute struct {
	Name, EventType, OutcomeType, Target string
}

// Events answers "what happened to my event?": GET /v1/events/{id} and, for Ingest, the wait of
// `Prefer: wait=N`. Everything it says comes from JetStream: the ledger entries of (route, event id),
// the DLQ, and the EVENTS messages routes have not yet acknowledged. Safe for concurrent use.
//
// The answer and how a route's state is derived are in events_state.go, the bounded JetStream reads
// in events_scan.go, the search by business key in events_search.go and the wait in wait.go.
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

// logger is Log, or a logger that drops everything.
func (ev *Events) logger() *zap.Logger {
	if ev.Log == nil {
		return zap.NewNop()
	}
	return ev.Log
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
