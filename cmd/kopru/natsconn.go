package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
)

// jetStreamWait (a variable for tests) bounds how long an operator command waits for JetStream to answer (a cluster
// electing its leaders) before it gives up with the reason.
var jetStreamWait = 15 * time.Second

// connectNATS connects an operator command (publish, dlq, status, events) the way kopru run does:
// the nats settings of KOPRU_CONFIG's file and the KOPRU_NATS_* variables (TLS, credentials file,
// NKey seed, user and password, token; secrets also from *_FILE), then waits up to jetStreamWait for
// JetStream. A server or account without JetStream is named as such at once.
func connectNATS(ctx context.Context, name string) (*nats.Conn, jetstream.JetStream, error) {
	cfg, err := config.Load(os.Getenv("KOPRU_CONFIG"), os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if cfg.NATS.URL == "" {
		return nil, nil, errors.New("KOPRU_NATS_URL is empty: set it to the NATS server Köprü runs on, " +
			"e.g. export KOPRU_NATS_URL=nats://127.0.0.1:4222 (kopru dev prints its URL), with KOPRU_NATS_CREDS, " +
			"KOPRU_NATS_USER/KOPRU_NATS_PASSWORD, KOPRU_NATS_TOKEN or KOPRU_NATS_NKEY_SEED_FILE and KOPRU_NATS_TLS_CA if the server needs them")
	}
	nc, err := bus.Connect(bus.FromConfig(cfg.NATS, "kopru-"+name))
	if errors.Is(err, bus.ErrConnectConfig) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach NATS at %s (KOPRU_NATS_URL): %w", bus.RedactURLs(cfg.NATS.URL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if err := bus.WaitJetStream(ctx, nc, js, jetStreamWait); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// retryBounded runs op under bus.Retry for at most jetStreamWait: a stream or bucket without a
// leader for a moment is waited for, a missing one is reported at once.
func retryBounded(ctx context.Context, what string, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, jetStreamWait)
	defer cancel()
	var last error
	err := bus.Retry(ctx, bus.CallTimeout, nil, func(ctx context.Context) error {
		last = op(ctx)
		return last
	})
	if err != nil && bus.Transient(err) {
		return fmt.Errorf("%s: JetStream did not answer within %s: %w", what, jetStreamWait, last)
	}
	return err
}
