package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/httpapi"
)

// TestHostileEventsOverHTTPIngest sends the same corpus through POST /v1/events/{type} as whole
// CloudEvents: each is refused with a one-line 4xx problem and stored nowhere, or — when only the
// mapping can tell (deviceCount 2.0, Unicode-space city) — accepted and then ends as exactly one
// `invalid` dead letter. Nothing reaches the vendor, nothing becomes an outcome.
func TestHostileEventsOverHTTPIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("posts ~90 events, some of several MiB")
	}
	s := newStack(t)
	mux := http.NewServeMux()
	(&httpapi.Ingest{Tokens: []string{"hostile-ingest"}, Types: []string{"installation.requested"}, Schemas: s.app.Schemas,
		Publisher: s.js, Log: zap.NewNop()}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	inputs := hostileInputs(t)
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	accepted := map[[32]byte]string{}
	for _, name := range names {
		b := inputs[name]
		req, _ := http.NewRequest("POST", srv.URL+"/v1/events/installation.requested", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer hostile-ingest")
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			accepted[sha256.Sum256(bytes.TrimSpace(b))] = name
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			var p struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &p) != nil || p.Error == "" || strings.ContainsAny(p.Error, "\r\n") || len(p.Error) > 1000 {
				t.Errorf("%s: %d with a body that is not a one-line problem: %q", name, resp.StatusCode, clipTo(string(body), 200))
			}
		default:
			t.Errorf("%s: answered %d: %s", name, resp.StatusCode, clipTo(string(body), 200))
		}
	}
	if n := streamMsgs(t, s.js, bus.StreamEvents); int(n) != len(accepted) {
		t.Fatalf("EVENTS holds %d messages, %d were accepted", n, len(accepted))
	}
	dl := s.deadLetters(len(accepted), 30*time.Second)
	if len(dl) != len(accepted) {
		t.Fatalf("%d dead letters for %d accepted hostile events", len(dl), len(accepted))
	}
	for _, m := range dl {
		if c := m.Headers().Get(deadletter.HdrErrorClass); c != "invalid" {
			t.Errorf("%s: class %q, want invalid", accepted[sha256.Sum256(m.Data())], c)
		}
	}
	if n := s.sim.Requests(); n != 0 {
		t.Errorf("the simulator saw %d requests, want 0", n)
	}
	if outs := s.outcomes(-1, 100*time.Millisecond); len(outs) != 0 {
		t.Errorf("%d outcomes, want 0", len(outs))
	}
	t.Logf("%d hostile events over HTTP: %d refused with 4xx, %d accepted and dead-lettered as invalid",
		len(inputs), len(inputs)-len(accepted), len(accepted))
}
