package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Setup timings: every JetStream API call of the setup gets CallTimeout, one whole attempt
// (streams, ledger, consumers) AttemptTimeout; attempts are spaced by exponential backoff with ±50 %
// jitter from 500 ms up to 15 s.
const (
	CallTimeout    = 5 * time.Second
	AttemptTimeout = 60 * time.Second
)

// ErrJetStreamDisabled is wrapped by errors that say the server or the account has no JetStream.
var ErrJetStreamDisabled = errors.New("JetStream is not enabled on this server or account: enable it with " +
	"`jetstream: enabled` (or `jetstream {store_dir: …}`) in the nats-server configuration, or run nats-server -js; " +
	"in an operator/account setup, give the account JetStream limits (nsc edit account --js-enable 1) or " +
	"`jetstream: enabled` in its accounts block")

// ErrSetupConflict is wrapped by setup errors that waiting cannot fix: something on the server
// contradicts Köprü's streams (another stream holds the subjects, settings that cannot change in place,
// replicas a lone server cannot give). The message says what to change.
var ErrSetupConflict = errors.New("JetStream setup conflict")

// JetStream API error codes the setup tells apart (nats-server's errors.json).
const (
	codeNoSuitablePeers    = 10005 // no suitable peers for placement: servers still joining or offline
	codeInvalidConfig      = 10052 // e.g. "can not change storage type"
	codeNameInUse          = 10058 // stream name already in use with a different configuration
	codeSubjectOverlap     = 10065 // subjects overlap with an existing stream
	codeReplicasNotCluster = 10074 // replicas > 1 not supported in non-clustered mode
)

// permanent marks an error that Retry must not retry.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps err so that Retry returns it at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Transient reports whether a JetStream setup error may go away by waiting: timeouts, no responders,
// connection trouble, "JetStream system temporarily unavailable", no suitable peers, insufficient
// resources, leadership changes, JetStream not yet enabled on a booting server (including
// ErrJetStreamDisabled: a server can be restarted with JetStream). False for ErrConnectConfig,
// ErrSetupConflict and Permanent errors, and for other API errors the server answers with a 4xx.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var p permanent
	if errors.As(err, &p) || errors.Is(err, ErrConnectConfig) || errors.Is(err, ErrSetupConflict) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case codeInvalidConfig, codeNameInUse, codeSubjectOverlap, codeReplicasNotCluster:
			return false
		case codeNoSuitablePeers:
			return true
		}
		return api.Code >= 500 || api.Code == 408 || api.Code == 0
	}
	return true // timeouts, no responders, disconnected, reconnecting
}

// Retry runs op until it succeeds, a non-Transient error comes back, or ctx ends. Each attempt gets
// its own context bounded by attempt. Before each wait it calls notify (when non-nil) with the error
// and the wait; waits grow exponentially with jitter (500 ms doubling up to 15 s, ±50 %).
func Retry(ctx context.Context, attempt time.Duration, notify func(err error, wait time.Duration), op func(ctx context.Context) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.RandomizationFactor, b.Multiplier = 500*time.Millisecond, 15*time.Second, 0.5, 2
	b.MaxElapsedTime = 0
	b.Reset()
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !Transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("gave up waiting: %w", err)
		}
		wait := b.NextBackOff()
		if notify != nil {
			notify(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gave up waiting: %w", err)
		case <-t.C:
		}
	}
}

// CheckJetStream asks the server for the account's JetStream information. It returns nil when
// JetStream answers, an error wrapping ErrJetStreamDisabled when the connected server or the account
// has no JetStream, and other errors (a cluster still electing its meta leader) as they come.
func CheckJetStream(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	_, err := js.AccountInfo(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return fmt.Errorf("%w (the server runs JetStream, the account Köprü logs in to does not)", ErrJetStreamDisabled)
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders):
		if on, _ := nc.ConnectedServerJetStream(); on {
			return fmt.Errorf("JetStream is not answering yet on %s (starting up?): %w", nc.ConnectedServerName(), err)
		}
		return fmt.Errorf("%w (server %s at %s)", ErrJetStreamDisabled, nc.ConnectedServerName(), nc.ConnectedUrlRedacted())
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("no answer from JetStream yet (a cluster still electing its meta leader, or servers still joining?): %w", err)
	}
	return fmt.Errorf("JetStream account info: %w", err)
}

// WaitJetStream waits up to d for JetStream to answer (a cluster electing its leaders), for the
// short-lived commands (status, dlq, publish). A server or account without JetStream is reported at once.
func WaitJetStream(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var last error
	err := Retry(ctx, CallTimeout, nil, func(ctx context.Context) error {
		last = CheckJetStream(ctx, nc, js)
		if errors.Is(last, ErrJetStreamDisabled) {
			return Permanent(last)
		}
		return last
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrJetStreamDisabled):
		return last
	}
	return fmt.Errorf("JetStream at %s did not answer within %s: %w", nc.ConnectedUrlRedacted(), d, last)
}

// explain turns a permanent error from creating or updating stream name (subjects subj) into one
// that says what to change, wrapping ErrSetupConflict; transient errors come back as they are.
func explain(ctx context.Context, js jetstream.JetStream, name, subj string, err error) error {
	var api *jetstream.APIError
	if Transient(err) || !errors.As(err, &api) {
		return err
	}
	switch api.ErrorCode {
	case codeSubjectOverlap:
		other := "another stream"
		cctx, cancel := callCtx(ctx)
		if s, lerr := js.StreamNameBySubject(cctx, subj); lerr == nil && s != "" && s != name {
			other = "stream " + s
		}
		cancel()
		return fmt.Errorf("%w: stream %s cannot take %s: %s on this account already captures those subjects (%v); "+
			"delete that stream or narrow its subjects, or run Köprü in an account of its own", ErrSetupConflict, name, subj, other, err)
	case codeReplicasNotCluster:
		return fmt.Errorf("%w: stream %s: this NATS server is not part of a cluster and cannot keep replicas (%v); "+
			"set KOPRU_STREAM_REPLICAS=1 (streams.replicas) or connect to a JetStream cluster", ErrSetupConflict, name, err)
	case codeInvalidConfig, codeNameInUse:
		return fmt.Errorf("%w: stream %s exists with settings Köprü cannot change in place (%v); "+
			"make it match (subjects %s, limits retention, file storage unless configured otherwise) or, once its messages are no longer needed, delete it so Köprü creates it",
			ErrSetupConflict, name, err, subj)
	}
	return fmt.Errorf("%w: stream %s: %v", ErrSetupConflict, name, err)
}

// callCtx bounds one JetStream API call of the setup.
func callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, CallTimeout)
}
