package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/httpapi"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/worker"
)

// setup makes sure JetStream answers and creates or updates the streams, the ledger bucket and the
// routes' consumers (keeping a pause an open circuit set), retrying every transient error with
// backoff and jitter until ctx ends. Each retry logs one line with the error and the next wait, and
// /readyz reports it. Steps already done are not repeated.
func (a *App) setup(ctx context.Context) error {
	sc := a.cfg.Streams
	cfg := bus.StreamConfig{Replicas: sc.Replicas, EventsMaxAge: sc.EventsMaxAge, OutcomesMaxAge: sc.OutcomesMaxAge,
		DLQMaxAge: sc.DLQMaxAge, LedgerMaxAge: sc.LedgerMaxAge, DuplicateWindow: sc.DuplicateWindow,
		MemoryStorage: a.opts.MemoryStorage}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var kv jetstream.KeyValue
	retries := 0
	notify := func(err error, wait time.Duration) {
		retries++
		a.setReason("waiting for JetStream: " + err.Error())
		a.log.Warn("JetStream setup not done yet; retrying", zap.Error(err), zap.Duration("wait", wait), zap.Int("retry", retries))
	}
	err := bus.Retry(ctx, bus.AttemptTimeout, notify, func(ctx context.Context) error {
		if kv == nil {
			if err := bus.CheckJetStream(ctx, a.nc, a.js); err != nil {
				return err
			}
			var err error
			if kv, err = bus.Ensure(ctx, a.js, cfg); err != nil {
				kv = nil
				return err
			}
			a.ledger = ledger.New(kv, a.Metrics.ObserveLedger)
		}
		if a.worker == nil {
			w, err := worker.New(a.js, a.ledger, a.Schemas, a.Metrics, a.log, a.routes)
			if err != nil {
				return bus.Permanent(err)
			}
			a.worker = w
		}
		return a.worker.EnsureConsumers(ctx)
	})
	if err != nil {
		return err
	}
	if retries > 0 {
		a.log.Info("JetStream setup done", zap.Int("retries", retries))
	}
	return nil
}

// listenHTTP starts the HTTP server (unless NoHTTP) before anything waits on NATS: until setup is done
// it serves /healthz, /readyz (503 with the reason), /metrics, and 503 for everything else.
func (a *App) listenHTTP() error {
	if a.opts.NoHTTP {
		return nil
	}
	addr := a.cfg.HTTPAddr
	if addr == "" {
		addr = ":8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (KOPRU_HTTP_ADDR): %w", addr, err)
	}
	a.ln = ln
	a.mu.Lock()
	a.httpAddr = ln.Addr().String()
	a.mu.Unlock()
	early := httpapi.NewHandler(httpapi.Deps{Gatherer: a.reg, Ready: a.ready, Extra: func(mux *http.ServeMux) {
		mux.Handle("/", httpapi.Starting(a.reason))
	}})
	a.srv = httpapi.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := a.handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		early.ServeHTTP(w, r)
	}), httpapi.DefaultTimeouts())
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", zap.Error(err))
		}
	}()
	a.log.Info("http listening", zap.String("addr", a.ln.Addr().String()))
	return nil
}

func (a *App) setReason(s string) {
	a.mu.Lock()
	a.notReady = s
	a.mu.Unlock()
}

// reason is why the process is not serving yet, "" once setup is done.
func (a *App) reason() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.notReady
}
