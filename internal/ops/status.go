package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
)

// RouteStatus is the health of one route.
type RouteStatus struct {
	Route     string `json:"route"`
	EventType string `json:"eventType"`
	Target    string `json:"target"`
	// Consumer is false when the route's durable consumer does not exist (the route never ran here).
	Consumer      bool          `json:"consumer"`
	Pending       uint64        `json:"pending"`                // not yet delivered
	AckPending    int           `json:"ackPending"`             // delivered, not yet acknowledged (in flight)
	Redelivered   int           `json:"redelivered"`            // in flight and delivered more than once
	OldestPending time.Time     `json:"oldestPending,omitzero"` // stream time of the first unacknowledged event
	OldestAge     time.Duration `json:"oldestPendingAgeNs"`
	DLQDepth      uint64        `json:"dlqDepth"`
	DLQOldest     time.Time     `json:"dlqOldest,omitzero"`
	DLQOldestAge  time.Duration `json:"dlqOldestAgeNs"`
	LastError     string        `json:"lastError,omitempty"` // Kopru-Error of the newest dead letter
	LastErrorAt   time.Time     `json:"lastErrorAt,omitzero"`
	Problem       string        `json:"problem,omitempty"` // what could not be read
	// PausedUntil is set while the route's consumer is paused: a worker's circuit breaker for the
	// target is open, on whichever worker saw it fail.
	PausedUntil time.Time `json:"pausedUntil,omitzero"`
}

// TargetStatus is the circuit state of one target.
type TargetStatus struct {
	Target  string `json:"target"`
	Circuit string `json:"circuit"` // closed | half-open | open | closed/unknown
}

// Status is the whole picture.
type Status struct {
	At      time.Time      `json:"at"`
	Routes  []RouteStatus  `json:"routes"`
	Targets []TargetStatus `json:"targets"`
}

// Status reads every route's consumer and dead letters, and each target's circuit state.
func (o *Ops) Status(ctx context.Context) (*Status, error) {
	now := o.now()
	st := &Status{At: now.UTC(), Routes: []RouteStatus{}, Targets: []TargetStatus{}}
	events, err := o.js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", bus.StreamEvents, err)
	}
	routeNames := make([]string, len(o.routes))
	for i, r := range o.routes {
		routeNames[i] = r.Name
	}
	depths, err := DLQDepths(ctx, o.dlq, routeNames)
	if err != nil {
		return nil, err
	}
	targets := map[string]bool{}
	for _, r := range o.routes {
		targets[r.Target] = true
		rs := RouteStatus{Route: r.Name, EventType: r.EventType, Target: r.Target}
		o.consumerStatus(ctx, events, r, &rs, now)
		subj := event.DLQPrefix + r.Name
		depth := depths[r.Name]
		rs.DLQDepth = depth.Messages
		if rs.DLQDepth > 0 {
			rs.DLQOldest, rs.DLQOldestAge = depth.Oldest, depth.Age(now)
			if m, err := o.dlq.GetLastMsgForSubject(ctx, subj); err == nil {
				d := fromHeaders(m.Sequence, m.Subject, m.Header, m.Time)
				rs.LastError, rs.LastErrorAt = d.Error, d.FailedAt
			}
		}
		st.Routes = append(st.Routes, rs)
	}
	var gauges map[string]float64
	if o.circuit != nil {
		gauges, _ = o.circuit(ctx)
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		ts := TargetStatus{Target: t, Circuit: "closed/unknown"}
		if v, ok := gauges[t]; ok {
			ts.Circuit = CircuitName(v)
		} else if pausedRoute(st.Routes, t) {
			ts.Circuit = "open" // a worker's breaker paused the target's consumers; seen without metrics
		}
		st.Targets = append(st.Targets, ts)
	}
	return st, nil
}

func (o *Ops) consumerStatus(ctx context.Context, events jetstream.Stream, r Route, rs *RouteStatus, now time.Time) {
	c, err := events.Consumer(ctx, r.Name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		rs.Problem = "no consumer: the route has not run against this server"
		return
	}
	if err != nil {
		rs.Problem = err.Error()
		return
	}
	info, err := c.Info(ctx)
	if err != nil {
		rs.Problem = err.Error()
		return
	}
	rs.Consumer = true
	rs.Pending, rs.AckPending, rs.Redelivered = info.NumPending, info.NumAckPending, info.NumRedelivered
	if info.Paused {
		rs.PausedUntil = now.Add(info.PauseRemaining).UTC()
	}
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return
	}
	filter := info.Config.FilterSubject
	if filter == "" {
		filter = event.EventsPrefix + r.EventType
	}
	m, err := events.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(filter))
	if err == nil {
		rs.OldestPending, rs.OldestAge = m.Time.UTC(), now.Sub(m.Time)
	}
}

// pausedRoute reports whether a consumer of target is paused (a worker's circuit for it is open).
func pausedRoute(routes []RouteStatus, target string) bool {
	for _, r := range routes {
		if r.Target == target && !r.PausedUntil.IsZero() {
			return true
		}
	}
	return false
}
