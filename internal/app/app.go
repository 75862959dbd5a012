// Package app wires a Köprü process: NATS (embedded or remote), streams and ledger, the routes'
// workers, and the HTTP server. cmd/kopru is a thin shell around it, and end-to-end tests start the
// whole thing in-process on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/httpapi"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/worker"
)

// Options configure an App.
type Options struct {
	Config   config.Config
	Logger   *zap.Logger          // nil: a no-op logger
	Registry *prometheus.Registry // nil: a fresh one
	// Routes, when non-nil, replaces the routes built from Config (tests script their own targets).
	Routes []worker.Route
	// MemoryStorage keeps streams in memory (tests).
	MemoryStorage bool
	// NoHTTP skips the HTTP server.
	NoHTTP bool
	// WaitForNATS keeps retrying the first connection (with backoff, until Start's context ends) instead
	// of failing at once: a worker started while NATS restarts waits for it.
	WaitForNATS bool
}

// App is one Köprü process. Start, then Stop.
type App struct {
	opts    Options
	cfg     config.Config
	log     *zap.Logger
	reg     *prometheus.Registry
	Metrics *metrics.Metrics
	Schemas *event.Schemas

	ns      *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	ledger  *ledger.Ledger
	worker  *worker.Worker
	routes  []worker.Route // the routes this process runs
	table   []routes.Route // the route table status, admin and ingest read (runTable)
	closers []adapter.Closer
	srv     *http.Server
	ln      net.Listener
	stop    context.CancelFunc
	stopped bool

	handler  atomic.Pointer[http.Handler] // the full HTTP handler, once setup is done
	mu       sync.Mutex
	notReady string // why the process is not serving yet ("" once setup is done)
	httpAddr string // the HTTP server's address, once it listens
}

// New prepares an App; nothing runs until Start.
func New(o Options) (*App, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	a := &App{opts: o, cfg: o.Config, log: o.Logger, reg: o.Registry}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
	}
	a.Metrics = metrics.New(a.reg)
	s, err := event.LoadSchemas()
	if err != nil {
		return nil, err
	}
	a.Schemas = s
	return a, nil
}

// Start starts the embedded server (when no URL is configured) and the HTTP server, then connects,
// ensures streams, ledger and consumers, and starts the routes. While it waits for NATS or for a
// JetStream cluster still electing (retried with backoff until ctx ends, one log line per retry),
// /healthz answers, /readyz answers 503 with the reason, and ingest and admin answer 503. It fails
// at once on settings that waiting cannot fix (bus.ErrConnectConfig, bus.ErrSetupConflict).
func (a *App) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = a.Stop(context.Background())
		}
	}()
	a.setReason("starting")
	url := a.cfg.NATS.URL
	if url == "" {
		dir := a.cfg.NATS.DataDir
		if dir == "" {
			dir = filepath.Join("data", "nats")
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("embedded nats-server store %s: %w", dir, err)
		}
		sync := a.cfg.NATS.SyncAlways == nil || *a.cfg.NATS.SyncAlways
		host, port, err := splitListen(a.cfg.NATS.Listen)
		if err != nil {
			return err
		}
		a.ns, err = bus.StartEmbedded(bus.EmbeddedConfig{Dir: dir, Host: host, Port: port, SyncAlways: sync})
		if err != nil {
			return err
		}
		url = a.ns.ClientURL()
		a.log.Info("embedded nats-server started", zap.String("url", url), zap.String("store", dir), zap.Bool("sync_always", sync))
	}
	run := a.opts.Routes
	if run == nil {
		b, err := buildRoutes(a.cfg, a.Metrics, a.log)
		if err != nil {
			return err
		}
		run, a.closers = b.routes, b.closers
	}
	if len(run) == 0 {
		a.log.Warn("no route is configured: set a target's URL (KOPRU_LICRUS_URL, KOPRU_LEANSOFT_URL, KOPRU_DIA_URL) or run `kopru dev`")
	}
	a.routes = run
	a.table = runTable(a.cfg, run)
	if err := a.listenHTTP(); err != nil {
		return err
	}

	co := bus.FromConfig(a.cfg.NATS, "kopru")
	co.URL, co.EmbeddedHint = url, a.ns == nil
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		a.nc, err = bus.Connect(co)
		if err == nil || !a.opts.WaitForNATS || errors.Is(err, bus.ErrConnectConfig) {
			break
		}
		a.setReason("NATS not reachable yet: " + err.Error())
		a.log.Warn("NATS not reachable yet; retrying", zap.Error(err), zap.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for NATS: %w", err)
		case <-time.After(wait):
		}
	}
	if err != nil {
		return err
	}
	a.js, err = jetstream.New(a.nc)
	if err != nil {
		return err
	}
	if err := a.setup(ctx); err != nil {
		return err
	}
	if err := a.worker.Start(ctx); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	go a.pollGauges(bg, 5*time.Second)
	if a.srv != nil {
		h := httpapi.NewHandler(httpapi.Deps{Gatherer: a.reg, Ready: a.ready, Extra: a.extraHTTP})
		a.handler.Store(&h)
	}
	a.setReason("")
	return nil
}

