package httpapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/deadletter"
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

// terminal reports whether the route is done with the event: succeeded, or dead-lettered with its
// dead letter stored (after a replay, what became of the replay counts).
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

// deadLetterFromHeaders is the dead letter that Kopru-* headers h describe (a dead letter's, or the
// copy the ledger keeps); id is its DLQ sequence (0: not known).
func deadLetterFromHeaders(h map[string]string, id uint64) DeadLetterInfo {
	// The error is the vendor's message: served to ingest-token holders, its personal data masked.
	d := DeadLetterInfo{ID: id, Class: h[deadletter.HdrErrorClass], Error: adapter.MaskDigits(h[deadletter.HdrError]), TargetStatus: h[deadletter.HdrTargetStatus]}
	d.Attempts, _ = strconv.Atoi(h[deadletter.HdrAttempts])
	d.FailedAt, _ = time.Parse(time.RFC3339, h[deadletter.HdrFailedAt])
	return d
}
