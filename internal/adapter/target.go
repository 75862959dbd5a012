// Package adapter holds what every vendor adapter shares: the Target contract the worker calls, the
// error classes of DESIGN.md "The hard part", and the HTTP plumbing that classifies transport failures.
//
// An adapter is a pure mapping (event data → vendor request, vendor response → Result or *Error) plus a
// thin client built on Client. The worker knows nothing about any vendor: it only sees Request, Result
// and the Class of an *Error.
package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kopru/kopru/internal/redact"
)

// Class says what a failed call means for the event that caused it.
type Class int

const (
	// ClassNotSent: the request never reached the vendor (dial refused, DNS). Safe to retry.
	ClassNotSent Class = iota + 1
	// ClassRetryable: the vendor answered "not now" (429, 503, 5xx with Retry-After, an expired session
	// after one re-login). It had no effect; back off and retry.
	ClassRetryable
	// ClassRejected: the vendor refused the request (validation error, HasError, Result false, DİA 400).
	// Retrying cannot help: dead-letter at once.
	ClassRejected
	// ClassInvalid: the event cannot be turned into a request (a field breaks a vendor rule, a name has no
	// id). Found before any call; dead-letter at once.
	ClassInvalid
	// ClassUnknown: the request may have taken effect (timeout after it was written, connection reset
	// mid-response, a 5xx that does not say "retry"). Never retried silently.
	ClassUnknown
)

func (c Class) String() string {
	switch c {
	case ClassNotSent:
		return "not-sent"
	case ClassRetryable:
		return "retryable"
	case ClassRejected:
		return "rejected"
	case ClassInvalid:
		return "invalid"
	case ClassUnknown:
		return "unknown-outcome"
	}
	return "unclassified"
}

// Error is a classified failure of one call. Msg is one line for an operator and never holds a secret;
// Reason is a label from the fixed set Reasons lists (fit for a metric label); Status is the HTTP status or
// the vendor's code when there is one.
type Error struct {
	Class      Class
	Reason     Reason
	Status     string
	Msg        string
	RetryAfter time.Duration
	// PerRecord: the vendor's application ran and answered about this one record (DİA's 501 "kart kodu
	// zaten kullanılıyor", a body code with a message). Whatever the class says for the event, such an
	// answer says nothing about the vendor's health: it never moves the circuit breaker.
	PerRecord bool
	// Err is the cause, for errors.Is and errors.As: a transport error, or a sentinel such as
	// ErrSessionEnded or a vendor package's own.
	Err error
}

func (e *Error) Error() string {
	if e.Status != "" {
		return fmt.Sprintf("%s (%s, status %s)", e.Msg, e.Class, e.Status)
	}
	return fmt.Sprintf("%s (%s)", e.Msg, e.Class)
}

func (e *Error) Unwrap() error { return e.Err }

// Unwell reports whether err says the vendor itself is unwell, the only kind of failure that may move
// a circuit breaker: a transport failure (not reachable, timeout, reset), a 429/503/408 or other
// "not now" answer, or a 5xx without a record-level message. A success, a refusal, an invalid event, a
// per-record answer (Error.PerRecord), a session the vendor ended (ErrSessionEnded) or a request Köprü
// refused to send (ReasonHeader, ReasonEncode) is not.
func Unwell(err error) bool {
	if err == nil {
		return false
	}
	te := AsError(err)
	if te.PerRecord || errors.Is(err, ErrSessionEnded) {
		return false
	}
	switch te.Reason {
	case ReasonHeader, ReasonEncode:
		return false
	}
	switch te.Class {
	case ClassNotSent, ClassRetryable, ClassUnknown:
		return true
	}
	return false
}

// Errorf builds an *Error of class c; the message is flattened to one line.
func Errorf(c Class, reason Reason, format string, args ...any) *Error {
	return &Error{Class: c, Reason: reason, Msg: OneLine(fmt.Sprintf(format, args...))}
}

// Invalid is shorthand for a ClassInvalid error, the answer of a mapping that refuses an event.
func Invalid(format string, args ...any) *Error {
	return Errorf(ClassInvalid, ReasonInvalid, format, args...)
}

// AsError returns the *Error inside err. An error that carries none is treated as an unknown outcome,
// the safe reading for a call that may have happened.
func AsError(err error) *Error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return &Error{Class: ClassUnknown, Reason: ReasonUnclassified, Msg: OneLine(err.Error()), Err: err}
}

// OneLine is redact.OneLine: whitespace runs (newlines included) collapse to single spaces and the
// length is capped, so a message fits a log line and a DLQ header.
func OneLine(s string) string { return redact.OneLine(s) }

// Request is what the worker hands an adapter: one event, already decoded from its envelope and
// validated against its schema. The event's traceparent travels one way, in the call's context
// (WithTraceparent): Client sends it with every request the call makes, lookups included.
type Request struct {
	EventID string
	Type    string
	Source  string
	Time    time.Time
	Data    json.RawMessage
}

// Result is the success of one call. Fields are merged into the outcome's data next to requestId,
// route and target (callNumber, customerId, key, message, ...).
type Result struct {
	Fields map[string]any
}

// Target performs one vendor operation. Call must be safe for concurrent use. Every failure it returns
// must be an *Error (use AsError's rule otherwise: unknown outcome).
type Target interface {
	Call(ctx context.Context, req Request) (Result, error)
}

// Func adapts a function to Target, as http.HandlerFunc does.
type Func func(ctx context.Context, req Request) (Result, error)

// Call calls f.
func (f Func) Call(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

// Finder is implemented by targets whose records have a natural key (DİA carikartkodu). When a call's
// outcome is unknown, the worker asks Find before calling again: found=true records that result instead
// of creating a second record; found=false means the earlier call had no effect and it is safe to call.
type Finder interface {
	Find(ctx context.Context, req Request) (res Result, found bool, err error)
}

// Closer is implemented by targets that hold a session to end on shutdown (DİA logout).
type Closer interface {
	Close(ctx context.Context) error
}

// MaskDigits is redact.Digits. It hides long digit runs (phone numbers, tax and identity numbers: 7 digits or more, spaces
// and dashes inside a run allowed) behind their first two and last two digits, for log lines that
// carry a vendor's message: "5301231212" → "53******12". Shorter numbers (call numbers, codes) stay.
func MaskDigits(s string) string { return redact.Digits(s) }
