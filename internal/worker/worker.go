package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
)

// Worker runs a set of routes in this process. It holds no state of its own beyond in-flight
// messages: everything durable is in JetStream. Start once, Stop once.
type Worker struct {
	js      jetstream.JetStream
	ledger  *ledger.Ledger
	schemas *event.Schemas
	metrics *metrics.Metrics
	log     *zap.Logger
	routes  []*runner

	// ctx is the handlers' context. Stop cancels it only when its own deadline ends with events still
	// in flight: until then a call in flight finishes and is recorded.
	ctx      context.Context
	cancel   context.CancelFunc
	stopping chan struct{} // closed by Stop: waits hand their message back instead of sleeping
	stopOnce sync.Once
	wg       sync.WaitGroup
}

type runner struct {
	Route
	policy  Policy
	work    chan jetstream.Msg // to the route's Concurrency handler goroutines
	log     *zap.Logger
	debug   bool // log is enabled at debug level
	finder  bool // the route's adapter is an adapter.Finder (it can look a record up by natural key)
	m       routeMetrics
	cons    jetstream.Consumer
	consume jetstream.ConsumeContext
}

// New prepares a worker; nothing runs until Start.
func New(js jetstream.JetStream, l *ledger.Ledger, s *event.Schemas, m *metrics.Metrics, log *zap.Logger, routes []Route) (*Worker, error) {
	w := &Worker{js: js, ledger: l, schemas: s, metrics: m, log: log, stopping: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	seen := map[string]bool{}
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("route %s is listed twice", r.Name)
		}
		seen[r.Name] = true
		if !s.Has(r.EventType) {
			return nil, fmt.Errorf("route %s: event type %s has no schema", r.Name, r.EventType)
		}
		p := r.Policy.WithDefaults()
		m.AddRoute(r.Name)
		m.AddTarget(r.TargetName, r.Operation)
		_, finder := r.Target.(adapter.Finder)
		w.routes = append(w.routes, &runner{Route: r, policy: p, work: make(chan jetstream.Msg), finder: finder,
			log: log.With(zap.String("route", r.Name), zap.String("target", r.TargetName)), debug: log.Core().Enabled(zap.DebugLevel),
			m: newRouteMetrics(m, r.Name)})
	}
	return w, nil
}

// ConsumerConfig is the durable consumer of route r.
func ConsumerConfig(r Route) jetstream.ConsumerConfig {
	p := r.Policy.WithDefaults()
	return jetstream.ConsumerConfig{
		Durable:       r.Name,
		Description:   fmt.Sprintf("Köprü route %s: %s → %s %s", r.Name, r.EventType, r.TargetName, r.Operation),
		FilterSubject: event.EventsPrefix + r.EventType,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       p.AckWait,
		MaxDeliver:    -1, // the worker owns the retry budget (Policy.MaxAttempts, MaxDeliveries)
		MaxAckPending: p.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Start creates or updates each route's durable consumer and starts consuming.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.EnsureConsumers(ctx); err != nil {
		return err
	}
	w.watchGuards()
	for _, r := range w.routes {
		cons := r.cons
		r := r
		// Concurrency long-lived handlers rather than a goroutine per event: a fresh goroutine grows its
		// stack anew for every event (decoding, validation), which costs more CPU than the hand-off.
		for range r.policy.Concurrency {
			w.wg.Add(1)
			go w.serve(r)
		}
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			select {
			case r.work <- msg: // backpressure: waits for a free handler
			case <-w.stopping:
				w.settle(&job{r: r, msg: msg}, Action{Do: DoLater}) // stopping: hand it back at once
			}
		}, jetstream.PullMaxMessages(r.policy.Concurrency),
			// Short pull requests: a pull the server lost (a consumer leader change on a cluster) is
			// noticed by the missing heartbeat and re-issued within seconds, not after 30 s.
			jetstream.PullExpiry(5*time.Second),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if errors.Is(err, jetstream.ErrNoHeartbeat) {
					r.log.Info("consumer heartbeat missed; pulling again", zap.Error(err))
					return
				}
				r.log.Warn("consumer error", zap.Error(err))
			}))
		if err != nil {
			return fmt.Errorf("route %s: consume: %w", r.Name, err)
		}
		r.consume = cc
		r.log.Info("route started", zap.String("subject", event.EventsPrefix+r.EventType),
			zap.Int("concurrency", r.policy.Concurrency))
	}
	return nil
}

// serve handles r's events one at a time until the worker stops.
func (w *Worker) serve(r *runner) {
	defer w.wg.Done()
	k := newKeeper(r.policy.AckWait / 3)
	defer k.done()
	for {
		select {
		case msg := <-r.work:
			w.handle(r, k, msg)
		case <-w.stopping:
			return
		}
	}
}

// Stop stops fetching, hands waiting messages back to JetStream, and waits for calls in flight until
// ctx ends. Then it cancels the calls' context: a call still in flight is abandoned unsettled, and its
// event is redelivered to another worker, which finds its `started` entry (as after a crash).
func (w *Worker) Stop(ctx context.Context) error {
	for _, r := range w.routes {
		if r.consume != nil {
			r.consume.Stop()
		}
	}
	w.stopOnce.Do(func() { close(w.stopping) })
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		w.cancel()
		return nil
	case <-ctx.Done():
		// Cut the calls still in flight off, then give their handlers a moment to record what is
		// known (a call refused or answered is written down; one cut off is left for redelivery).
		w.cancel()
		select {
		case <-done:
		case <-time.After(afterCancel):
		}
		return fmt.Errorf("stopped with events still in flight: %w", ctx.Err())
	}
}

// afterCancel bounds how long Stop waits for handlers once it has cancelled their calls.
const afterCancel = 5 * time.Second

// Consumers returns each route's consumer handle (for status and metrics).
func (w *Worker) Consumers() map[string]jetstream.Consumer {
	out := map[string]jetstream.Consumer{}
	for _, r := range w.routes {
		if r.cons != nil {
			out[r.Name] = r.cons
		}
	}
	return out
}

// watchGuards exports each guard's state and pauses the consumers of its routes while it is open, so
// their events wait in JetStream (on every worker) instead of burning their retry budget.
func (w *Worker) watchGuards() {
	seen := map[*Guard]bool{}
	for _, r := range w.routes {
		g := r.Guard
		if g == nil || seen[g] {
			continue
		}
		seen[g] = true
		gauge := w.metrics.Circuit.WithLabelValues(g.Target)
		gauge.Set(CircuitClosed)
		var names []string
		for _, r2 := range w.routes {
			if r2.Guard == g {
				names = append(names, r2.Name)
			}
		}
		g.OnChange(func(state int, until time.Time) {
			gauge.Set(float64(state))
			switch state {
			case CircuitOpen:
				w.log.Warn("circuit open: target failing; pausing its consumers", zap.String("target", g.Target),
					zap.Time("until", until), zap.Strings("routes", names))
				for _, name := range names {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					if _, err := w.js.PauseConsumer(ctx, bus.StreamEvents, name, until); err != nil {
						w.log.Warn("cannot pause consumer", zap.String("route", name), zap.Error(err))
					}
					cancel()
				}
			case CircuitHalfOpen:
				w.log.Info("circuit half-open: probing target", zap.String("target", g.Target))
			case CircuitClosed:
				w.log.Info("circuit closed: target answering again", zap.String("target", g.Target))
			}
		})
	}
}
