// Package bus is Köprü's JetStream plumbing: an embedded nats-server for dev and tests, connecting to a
// real one, and creating the streams and the ledger bucket of the public contract idempotently.
//
// StartEmbedded is in embedded.go, Connect and its options in connect.go, Ensure and the stream
// settings here, the setup's retry and error classes (Retry, Transient) in setup.go, and Cluster, an
// in-process cluster for tests and benchmarks, in cluster.go.
package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/event"
)

// Stream and bucket names of the public contract.
const (
	StreamEvents   = "EVENTS"
	StreamOutcomes = "OUTCOMES"
	StreamDLQ      = "DLQ"
	LedgerBucket   = "KOPRU_LEDGER"
)

// StreamConfig sets the durability and retention of Köprü's streams and ledger.
type StreamConfig struct {
	Replicas        int           // 1 or 3
	EventsMaxAge    time.Duration // 0: 7 days
	OutcomesMaxAge  time.Duration // 0: 7 days
	DLQMaxAge       time.Duration // 0: 30 days
	LedgerMaxAge    time.Duration // 0: 30 days; must outlive EventsMaxAge so a redelivery finds its entry
	DuplicateWindow time.Duration // 0: 10 minutes; Nats-Msg-Id dedup window on every stream
	MemoryStorage   bool          // tests only
}

// withDefaults is c with each zero setting replaced by its default.
func (c StreamConfig) withDefaults() StreamConfig {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.EventsMaxAge, 7*24*time.Hour)
	def(&c.OutcomesMaxAge, 7*24*time.Hour)
	def(&c.DLQMaxAge, 30*24*time.Hour)
	def(&c.LedgerMaxAge, 30*24*time.Hour)
	def(&c.DuplicateWindow, 10*time.Minute)
	return c
}

// Validate reports settings JetStream would refuse or that would break idempotency.
func (c StreamConfig) Validate() error {
	c = c.withDefaults()
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		return fmt.Errorf("stream replicas must be 1, 3 or 5, not %d", c.Replicas)
	}
	if c.LedgerMaxAge < c.EventsMaxAge {
		return fmt.Errorf("ledger max age %s is shorter than events max age %s: a late redelivery could call a vendor twice", c.LedgerMaxAge, c.EventsMaxAge)
	}
	return nil
}

// Ensure creates or updates the streams EVENTS, OUTCOMES, DLQ and the ledger bucket. It is idempotent
// and safe to run from every worker at start-up. Each JetStream call has its own CallTimeout. It makes
// one pass: run it under Retry to wait out a cluster that is still electing. An error Transient says
// nothing about may be waited out; one wrapping ErrSetupConflict says what to change on the server.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.KeyValue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	storage := jetstream.FileStorage
	if cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	dup := func(maxAge time.Duration) time.Duration { return min(cfg.DuplicateWindow, maxAge) }
	streams := []jetstream.StreamConfig{
		{Name: StreamEvents, Subjects: []string{"events.>"}, MaxAge: cfg.EventsMaxAge, Duplicates: dup(cfg.EventsMaxAge),
			MaxMsgSize: event.MaxSize, Description: "Domain events for Köprü routes (events.<type>)"},
		{Name: StreamOutcomes, Subjects: []string{"outcomes.>"}, MaxAge: cfg.OutcomesMaxAge, Duplicates: dup(cfg.OutcomesMaxAge),
			Description: "Köprü outcomes (outcomes.<type>)"},
		{Name: StreamDLQ, Subjects: []string{"dlq.>"}, MaxAge: cfg.DLQMaxAge, Duplicates: dup(cfg.DLQMaxAge),
			Description: "Köprü dead letters (dlq.<route>)", AllowDirect: true},
	}
	for _, sc := range streams {
		sc.Storage = storage
		sc.Replicas = cfg.Replicas
		sc.Retention = jetstream.LimitsPolicy
		sc.Discard = jetstream.DiscardOld
		cctx, cancel := callCtx(ctx)
		_, err := js.CreateOrUpdateStream(cctx, sc)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("create or update stream %s: %w", sc.Name, explain(ctx, js, sc.Name, sc.Subjects[0], err))
		}
	}
	cctx, cancel := callCtx(ctx)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(cctx, jetstream.KeyValueConfig{
		Bucket:      LedgerBucket,
		Description: "Köprü idempotency ledger: (route, event id) → started | retrying | succeeded | dead",
		History:     1,
		TTL:         cfg.LedgerMaxAge,
		Storage:     storage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update ledger bucket %s: %w", LedgerBucket,
			explain(ctx, js, "KV_"+LedgerBucket, "$KV."+LedgerBucket+".>", err))
	}
	return kv, nil
}
