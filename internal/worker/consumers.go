package worker

import (
	"context"
	"fmt"

	"github.com/kopru/kopru/internal/bus"
)

// EnsureConsumers creates or updates each route's durable consumer, each call with bus.CallTimeout.
// A consumer paused by an open circuit (this or another worker's) stays paused: the server keeps
// PauseUntil on an update (nats-server ≥ 2.11; TestEnsureConsumersKeepsAPause holds it to that).
// Routes already done are skipped, so it can be called again after an error (under bus.Retry while a
// cluster elects its leaders); Start calls it too.
func (w *Worker) EnsureConsumers(ctx context.Context) error {
	for _, r := range w.routes {
		if r.cons != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, bus.CallTimeout)
		cons, err := w.js.CreateOrUpdateConsumer(cctx, bus.StreamEvents, ConsumerConfig(r.Route))
		cancel()
		if err != nil {
			return fmt.Errorf("route %s: create consumer: %w", r.Name, err)
		}
		r.cons = cons
	}
	return nil
}
