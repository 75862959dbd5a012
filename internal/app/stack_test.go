package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/metrics"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/internal/worker"
	"github.com/kopru/kopru/schemas"
)

const ticket = "TICKET-s3cr3t-aa1c99300ccd452aa518a52aa5650000"

// stack is a Köprü process with the Licrus simulator, on one embedded server.
type stack struct {
	t    testing.TB
	ns   *server.Server
	sim  *licrussim.Sim
	url  string // simulator API root
	app  *app.App
	js   jetstream.JetStream
	logs *observer.ObservedLogs
}

type stackOpt func(*worker.Route)

func fast(r *worker.Route) {
	r.Policy.InitialInterval = 10 * time.Millisecond
	r.Policy.MaxInterval = 50 * time.Millisecond
}

func newStack(t testing.TB, opts ...stackOpt) *stack {
	t.Helper()
	bs := bustest.Start(t)
	s := &stack{t: t, ns: bs.Server, js: bs.JS, sim: licrussim.New(ticket)}
	srv := httptest.NewServer(s.sim)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/api"
	s.start(opts...)
	return s
}

// start starts (or restarts) the Köprü process.
func (s *stack) start(opts ...stackOpt) *app.App {
	s.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	s.logs = logs
	a, err := app.New(app.Options{
		Config: config.Config{NATS: config.NATS{URL: s.ns.ClientURL()}},
		Logger: zap.New(core),
		Routes: []worker.Route{s.route(opts...)},
		NoHTTP: true,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	s.app = a
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return a
}

func (s *stack) route(opts ...stackOpt) worker.Route {
	c := &adapter.Client{HTTP: adapter.NewHTTPClient(32), Target: "licrus"}
	r := worker.Route{Name: "licrus-installation", EventType: "installation.requested",
		OutcomeType: "installation.call-created", TargetName: "licrus", Operation: licrus.Operation,
		Target: licrus.New(licrus.Config{BaseURL: s.url, AuthTicket: ticket}, c)}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func exampleData(t testing.TB) json.RawMessage {
	t.Helper()
	b, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publish sends an event with data on events.<type>, with Nats-Msg-Id = msgID (the event id when "").
func (s *stack) publish(env *event.Envelope, msgID string) {
	s.t.Helper()
	b, _ := env.Marshal()
	if msgID == "" {
		msgID = env.ID
	}
	s.publishRaw("events."+env.Type, b, msgID)
}

func (s *stack) publishRaw(subject string, b []byte, msgID string) {
	s.t.Helper()
	opts := []jetstream.PublishOpt{}
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if _, err := s.js.Publish(context.Background(), subject, b, opts...); err != nil {
		s.t.Fatal(err)
	}
}

// collect reads every message of stream name on subject filter that arrives within wait, stopping
// early once want are there (want < 0: read for the whole wait).
func (s *stack) collect(stream, filter string, want int, wait time.Duration) []jetstream.Msg {
	s.t.Helper()
	deadline := time.Now().Add(wait)
	var out []jetstream.Msg
	for {
		out = out[:0]
		st, err := s.js.Stream(context.Background(), stream)
		if err != nil {
			s.t.Fatal(err)
		}
		c, err := st.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
		if err != nil {
			s.t.Fatal(err)
		}
		info, _ := st.Info(context.Background(), jetstream.WithSubjectFilter(filter))
		n := 0
		for _, v := range info.State.Subjects {
			n += int(v)
		}
		if n > 0 {
			batch, err := c.FetchNoWait(n)
			if err == nil {
				for m := range batch.Messages() {
					out = append(out, m)
				}
			}
		}
		if (want >= 0 && len(out) >= want) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *stack) outcomes(want int, wait time.Duration) []event.Envelope {
	s.t.Helper()
	var envs []event.Envelope
	for _, m := range s.collect(bus.StreamOutcomes, "outcomes.>", want, wait) {
		env, err := event.Decode(m.Data())
		if err != nil {
			s.t.Fatalf("outcome does not decode: %v", err)
		}
		envs = append(envs, *env)
	}
	return envs
}

func (s *stack) deadLetters(want int, wait time.Duration) []jetstream.Msg {
	s.t.Helper()
	return s.collect(bus.StreamDLQ, "dlq.>", want, wait)
}

// settle waits until the route has finished `want` events (any result).
func (s *stack) settle(want int, wait time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		total := 0.0
		for _, r := range metrics.Results {
			total += counter(s.app, "licrus-installation", r)
		}
		if int(total) >= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("route did not finish %d events within %s", want, wait)
}

func counter(a *app.App, route, result string) float64 {
	return testutilToFloat(a.Metrics.Events.WithLabelValues(route, result))
}

// assertNoSecrets fails if any captured log line or field holds the AuthTicket.
func (s *stack) assertNoSecrets() {
	s.t.Helper()
	for _, e := range s.logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, ticket) || strings.Contains(line, "s3cr3t") {
			s.t.Fatalf("secret in log line: %s", line)
		}
	}
}
