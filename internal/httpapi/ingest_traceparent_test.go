package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/metrics"
)

// A whole CloudEvent posted with a traceparent that is not W3C trace context is accepted without it,
// and the drop is logged (quoted, clipped, one line) and counted under route="ingest", a series that
// exists from the start.
func TestIngestCountsAndLogsADroppedTraceparent(t *testing.T) {
	bs := bustest.Start(t)
	bs.Ensure(t)
	m := metrics.New(prometheus.NewRegistry())
	dropped := m.TraceparentDropped.WithLabelValues(metrics.TraceparentIngest)
	if n := testutil.CollectAndCount(m.TraceparentDropped); n != 1 {
		t.Fatalf("%d traceparent series before any event, want the ingest one", n)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	mux := http.NewServeMux()
	(&Ingest{Tokens: []string{ingestToken}, Types: []string{"installation.requested"}, Schemas: event.MustLoadSchemas(),
		Publisher: bs.JS, Log: zap.New(core), TraceparentDropped: dropped}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, js: bs.JS, srv: srv}

	bad := "00-zz\n" + strings.Repeat("x", 300)
	env := event.New("installation.requested", "shop", json.RawMessage(example(t)))
	env.ID, env.Traceparent = "tp-bad-1", bad
	body, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if resp, b := f.do("POST", "/v1/events/installation.requested", ingestToken, event.ContentTypeStructured, body); resp.StatusCode != 202 {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	if got := testutil.ToFloat64(dropped); got != 1 {
		t.Fatalf("kopru_traceparent_dropped_total{route=ingest} = %v, want 1", got)
	}
	entries := logs.FilterMessageSnippet("traceparent dropped").All()
	if len(entries) != 1 {
		t.Fatalf("%d warnings, want 1: %v", len(entries), logs.All())
	}
	tp := entries[0].ContextMap()["traceparent"].(string)
	if entries[0].Level != zapcore.WarnLevel || !strings.HasPrefix(tp, `"00-zz\n`) || strings.Contains(tp, "\n") || len(tp) > 120 {
		t.Fatalf("warning %v traceparent %s", entries[0].Level, tp)
	}
	// A good one is neither counted nor logged.
	env.ID, env.Traceparent = "tp-good-1", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	body, _ = env.Marshal()
	if resp, b := f.do("POST", "/v1/events/installation.requested", ingestToken, event.ContentTypeStructured, body); resp.StatusCode != 202 {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	if got := testutil.ToFloat64(dropped); got != 1 || logs.FilterMessageSnippet("traceparent dropped").Len() != 1 {
		t.Fatalf("a good traceparent was counted or logged: %v", got)
	}
}
