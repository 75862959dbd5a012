package worker

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
)

// TestEnsureConsumersKeepsAPause: a worker starting while another worker's open circuit paused the
// route's consumer must not lift the pause (an update without PauseUntil would).
func TestEnsureConsumersKeepsAPause(t *testing.T) {
	s := bustest.Start(t)
	kv := s.Ensure(t)
	schemas, err := event.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	r := Route{Name: "licrus-installation", EventType: "installation.requested", OutcomeType: "installation.call-created",
		TargetName: "licrus", Operation: "ExternalCall/Create",
		Target: adapter.Func(func(context.Context, adapter.Request) (adapter.Result, error) { return adapter.Result{}, nil })}
	newWorker := func() *Worker {
		w, err := New(s.JS, ledger.New(kv, nil), schemas, metrics.New(prometheus.NewRegistry()), zap.NewNop(), []Route{r})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	ctx := context.Background()
	if err := newWorker().EnsureConsumers(ctx); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Minute).UTC()
	if _, err := s.JS.PauseConsumer(ctx, "EVENTS", r.Name, until); err != nil {
		t.Fatal(err)
	}
	w := newWorker()
	if err := w.EnsureConsumers(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := w.Consumers()[r.Name].Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Paused || info.Config.PauseUntil == nil || !info.Config.PauseUntil.Equal(until) {
		t.Fatalf("paused %v until %v, want until %s", info.Paused, info.Config.PauseUntil, until)
	}
	if err := w.EnsureConsumers(ctx); err != nil { // a second call: nothing left to do
		t.Fatal(err)
	}
}
