// Package ledger is the idempotency ledger of DESIGN.md "The hard part": one JetStream KV entry per
// (route, event id) that says whether a vendor call may be in flight, may safely be made again, or has
// finished — and if it finished, what the terminal record was, so a redelivery re-emits it instead of
// calling again.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// State of an entry.
type State string

const (
	// Started: a vendor call may be in flight. Found by anyone but its owner after the lease, it means
	// the owner died mid-call: the outcome is unknown.
	Started State = "started"
	// Retrying: the last call provably had no effect (not sent, or "try later"); calling again is safe.
	Retrying State = "retrying"
	// Succeeded: finished with an outcome, kept in Outcome.
	Succeeded State = "succeeded"
	// Dead: finished with a dead letter whose headers are kept in DLQ.
	Dead State = "dead"
)

// Entry is the value of one ledger key.
type Entry struct {
	State     State             `json:"state"`
	Attempts  int               `json:"attempts"`          // vendor calls begun so far
	StartedAt time.Time         `json:"startedAt"`         // when the latest call began
	Outcome   json.RawMessage   `json:"outcome,omitempty"` // Succeeded: the outcome envelope as published
	DLQ       map[string]string `json:"dlq,omitempty"`     // Dead: the dead letter's headers
	// Uncounted: deliveries handed back without a call because the target's circuit was open (or
	// before the entry existed); they do not count against the route's delivery budget.
	Uncounted int `json:"uncounted,omitempty"`
	// Unresolved: Started with no call in flight: the last call's outcome is unknown and a natural-key
	// lookup (target.Finder) has yet to say whether it took effect; holds that call's one-line error.
	Unresolved string `json:"unresolved,omitempty"`
	// History holds the latest vendor calls, oldest first, at most MaxHistory (AddAttempt keeps it so).
	History []Attempt `json:"history,omitempty"`
	// Replays holds the operator replays of this (route, event), oldest first, at most MaxReplays.
	Replays []Replay `json:"replays,omitempty"`
}

// MaxHistory and MaxReplays bound an entry's records, so an entry stays small whatever happens.
const (
	MaxHistory = 10
	MaxReplays = 5
)

// Attempt is one vendor call as the worker saw it end.
type Attempt struct {
	N          int       `json:"n"`                // call number (Entry.Attempts when it began)
	At         time.Time `json:"at"`               // when it began
	DurationMS float64   `json:"durationMs"`       // how long it took
	Status     string    `json:"status,omitempty"` // HTTP status or vendor code, when the target gave one
	Class      string    `json:"class"`            // ok | not-sent | retryable | rejected | invalid | unknown-outcome
	Error      string    `json:"error,omitempty"`  // one line, no secrets
}

// Replay records an operator replay of the entry's dead letter.
type Replay struct {
	By     string    `json:"by"`               // who asked for it (an operator name, "cli", "admin-api")
	At     time.Time `json:"at"`               // when
	DLQID  uint64    `json:"dlqId"`            // the dead letter replayed (its DLQ stream sequence)
	Class  string    `json:"class,omitempty"`  // its class
	Error  string    `json:"error,omitempty"`  // its error
	Edited bool      `json:"edited,omitempty"` // the event was edited before the replay
}

// AddAttempt appends a to the history, dropping the oldest beyond MaxHistory. It never shares the
// backing array with an earlier copy of e.
func (e *Entry) AddAttempt(a Attempt) {
	h := e.History
	if len(h) >= MaxHistory {
		h = h[len(h)-MaxHistory+1:]
	}
	e.History = append(append(make([]Attempt, 0, len(h)+1), h...), a)
}

// AddReplay appends r to the replays, dropping the oldest beyond MaxReplays.
func (e *Entry) AddReplay(r Replay) {
	rs := e.Replays
	if len(rs) >= MaxReplays {
		rs = rs[len(rs)-MaxReplays+1:]
	}
	e.Replays = append(append(make([]Replay, 0, len(rs)+1), rs...), r)
}

// Terminal reports whether the entry is finished.
func (e Entry) Terminal() bool { return e.State == Succeeded || e.State == Dead }

// Errors of the ledger.
var (
	ErrExists   = errors.New("ledger entry exists")
	ErrNotFound = errors.New("ledger entry not found")
	ErrConflict = errors.New("ledger entry changed meanwhile")
)

// Observer is told about each ledger operation (op: create|update|get|delete; result:
// ok|exists|conflict|error).
type Observer func(op, result string)

// Ledger wraps the KV bucket. Safe for concurrent use.
type Ledger struct {
	kv      jetstream.KeyValue
	observe Observer
}

// New returns a ledger on kv; observe may be nil.
func New(kv jetstream.KeyValue, observe Observer) *Ledger {
	if observe == nil {
		observe = func(string, string) {}
	}
	return &Ledger{kv: kv, observe: observe}
}

// plainID reports whether id is 1 to 100 key-safe characters (A-Z a-z 0-9 _ = -). A loop, not a
// regular expression: it runs for every event.
func plainID(id string) bool {
	if len(id) == 0 || len(id) > 100 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '=', c == '-':
		default:
			return false
		}
	}
	return true
}

// Key is the ledger key of (route, event id). Ids made only of key-safe characters stay readable
// (route.e.<id>); any other id is hashed (route.h.<sha256>), so no id can collide with another.
func Key(route, eventID string) string {
	if plainID(eventID) {
		return route + ".e." + eventID
	}
	sum := sha256.Sum256([]byte(eventID))
	return route + ".h." + hex.EncodeToString(sum[:])
}

// Create writes e under key if no live entry exists (ErrExists otherwise) and returns its revision.
func (l *Ledger) Create(ctx context.Context, key string, e Entry) (uint64, error) {
	b, err := encode(e)
	if err != nil {
		return 0, err
	}
	rev, err := l.kv.Create(ctx, key, b)
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		l.observe("create", "exists")
		return 0, ErrExists
	case err != nil:
		l.observe("create", "error")
		return 0, fmt.Errorf("ledger create: %w", err)
	}
	l.observe("create", "ok")
	return rev, nil
}

// Get reads key (ErrNotFound when absent).
func (l *Ledger) Get(ctx context.Context, key string) (Entry, uint64, error) {
	kve, err := l.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		l.observe("get", "ok")
		return Entry{}, 0, ErrNotFound
	case err != nil:
		l.observe("get", "error")
		return Entry{}, 0, fmt.Errorf("ledger get: %w", err)
	}
	l.observe("get", "ok")
	var e Entry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		return Entry{}, 0, fmt.Errorf("ledger entry %s is corrupt: %w", key, err)
	}
	return e, kve.Revision(), nil
}

// Update replaces key's entry if its revision is still rev (ErrConflict otherwise).
func (l *Ledger) Update(ctx context.Context, key string, e Entry, rev uint64) (uint64, error) {
	b, err := encode(e)
	if err != nil {
		return 0, err
	}
	nrev, err := l.kv.Update(ctx, key, b, rev)
	if err != nil {
		if isWrongSequence(err) {
			l.observe("update", "conflict")
			return 0, ErrConflict
		}
		l.observe("update", "error")
		return 0, fmt.Errorf("ledger update: %w", err)
	}
	l.observe("update", "ok")
	return nrev, nil
}

// Delete removes key, so the event runs again when it is next delivered (used by DLQ replay).
func (l *Ledger) Delete(ctx context.Context, key string) error {
	err := l.kv.Delete(ctx, key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		l.observe("delete", "error")
		return fmt.Errorf("ledger delete: %w", err)
	}
	l.observe("delete", "ok")
	return nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}
