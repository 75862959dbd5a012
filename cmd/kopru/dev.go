package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/schemas"
)

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", `dev [--data DIR] [--http ADDR] [--nats ADDR] [--sim ADDR] [--samples N] [--log-level L]

Runs all of Köprü on this machine with nothing else installed: an embedded JetStream server (store
under --data, no fsync), the Licrus, Lean Soft and DİA simulators, every route, the HTTP server
(metrics, health, ingest with token "`+devIngestToken+`", admin and /ui with token "`+devAdminToken+`").
It publishes one sample event per route and one broken event, then prints each outcome and dead
letter as it lands, once. Publish your own from another terminal with the URL it prints
(KOPRU_NATS_URL=nats://127.0.0.1:4222 kopru publish TYPE FILE). Ctrl-C shuts down in order.
The data stays in --data between runs: delete that folder (make clean) to start afresh.

Flags:`, stderr)
	data := fs.String("data", filepath.Join("data", "dev"), "folder for the embedded JetStream store")
	httpAddr := fs.String("http", envOr("KOPRU_HTTP_ADDR", "127.0.0.1:8080"), "metrics, health, ingest and admin address")
	natsAddr := fs.String("nats", "127.0.0.1:4222", "embedded nats-server client address (\":0\" picks a port)")
	simAddr := fs.String("sim", "127.0.0.1:0", "vendor simulators address")
	samples := fs.Int("samples", 1, "sample events to publish per route at start (0: none)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(*level, "console", stderr)
	if err != nil {
		return err
	}
	// The console prints every dead letter already (printResults); the worker's warning would repeat it.
	log = log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return dropMessages{c, deadLetteredMsg} }))
	sims := devstack.New()
	simSrv, simURL, err := devstack.Serve(sims, *simAddr)
	if err != nil {
		return fmt.Errorf("simulators: %w", err)
	}
	defer simSrv.Close()

	var cfg config.Config
	cfg.NATS.DataDir = filepath.Join(*data, "nats")
	cfg.NATS.Listen = *natsAddr
	no := false
	cfg.NATS.SyncAlways = &no
	cfg.HTTPAddr = *httpAddr
	devstack.Configure(&cfg, simURL)
	cfg.Ingest.Tokens, cfg.Admin.Tokens = []string{devIngestToken}, []string{devAdminToken}
	a, err := app.New(app.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("%w (is another kopru dev running? try --nats 127.0.0.1:0 --http 127.0.0.1:0)", err)
	}
	defer func() {
		fmt.Fprintln(stdout, "\nshutting down: finishing events in flight, then stopping JetStream")
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(sctx); err != nil {
			fmt.Fprintln(stderr, err)
		}
	}()

	fmt.Fprintf(stdout, "kopru dev is up\n  NATS (JetStream, embedded)  %s   store %s\n  HTTP                        http://%s/metrics  /healthz  /readyz\n  simulators                  %s/licrus/api  %s/leansoft/api  %s/dia/api/v3\n\n",
		a.NATSURL(), cfg.NATS.DataDir, a.Addr(), simURL, simURL, simURL)
	fmt.Fprintf(stdout, "  operator page               http://%s/ui/   (admin token %q)\n\n", a.Addr(), devAdminToken)
	fmt.Fprintf(stdout, "Publish your own:  KOPRU_NATS_URL=%s go run ./cmd/kopru publish installation.requested schemas/examples/installation.requested.json\n", a.NATSURL())
	fmt.Fprintf(stdout, "   or over HTTP:   curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d @schemas/examples/installation.requested.json http://%s/v1/events/installation.requested\n\n", devIngestToken, a.Addr())

	if err := printResults(ctx, a.JetStream(), stdout); err != nil {
		return err
	}
	if *samples > 0 {
		if err := publishSamples(ctx, a.JetStream(), *samples, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "waiting for events; Ctrl-C stops")
	<-ctx.Done()
	log.Debug("interrupted")
	return nil
}

// Tokens of kopru dev: development values, printed on start.
const (
	devIngestToken = "dev-ingest-token"
	devAdminToken  = "dev-admin-token"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// publishSamples publishes n copies of each example event, and one broken event to show a dead letter.
func publishSamples(ctx context.Context, js jetstream.JetStream, n int, stdout io.Writer) error {
	types := map[string]bool{}
	for _, spec := range routes.Builtin() {
		types[spec.EventType] = true
	}
	var sorted []string
	for t := range types {
		sorted = append(sorted, t)
	}
	sort.Strings(sorted)
	for _, typ := range sorted {
		data, err := schemas.FS.ReadFile("examples/" + typ + ".json")
		if err != nil {
			continue
		}
		for i := 0; i < n; i++ {
			env := event.New(typ, "kopru-dev", data)
			if err := publishEnvelope(ctx, js, env); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "→ published %-24s %s\n", typ, env.ID)
		}
	}
	bad := event.New("installation.requested", "kopru-dev", json.RawMessage(`{"customer":{"fullName":"Eksik Adres"},"deviceCount":0}`))
	if err := publishEnvelope(ctx, js, bad); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "→ published %-24s %s (deliberately invalid)\n", bad.Type, bad.ID)
	return nil
}

func publishEnvelope(ctx context.Context, js jetstream.JetStream, env *event.Envelope) error {
	b, err := env.Marshal()
	if err != nil {
		return err
	}
	_, err = js.Publish(ctx, event.EventsPrefix+env.Type, b, jetstream.WithMsgID(env.ID))
	return err
}

// printResults prints every new outcome and dead letter as it lands.
func printResults(ctx context.Context, js jetstream.JetStream, stdout io.Writer) error {
	for _, sc := range []struct{ stream, filter string }{{"OUTCOMES", "outcomes.>"}, {"DLQ", "dlq.>"}} {
		st, err := js.Stream(ctx, sc.stream)
		if err != nil {
			return err
		}
		c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{sc.filter},
			DeliverPolicy: jetstream.DeliverNewPolicy})
		if err != nil {
			return err
		}
		if _, err := c.Consume(func(m jetstream.Msg) { fmt.Fprintln(stdout, termSafe(describe(m))) }); err != nil {
			return err
		}
	}
	return nil
}

func describe(m jetstream.Msg) string {
	if strings.HasPrefix(m.Subject(), event.DLQPrefix) {
		h := m.Headers()
		return fmt.Sprintf("✗ dead letter  %-20s event %s  [%s] %s", h.Get(deadletter.HdrRoute), h.Get(deadletter.HdrEventID),
			h.Get(deadletter.HdrErrorClass), h.Get(deadletter.HdrError))
	}
	env, err := event.Decode(m.Data())
	if err != nil {
		return "? unreadable outcome on " + m.Subject()
	}
	var d map[string]any
	_ = json.Unmarshal(env.Data, &d)
	result := ""
	for _, k := range []string{"callNumber", "formNumber", "customerId", "key"} {
		if v, ok := d[k].(string); ok && v != "" {
			result = k + " " + v
			break
		}
	}
	if result == "" {
		result = fmt.Sprint(d["message"])
	}
	return fmt.Sprintf("✓ outcome      %-20s event %s → %s", d["route"], d["requestId"], result)
}

// deadLetteredMsg is the worker's log message for a dead letter.
const deadLetteredMsg = "event dead-lettered"

// dropMessages is a zap core that leaves out entries with one message.
type dropMessages struct {
	zapcore.Core
	msg string
}

func (d dropMessages) With(f []zapcore.Field) zapcore.Core {
	return dropMessages{d.Core.With(f), d.msg}
}

func (d dropMessages) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if e.Message == d.msg {
		return ce
	}
	return d.Core.Check(e, ce)
}
