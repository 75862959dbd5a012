package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/internal/worker"
)

// TestHostileTraceparentsAreDropped publishes every event of testdata/hostile/accepted (fine but for
// its traceparent) on raw NATS and again through HTTP ingest (structured mode, and bare data with a bad
// Traceparent header): each succeeds once, the vendor never sees a traceparent that is not W3C trace
// context nor an injected header, and the target's circuit (threshold 1) never moves (issue 11, item 1).
func TestHostileTraceparentsAreDropped(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "accepted", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("%d accepted hostile events (%v)", len(files), err)
	}
	bs := bustest.Start(t)
	s := &stack{t: t, ns: bs.Server, js: bs.JS, sim: licrussim.New(ticket)}
	srv := httptest.NewServer(s.sim)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/api"
	guard := worker.NewGuard("licrus", worker.GuardConfig{FailureThreshold: 1, OpenFor: time.Minute})
	var moved atomic.Int32
	guard.OnChange(func(int, time.Time) { moved.Add(1) })
	const tok = "ingest-token-for-traceparent-test"
	a, err := app.New(app.Options{
		Config: config.Config{NATS: config.NATS{URL: s.ns.ClientURL()}, HTTPAddr: "127.0.0.1:0", Ingest: config.Tokens{Tokens: []string{tok}}},
		Logger: zap.NewNop(),
		Routes: []worker.Route{s.route(fast, func(r *worker.Route) { r.Guard = guard })},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	s.app = a
	post := func(ct string, body []byte, h map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+"/v1/events/installation.requested", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", ct)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("ingest answered %d", resp.StatusCode)
		}
	}
	want := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s.publishRaw("events.installation.requested", b, m["id"].(string)) // raw NATS, byte for byte
		m["id"] = m["id"].(string) + "-http"
		hb, _ := json.Marshal(m)
		post("application/cloudevents+json", hb, nil) // HTTP ingest, structured mode
		want += 2
	}
	for _, tp := range []string{"00-zz", "00-00000000000000000000000000000000-b7ad6b7169203331-01", "garbage;x=1"} {
		post("application/json", exampleData(t), map[string]string{"Traceparent": tp}) // bare data, bad header
		want++
	}
	outs := s.outcomes(want, 30*time.Second)
	if len(outs) != want {
		t.Fatalf("%d outcomes, want %d (dead letters %d)", len(outs), want, len(s.deadLetters(-1, 100*time.Millisecond)))
	}
	for _, c := range s.sim.Calls() {
		if tp := c.Header.Get("Traceparent"); tp != "" && !event.ValidTraceparent(tp) {
			t.Errorf("vendor received traceparent %q", tp)
		}
		if c.Header.Get("X-Injected") != "" {
			t.Error("an injected header reached the vendor")
		}
	}
	if n := s.sim.CallCount(); n != want {
		t.Errorf("%d calls, want %d", n, want)
	}
	if n := moved.Load(); n != 0 {
		t.Errorf("the circuit changed state %d times", n)
	}
	// Structured ingest decodes the envelope itself (dropping the traceparent before publishing); the raw
	// NATS events and the bare-data ones reach the worker with it and are counted there.
	if got, wantDropped := testutilToFloat(a.Metrics.TraceparentDropped.WithLabelValues("licrus-installation")), len(files)+3; int(got) != wantDropped {
		t.Errorf("kopru_traceparent_dropped_total = %v, want %d", got, wantDropped)
	}
}
