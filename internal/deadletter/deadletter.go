// Package deadletter is the dead-letter contract of DESIGN.md in one place: the error classes, the
// Kopru-* header names, the Letter a dead letter carries (encoded to NATS headers, parsed back from a
// stored message) and the Nats-Msg-Id rules of dead letters and of their replays.
//
// The worker writes dead letters with it; ops, the admin API, the operator page, the CLI, the chaos
// checker and tests read them with it. It imports no runtime package, so reading a dead letter never
// pulls in the worker.
package deadletter

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/event"
)

// Headers of the public contract (DESIGN.md, "Dead letters").
const (
	HdrRoute           = "Kopru-Route"
	HdrEventID         = "Kopru-Event-Id"
	HdrOriginalSubject = "Kopru-Original-Subject"
	HdrErrorClass      = "Kopru-Error-Class"
	HdrError           = "Kopru-Error"
	HdrAttempts        = "Kopru-Attempts"
	HdrTargetStatus    = "Kopru-Target-Status"
	HdrFailedAt        = "Kopru-Failed-At"
)

// Köprü's own headers beside the contract.
const (
	// HdrReplayRoute marks a replayed event: only that route handles it; the others of the same event
	// type (which already finished it) ignore it.
	HdrReplayRoute = "Kopru-Replay-Route"
	// HdrReplayOf is the DLQ sequence a replayed event came from; a replay that fails again keeps it.
	HdrReplayOf = "Kopru-Replay-Of"
	// HdrEditedBy, HdrEditedAt and HdrEditedFields mark an event edited before its replay.
	HdrEditedBy     = "Kopru-Edited-By"
	HdrEditedAt     = "Kopru-Edited-At"
	HdrEditedFields = "Kopru-Edited-Fields"
)

// Class is a dead letter's error class (Kopru-Error-Class).
type Class string

// The classes of the contract.
const (
	Invalid   Class = "invalid"   // the event cannot be processed as it is (schema, mapping, subject)
	Rejected  Class = "rejected"  // the vendor refused it
	Exhausted Class = "exhausted" // the retry budget is spent
	Ambiguous Class = "ambiguous" // a call may have happened: verify at the vendor before replaying
)

// Classes lists every class, in the contract's order.
var Classes = []Class{Invalid, Rejected, Exhausted, Ambiguous}

// String returns the header value.
func (c Class) String() string { return string(c) }

// Valid reports whether c is one of Classes.
func (c Class) Valid() bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// ClassNames returns the classes as strings (labels, flag help, the page's filter).
func ClassNames() []string {
	out := make([]string, len(Classes))
	for i, c := range Classes {
		out[i] = string(c)
	}
	return out
}

// Letter is what a dead letter says about its event. The payload (the original event bytes) travels
// beside it and is not part of it.
type Letter struct {
	Route           string
	EventID         string
	OriginalSubject string
	Class           Class
	Error           string // one line, no secrets (Encode one-lines it)
	Attempts        int
	TargetStatus    string    // HTTP status or vendor code, "" when none
	FailedAt        time.Time // Parse: Kopru-Failed-At, else the time JetStream stored it
	ReplayOf        string    // the DLQ sequence an earlier replay came from, "" when none
	// CloudEvent is a binary-mode event's ce-* headers (and content-type): a dead letter keeps them,
	// so it reads as the same CloudEvent and its replay runs as the original did. nil otherwise.
	CloudEvent map[string]string
}

// Encode returns the letter as message headers: the CloudEvent's headers first, then the contract
// headers, which win. Kopru-Replay-Of only when set.
func (l Letter) Encode() map[string]string {
	h := make(map[string]string, len(l.CloudEvent)+9)
	for k, v := range l.CloudEvent {
		h[k] = v
	}
	h[HdrRoute] = l.Route
	h[HdrEventID] = l.EventID
	h[HdrOriginalSubject] = l.OriginalSubject
	h[HdrErrorClass] = string(l.Class)
	h[HdrError] = adapter.OneLine(l.Error)
	h[HdrAttempts] = strconv.Itoa(l.Attempts)
	h[HdrTargetStatus] = l.TargetStatus
	h[HdrFailedAt] = l.FailedAt.UTC().Format(time.RFC3339)
	if l.ReplayOf != "" {
		h[HdrReplayOf] = l.ReplayOf
	}
	return h
}

// Header returns Encode as a nats.Header.
func (l Letter) Header() nats.Header {
	h := nats.Header{}
	for k, v := range l.Encode() {
		h.Set(k, v)
	}
	return h
}

// Parse reads a stored dead letter: its subject (dlq.<route>), headers and the time JetStream stored
// it. A missing Kopru-Route falls back to the subject's route, a missing or malformed Kopru-Failed-At
// to stored. It never fails: a hand-made or damaged dead letter still lists.
func Parse(subject string, h nats.Header, stored time.Time) Letter {
	l := Letter{Route: h.Get(HdrRoute), EventID: h.Get(HdrEventID), OriginalSubject: h.Get(HdrOriginalSubject),
		Class: Class(h.Get(HdrErrorClass)), Error: h.Get(HdrError), TargetStatus: h.Get(HdrTargetStatus),
		ReplayOf: h.Get(HdrReplayOf), CloudEvent: event.BinaryHeaders(h)}
	l.Attempts, _ = strconv.Atoi(h.Get(HdrAttempts))
	if l.Route == "" {
		l.Route = strings.TrimPrefix(subject, event.DLQPrefix)
	}
	l.FailedAt = stored.UTC()
	if t, err := time.Parse(time.RFC3339, h.Get(HdrFailedAt)); err == nil {
		l.FailedAt = t.UTC()
	}
	return l
}

// Subject is the subject a route's dead letters are published on.
func Subject(route string) string { return event.DLQPrefix + route }

// MsgID is the Nats-Msg-Id of a dead letter: "dlq/<route>/<event id>", with "seq-<stream seq>" for
// an event without an id, and "/replay-<dlq seq>" added when the event was itself a replay, so a
// replay that fails again is not dropped as a duplicate of the first dead letter.
func MsgID(route, eventID string, streamSeq uint64, replayOf string) string {
	id := eventID
	if id == "" && streamSeq > 0 {
		id = "seq-" + strconv.FormatUint(streamSeq, 10)
	}
	if replayOf != "" {
		id += "/replay-" + replayOf
	}
	return "dlq/" + route + "/" + id
}

// ReplayMsgID is the Nats-Msg-Id of the replay of dead letter seq of event eventID:
// "<event id>/replay/<seq>", so a replay retried after a failed delete is deduplicated. An id that
// could not travel in a header unchanged (see event.CheckID) is replaced by a digest of it.
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
