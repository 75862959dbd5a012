package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestTransient(t *testing.T) {
	api := func(code, errCode int) error {
		return fmt.Errorf("create stream: %w", &jetstream.APIError{Code: code, ErrorCode: jetstream.ErrorCode(errCode), Description: "x"})
	}
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"timeout":                  {context.DeadlineExceeded, true},
		"nats timeout":             {nats.ErrTimeout, true},
		"no responders":            {nats.ErrNoResponders, true},
		"not enabled (booting)":    {jetstream.ErrJetStreamNotEnabled, true},
		"cluster not available":    {api(503, 10008), true},
		"no suitable peers":        {api(400, 10005), true},
		"insufficient resources":   {api(503, 10023), true},
		"not leader":               {api(500, 10009), true},
		"subjects overlap":         {api(400, 10065), false},
		"replicas on lone server":  {api(500, 10074), false},
		"cannot change storage":    {api(500, 10052), false},
		"bad request":              {api(400, 10003), false},
		"connection settings":      {fmt.Errorf("%w: bad", ErrConnectConfig), false},
		"conflict":                 {fmt.Errorf("%w: x", ErrSetupConflict), false},
		"permanent":                {Permanent(errors.New("x")), false},
		"cancelled":                {context.Canceled, false},
		"JetStream disabled (run)": {ErrJetStreamDisabled, true},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("%s: Transient(%v) = %v, want %v", name, c.err, got, c.want)
		}
	}
}

func TestRetryBacksOffUntilSuccessAndStopsOnPermanent(t *testing.T) {
	var waits []time.Duration
	n := 0
	err := Retry(context.Background(), time.Second, func(_ error, d time.Duration) { waits = append(waits, d) },
		func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("an attempt without its own deadline")
			}
			if n++; n < 4 {
				return nats.ErrNoResponders
			}
			return nil
		})
	if err != nil || n != 4 || len(waits) != 3 {
		t.Fatalf("err %v after %d attempts, waits %v", err, n, waits)
	}
	for i, d := range waits {
		base := 500 * time.Millisecond << i
		if d < base/2 || d > base*3/2 {
			t.Errorf("wait %d = %s, want %s ±50%%", i, d, base)
		}
	}
	n = 0
	err = Retry(context.Background(), time.Second, nil, func(context.Context) error {
		n++
		return fmt.Errorf("%w: stop", ErrSetupConflict)
	})
	if !errors.Is(err, ErrSetupConflict) || n != 1 {
		t.Fatalf("permanent: %v after %d attempts", err, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = Retry(ctx, time.Second, nil, func(context.Context) error { return nats.ErrTimeout })
	if err == nil || !errors.Is(err, nats.ErrTimeout) || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("ctx end: %v", err)
	}
}

func embedded(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns, err := StartEmbedded(EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return js
}

// TestEnsureExplainsConflicts: what waiting cannot fix fails at once with what to change.
func TestEnsureExplainsConflicts(t *testing.T) {
	js := embedded(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LEGACY", Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	_, err := Ensure(ctx, js, StreamConfig{MemoryStorage: true})
	if !errors.Is(err, ErrSetupConflict) || Transient(err) ||
		!strings.Contains(err.Error(), "stream LEGACY on this account already captures those subjects") ||
		!strings.Contains(err.Error(), "events.>") {
		t.Fatalf("overlap: %v", err)
	}
	if err := js.DeleteStream(ctx, "LEGACY"); err != nil {
		t.Fatal(err)
	}

	_, err = Ensure(ctx, js, StreamConfig{Replicas: 3, MemoryStorage: true})
	if !errors.Is(err, ErrSetupConflict) || !strings.Contains(err.Error(), "KOPRU_STREAM_REPLICAS=1") {
		t.Fatalf("R3 on one server: %v", err)
	}

	if _, err := Ensure(ctx, js, StreamConfig{MemoryStorage: true}); err != nil {
		t.Fatal(err)
	}
	_, err = Ensure(ctx, js, StreamConfig{}) // file storage now: a stream cannot change it in place
	if !errors.Is(err, ErrSetupConflict) || !strings.Contains(err.Error(), "cannot change in place") {
		t.Fatalf("storage change: %v", err)
	}
}
