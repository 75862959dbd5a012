package worker

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Circuit states, as exported by kopru_circuit_state.
const (
	CircuitClosed   = 0
	CircuitHalfOpen = 1
	CircuitOpen     = 2
)

// GuardConfig sets the per-target limits. Zero values take the defaults.
type GuardConfig struct {
	Concurrency      int           // calls in flight at once (default 64)
	Rate             float64       // calls per second, token bucket (0: unlimited)
	Burst            int           // bucket size (default: Concurrency)
	FailureThreshold int           // consecutive transport/5xx/429 failures that open the circuit (default 5)
	OpenFor          time.Duration // how long the circuit stays open before a probe (default 30s)
}

// Guard protects one target, shared by every route that calls it in this process: a concurrency cap,
// a rate limit and a circuit breaker. Safe for concurrent use.
type Guard struct {
	Target string
	slots  chan struct{}
	rate   *rate.Limiter
	cfg    GuardConfig

	mu        sync.Mutex
	state     int
	failures  int
	openUntil time.Time
	probing   bool
	onChange  []func(state int, until time.Time)
}

// NewGuard returns a guard for target.
func NewGuard(target string, cfg GuardConfig) *Guard {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Burst <= 0 {
		cfg.Burst = cfg.Concurrency
	}
	if cfg.FailureThreshold <= 0 {
		cfg.FailureThreshold = 5
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 30 * time.Second
	}
	g := &Guard{Target: target, slots: make(chan struct{}, cfg.Concurrency), cfg: cfg}
	if cfg.Rate > 0 {
		g.rate = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return g
}

// OnChange registers f to be told of every state change (called without the guard's lock held).
func (g *Guard) OnChange(f func(state int, until time.Time)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onChange = append(g.onChange, f)
}

// State returns the circuit state and, when open, until when.
func (g *Guard) State() (int, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state, g.openUntil
}

// Blocked reports how long calls are refused from now (0: a call may be tried).
func (g *Guard) Blocked(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == CircuitOpen && now.Before(g.openUntil):
		return g.openUntil.Sub(now)
	case g.state == CircuitHalfOpen && g.probing:
		return time.Second
	}
	return 0
}

// allow decides whether a call may go now; in half-open it lets exactly one probe through.
func (g *Guard) allow(now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	var notify bool
	defer func() {
		g.mu.Unlock()
		if notify {
			g.notify(CircuitHalfOpen, time.Time{})
		}
	}()
	switch g.state {
	case CircuitOpen:
		if now.Before(g.openUntil) {
			return false, g.openUntil.Sub(now)
		}
		g.state, g.probing, notify = CircuitHalfOpen, true, true
		return true, 0
	case CircuitHalfOpen:
		if g.probing {
			return false, time.Second
		}
		g.probing = true
		return true, 0
	}
	return true, 0
}

// outcome of one call for the breaker.
type outcome int

const (
	callOK      outcome = iota // the vendor answered (success or a refusal)
	callFailed                 // not sent, retryable, unknown outcome
	callNeutral                // no call was made (mapping refused it)
)

func (g *Guard) record(o outcome, now time.Time) {
	g.mu.Lock()
	prev := g.state
	switch o {
	case callOK:
		g.failures, g.state, g.probing = 0, CircuitClosed, false
	case callFailed:
		g.failures++
		if g.state == CircuitHalfOpen || g.failures >= g.cfg.FailureThreshold {
			g.state, g.probing, g.openUntil = CircuitOpen, false, now.Add(g.cfg.OpenFor)
		}
	case callNeutral:
		if g.state == CircuitHalfOpen {
			g.probing = false
		}
	}
	state, until := g.state, g.openUntil
	g.mu.Unlock()
	if state != prev {
		g.notify(state, until)
	}
	if state == CircuitOpen && o == callFailed { // opened, or opened again: a new until
		time.AfterFunc(g.cfg.OpenFor, func() { g.expire(until) })
	}
}

// expire moves an open circuit to half-open when its open time (until) is over, so the state (and
// kopru_circuit_state, and kopru status) follows the timer on an idle system too: without it the
// circuit would stay "open" until the next call, long after the vendor recovered. The next call is
// the probe, as before. A circuit opened again since (a later until) is left alone.
func (g *Guard) expire(until time.Time) {
	g.mu.Lock()
	if g.state != CircuitOpen || !g.openUntil.Equal(until) {
		g.mu.Unlock()
		return
	}
	g.state, g.probing = CircuitHalfOpen, false
	g.mu.Unlock()
	g.notify(CircuitHalfOpen, time.Time{})
}

func (g *Guard) notify(state int, until time.Time) {
	g.mu.Lock()
	fs := append([]func(int, time.Time){}, g.onChange...)
	g.mu.Unlock()
	for _, f := range fs {
		f(state, until)
	}
}

// acquire waits for a concurrency slot and a rate token.
func (g *Guard) acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.rate != nil {
		if err := g.rate.Wait(ctx); err != nil {
			<-g.slots
			return nil, err
		}
	}
	return func() { <-g.slots }, nil
}