// Addr is the HTTP server's address ("" without one). It is set as soon as the server listens, before
// Start returns (Start may be waiting for JetStream), and is safe to call from another goroutine.
func (a *App) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.httpAddr
}

// NATSURL is the URL of the server in use.
func (a *App) NATSURL() string {
	if a.nc == nil {
		return ""
	}
	return a.nc.ConnectedUrl()
}

// JetStream returns the JetStream handle of the app's connection.
func (a *App) JetStream() jetstream.JetStream { return a.js }

// Ledger returns the idempotency ledger.
func (a *App) Ledger() *ledger.Ledger { return a.ledger }

func (a *App) ready(ctx context.Context) error {
	if r := a.reason(); r != "" {
		return errors.New(r)
	}
	if a.nc == nil || !a.nc.IsConnected() {
		return errors.New("not connected to NATS")
	}
	for _, name := range []string{bus.StreamEvents, bus.StreamOutcomes, bus.StreamDLQ} {
		if _, err := a.js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	for name, c := range a.worker.Consumers() {
		if _, err := c.Info(ctx); err != nil {
			return fmt.Errorf("consumer %s: %w", name, err)
		}
	}
	if len(a.worker.Consumers()) == 0 {
		return errors.New("no route is configured")
	}
	return nil
}

// pollGauges refreshes the consumer and dead-letter gauges.
func (a *App) pollGauges(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.refreshGauges(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) refreshGauges(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for name, c := range a.worker.Consumers() {
		if info, err := c.Info(ctx); err == nil {
			a.Metrics.Pending.WithLabelValues(name).Set(float64(info.NumPending))
			a.Metrics.AckPending.WithLabelValues(name).Set(float64(info.NumAckPending))
		}
	}
	dlq, err := a.js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return
	}
	var names []string
	for name := range a.worker.Consumers() {
		names = append(names, name)
	}
	depths, err := ops.DLQDepths(ctx, dlq, names)
	if err != nil {
		return
	}
	now := time.Now()
	for name, d := range depths {
		a.Metrics.DLQMessages.WithLabelValues(name).Set(float64(d.Messages))
		a.Metrics.DLQOldestAge.WithLabelValues(name).Set(d.Age(now).Seconds())
	}
}

// Stop shuts down in order: stop fetching, let in-flight events finish (bounded by ctx), close the
// targets' sessions, close the HTTP server, the NATS connection and the embedded server.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	if a.stopped {
		return nil
	}
	a.stopped = true
	if a.stop != nil {
		a.stop()
	}
	if a.worker != nil {
		errs = append(errs, a.worker.Stop(ctx))
	}
	for _, c := range a.closers {
		errs = append(errs, c.Close(ctx))
	}
	if a.srv != nil {
		errs = append(errs, a.srv.Shutdown(ctx))
	}
	if a.nc != nil {
		_ = a.nc.Drain()
		a.nc.Close()
	}
	if a.ns != nil {
		a.ns.Shutdown()
		a.ns.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// splitListen reads the embedded server's address; "" means 127.0.0.1:4222.
func splitListen(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", 4222, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: bad port", addr)
	}
	if port == 0 {
		port = -1 // nats-server's "any free port"
	}
	return host, port, nil
}
