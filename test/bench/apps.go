package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/worker"
)

// bare runs the hand-written loop: the same work as Köprü with no framework.
func bare(n, concurrency int, latency time.Duration) (result, error) {
	e, err := setup(latency)
	if err != nil {
		return result{}, err
	}
	return throughputRun(e, "bare", n, concurrency, latency, func(e *env) (func(), error) { return startBare(e, concurrency) })
}

// startBare starts the hand-written loop: the same work as Köprü with no framework.
func startBare(e *env, concurrency int) (stop func(), err error) {
	hc := adapter.NewHTTPClient(concurrency)
	cons, err := e.js.CreateOrUpdateConsumer(context.Background(), bus.StreamEvents, jetstream.ConsumerConfig{Durable: "bare",
		AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: concurrency * 2})
	if err != nil {
		return nil, err
	}
	sem := make(chan struct{}, concurrency)
	ctx := context.Background()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			var ev event.Envelope
			_ = json.Unmarshal(m.Data(), &ev)
			key := "bare.e." + ev.ID
			if _, err := e.kv.Create(ctx, key, []byte(`{"state":"started"}`)); err != nil {
				_ = m.Ack()
				return
			}
			body, _ := licrus.Map(ev.Data, ticket)
			b, _ := json.Marshal(body)
			resp, err := hc.Post(e.url+"/ExternalCall/Create", "application/json", bytes.NewReader(b))
			if err != nil {
				_ = m.Nak()
				return
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r licrus.Response
			_ = json.Unmarshal(rb, &r)
			msg := r.Messages()
			num, _ := licrus.ParseCallNumber(msg)
			// The same outcome event Köprü publishes (the contract's fields), so both write the same bytes.
			out, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": event.OutcomeID("licrus-installation", ev.ID),
				"source": "kopru/licrus-installation", "type": "installation.call-created", "time": time.Now().UTC().Format(time.RFC3339Nano),
				"datacontenttype": "application/json", "data": map[string]any{"requestId": ev.ID, "route": "licrus-installation",
					"target": "licrus", "callNumber": num, "message": msg}})
			_, _ = e.kv.Put(ctx, key, out)
			_, _ = e.js.Publish(ctx, "outcomes.installation.call-created", out, jetstream.WithMsgID(event.OutcomeID("licrus-installation", ev.ID)))
			_ = m.Ack()
		}()
	}, jetstream.PullMaxMessages(concurrency))
	if err != nil {
		return nil, err
	}
	return cc.Stop, nil
}

// startKopru starts Köprü's Licrus route as an operator would run it against a vendor that takes
// calls concurrent calls: the target's call slots are the vendor's in-flight limit, and the route
// handles depth events at once, so the ledger writes and the publish of one event overlap the calls of
// others instead of holding a call slot idle.
func startKopru(e *env, calls, depth int) (*app.App, error) {
	c := &adapter.Client{HTTP: adapter.NewHTTPClient(calls), Target: "licrus"}
	spec, _ := routes.Lookup("licrus-installation")
	a, err := app.New(app.Options{
		Config: config.Config{NATS: config.NATS{URL: strings.Join(e.nc.Servers(), ",")}},
		Logger: benchLogger(),
		Routes: []worker.Route{{Name: spec.Name, EventType: spec.EventType, OutcomeType: spec.OutcomeType, TargetName: spec.Target,
			Operation: spec.Operation, Target: licrus.New(licrus.Config{BaseURL: e.url, AuthTicket: ticket}, c),
			Guard:  worker.NewGuard("licrus", worker.GuardConfig{Concurrency: calls}),
			Policy: worker.Policy{Concurrency: depth, MaxAckPending: depth * 2, AckWait: benchAckWait()}}},
		NoHTTP: true,
	})
	if err != nil {
		return nil, err
	}
	return a, a.Start(context.Background())
}

// pipelineDepth is the route concurrency the bench gives Köprü for a vendor taking calls concurrent
// calls (KOPRU_BENCH_DEPTH overrides it): half again as many events as call slots.
func pipelineDepth(calls int) int {
	if d, err := strconv.Atoi(os.Getenv("KOPRU_BENCH_DEPTH")); err == nil && d > 0 {
		return d
	}
	return calls * 3 / 2
}

func kopru(n, concurrency int, latency time.Duration) (result, error) {
	e, err := setup(latency)
	if err != nil {
		return result{}, err
	}
	return kopruRun(e, n, concurrency, latency)
}

func kopruOn(n, replicas int, syncAlways bool) (result, error) {
	e, err := setupWith(0, replicas, syncAlways)
	if err != nil {
		return result{}, err
	}
	return kopruRun(e, n, 64, 0)
}

// kopruRun runs Köprü's route over e.
func kopruRun(e *env, n, concurrency int, latency time.Duration) (result, error) {
	return throughputRun(e, "kopru", n, concurrency, latency, func(e *env) (func(), error) {
		a, err := startKopru(e, concurrency, pipelineDepth(concurrency))
		if err != nil {
			return nil, err
		}
		return func() { _ = a.Stop(context.Background()) }, nil
	})
}

// kopruLatency publishes n events at rate/s against an instant vendor and measures, per event, the
// time from publish to the outcome's arrival minus the time the vendor spent on the request.
func kopruLatency(n, rate int) (result, error) {
	return latencyRun("kopru-latency", n, rate, func(e *env) (func(), error) {
		a, err := startKopru(e, 64, pipelineDepth(64))
		if err != nil {
			return nil, err
		}
		return func() { _ = a.Stop(context.Background()) }, nil
	})
}

// benchLogger is silent unless KOPRU_BENCH_LOG=1 (then warnings go to stderr).
func benchLogger() *zap.Logger {
	if os.Getenv("KOPRU_BENCH_LOG") == "" {
		return zap.NewNop()
	}
	l, _ := zap.NewDevelopment(zap.IncreaseLevel(zap.WarnLevel))
	return l
}

func benchAckWait() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("KOPRU_BENCH_ACKWAIT"))
	return d
}
