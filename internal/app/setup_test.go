package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
)

// TestStartFailsFastOnAConflict: what waiting cannot fix (another stream already captures events.>)
// ends Start at once with what to change, instead of retrying for ever.
func TestStartFailsFastOnAConflict(t *testing.T) {
	s := bustest.Start(t)
	if _, err := s.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"events.>"},
		Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Config: config.Config{NATS: config.NATS{URL: s.URL}, HTTPAddr: "127.0.0.1:0"}, WaitForNATS: true,
		MemoryStorage: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = a.Start(ctx)
	if !errors.Is(err, bus.ErrSetupConflict) || !strings.Contains(err.Error(), "stream ORDERS") ||
		!strings.Contains(err.Error(), "delete that stream or narrow its subjects") {
		t.Fatalf("Start: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s to give up on a conflict", d)
	}
}
