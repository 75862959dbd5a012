// Package worker runs routes: one durable pull consumer per route, and for each event
// decode → validate → ledger check → call with backoff → classify → ledger record → emit an outcome or a
// dead letter → ack. It knows nothing about any vendor; it sees adapter.Target and error classes.
package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

// Route is one line of the route table: events of EventType go to Target and succeed as OutcomeType.
type Route struct {
	Name        string // route name: durable consumer, ledger key prefix, dlq.<name>
	EventType   string // consumes events.<EventType>
	OutcomeType string // emits outcomes.<OutcomeType>
	TargetName  string // "licrus", "leansoft", "dia": labels and messages
	Operation   string // the vendor operation, for messages ("ExternalCall/Create")
	Target      adapter.Target
	// Guard limits and breaks calls to the target; share one per target. Nil: no limits, no breaker.
	Guard  *Guard
	Policy Policy
}

// Policy is a route's retry budget and timing. The zero value takes the defaults.
type Policy struct {
	Concurrency     int           // events handled at once by this process (default 32)
	MaxAttempts     int           // vendor calls per event before "exhausted" (default 8)
	MaxDeliveries   int           // JetStream deliveries per event before "exhausted" (default 50)
	AttemptTimeout  time.Duration // one vendor call (default 15s)
	InitialInterval time.Duration // first backoff (default 200ms)
	MaxInterval     time.Duration // backoff cap (default 30s)
	// InProcessWait is the longest wait a worker sleeps itself (keeping the message with InProgress);
	// longer waits go back to JetStream with NakWithDelay so the slot is freed (default 5s).
	InProcessWait time.Duration
	// MaxWait is the longest the route waits before one retry, a vendor's Retry-After included; a vendor
	// that asks for longer is not coming back within the budget, and the event is dead-lettered
	// `exhausted` at once (default 10m). Waits for an open circuit are the breaker's, not bounded by it.
	MaxWait       time.Duration
	AckWait       time.Duration // consumer AckWait (default 30s)
	MaxAckPending int           // consumer MaxAckPending across all workers (default 1000)
}

// WithDefaults fills zero fields.
func (p Policy) WithDefaults() Policy {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&p.Concurrency, 32)
	def(&p.MaxAttempts, 8)
	def(&p.MaxDeliveries, 50)
	def(&p.MaxAckPending, 1000)
	dur(&p.AttemptTimeout, 15*time.Second)
	dur(&p.InitialInterval, 200*time.Millisecond)
	dur(&p.MaxInterval, 30*time.Second)
	dur(&p.InProcessWait, 5*time.Second)
	dur(&p.AckWait, 30*time.Second)
	dur(&p.MaxWait, 10*time.Minute)
	return p
}

// Lease is how long a `started` ledger entry belongs to the worker that wrote it: one attempt plus half
// again (at least a second). Found older than this, the worker that wrote it is presumed dead mid-call.
func (p Policy) Lease() time.Duration {
	p = p.WithDefaults()
	return p.AttemptTimeout + max(time.Second, p.AttemptTimeout/2)
}

// Validate reports a route that cannot run.
func (r Route) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("route has no name")
	case r.EventType == "" || r.OutcomeType == "":
		return fmt.Errorf("route %s: event and outcome types are required", r.Name)
	case r.Target == nil:
		return fmt.Errorf("route %s: no target", r.Name)
	}
	p := r.Policy.WithDefaults()
	if p.AckWait <= p.AttemptTimeout/2 {
		return fmt.Errorf("route %s: AckWait %s is too short for attempts of %s", r.Name, p.AckWait, p.AttemptTimeout)
	}
	return nil
}
