package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
)

// EnsureConsumers creates or updates each route's durable consumer, one JetStream call at a time with
// bus.CallTimeout each. A consumer paused by an open circuit (this or another worker's) stays paused:
// an update without PauseUntil would lift the pause. Routes already done are skipped, so it can be
// called again after an error (under bus.Retry while a cluster elects its leaders); Start calls it too.
func (w *Worker) EnsureConsumers(ctx context.Context) error {
	for _, r := range w.routes {
		if r.cons != nil {
			continue
		}
		cfg := ConsumerConfig(r.Route)
		cctx, cancel := context.WithTimeout(ctx, bus.CallTimeout)
		old, err := w.js.Consumer(cctx, bus.StreamEvents, r.Name)
		cancel()
		switch {
		case err == nil:
			if info := old.CachedInfo(); info.Paused && info.Config.PauseUntil != nil && info.Config.PauseUntil.After(time.Now()) {
				until := *info.Config.PauseUntil
				cfg.PauseUntil = &until
			}
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return fmt.Errorf("route %s: consumer info: %w", r.Name, err)
		}
		cctx, cancel = context.WithTimeout(ctx, bus.CallTimeout)
		cons, err := w.js.CreateOrUpdateConsumer(cctx, bus.StreamEvents, cfg)
		cancel()
		if err != nil {
			return fmt.Errorf("route %s: create consumer: %w", r.Name, err)
		}
		r.cons = cons
	}
	return nil
}
