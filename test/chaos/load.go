package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
)

// publish sends o.events events at o.rate per second. A publish that fails (the server is restarting)
// is repeated with the same Nats-Msg-Id until JetStream acknowledges it, so no event is lost or doubled.
func publish(ctx context.Context, js jetstream.JetStream, gen *generator, o options, logf func(string, ...any)) (map[string]published, error) {
	pub := make(map[string]published, o.events)
	start := time.Now()
	retried := 0
	for i := 0; i < o.events; i++ {
		if d := time.Until(start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return pub, ctx.Err()
			}
		}
		env, p, err := gen.next(i)
		if err != nil {
			return pub, err
		}
		b, err := env.Marshal()
		if err != nil {
			return pub, err
		}
		m := nats.NewMsg(event.EventsPrefix + env.Type)
		m.Data = b
		for attempt := 0; ; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.PublishMsg(pctx, m, jetstream.WithMsgID(env.ID))
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return pub, ctx.Err()
			}
			if attempt == 0 {
				retried++
			}
			time.Sleep(200 * time.Millisecond)
		}
		pub[env.ID] = p
		if (i+1)%2000 == 0 {
			logf("published %d/%d", i+1, o.events)
		}
	}
	if retried > 0 {
		logf("%d publishes were repeated (server away); JetStream deduplicates them by event id", retried)
	}
	return pub, nil
}

// killLoop SIGKILLs a random worker every 1–3 s (and starts a new one) until done closes.
func killLoop(ctx context.Context, rng *rand.Rand, fl *fleet, n int, done <-chan struct{}) {
	for {
		wait := time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
		select {
		case <-time.After(wait):
		case <-done:
			return
		case <-ctx.Done():
			return
		}
		fl.kill(rng.IntN(n))
	}
}

// restartLoop restarts the nats-server at each offset of at (from now) until done closes.
func restartLoop(ctx context.Context, rng *rand.Rand, n *natsCtl, at []time.Duration, done <-chan struct{}, logf func(string, ...any)) error {
	t0 := time.Now()
	for _, a := range at {
		select {
		case <-time.After(time.Until(t0.Add(a))):
		case <-done:
			return nil
		case <-ctx.Done():
			return nil
		}
		pause := 500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		logf("restarting the nats-server (away %s)", pause.Round(10*time.Millisecond))
		if err := n.restart(pause); err != nil {
			return err
		}
		logf("nats-server back on %s", n.url())
	}
	return nil
}

// settle waits until every route's consumer has nothing pending or awaiting an ack and the number of
// outcomes and dead letters has not changed for a few seconds.
func settle(ctx context.Context, js jetstream.JetStream, logf func(string, ...any)) error {
	type snap struct{ pending, ackPending, outcomes, dead uint64 }
	var last snap
	stable := 0
	lastLog := time.Now()
	for {
		var s snap
		var problem error
		for _, spec := range routes.Builtin() {
			info, err := consumerInfo(ctx, js, spec.Name)
			if err != nil {
				problem = fmt.Errorf("consumer %s: %w", spec.Name, err)
				break
			}
			s.pending += info.NumPending
			s.ackPending += uint64(info.NumAckPending)
		}
		if problem == nil {
			s.outcomes, problem = streamMsgs(ctx, js, bus.StreamOutcomes)
		}
		if problem == nil {
			s.dead, problem = streamMsgs(ctx, js, bus.StreamDLQ)
		}
		if problem == nil && s.pending == 0 && s.ackPending == 0 && s == last {
			stable++
		} else {
			stable = 0
		}
		last = s
		if stable >= 4 {
			logf("settled: %d outcomes, %d dead letters, nothing pending", s.outcomes, s.dead)
			return nil
		}
		if time.Since(lastLog) >= 5*time.Second {
			logf("settling: pending %d, awaiting ack %d, outcomes %d, dead letters %d", s.pending, s.ackPending, s.outcomes, s.dead)
			lastLog = time.Now()
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("still %d pending and %d awaiting ack when the time limit came (outcomes %d, dead letters %d; last error: %v)",
				last.pending, last.ackPending, last.outcomes, last.dead, problem)
		}
	}
}

func consumerInfo(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(ctx, bus.StreamEvents, name)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
