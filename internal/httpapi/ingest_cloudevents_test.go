package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
)

// binaryHeaders are the ce-* headers of a binary-mode installation request, as name/value pairs.
func binaryHeaders(id string, extra ...string) []string {
	return append([]string{"Ce-Specversion", "1.0", "Ce-Id", id, "Ce-Source", "urn:shop", "Ce-Type", "installation.requested",
		"Ce-Time", "2026-11-03T10:00:00+03:00", "Ce-Subject", "order/9", "Ce-Dataschema", "urn:schema:x",
		"Ce-Tenant", "acme", "Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, extra...)
}

// A binary-mode request: ce-id is the id and the dedup key, every attribute is stored, and the stored
// event is the structured document of the same CloudEvent.
func TestIngestBinaryModeKeepsIDAndAttributes(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, nil)
	for i, wantDup := range []bool{false, true} {
		resp, b := f.do("POST", "/v1/events/installation.requested", ingestToken, "application/json", example(t), binaryHeaders("bin-1")...)
		var r ingestResponse
		_ = json.Unmarshal(b, &r)
		if resp.StatusCode != 202 || r.ID != "bin-1" || r.Duplicate != wantDup {
			t.Fatalf("send %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if n := f.count(bus.StreamEvents); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
	s, _ := f.js.Stream(context.Background(), bus.StreamEvents)
	m, _ := s.GetMsg(context.Background(), 1)
	env, err := event.Decode(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := env.Extension("tenant")
	if env.ID != "bin-1" || m.Header.Get(nats.MsgIdHdr) != "bin-1" || env.Source != "urn:shop" || env.Time != "2026-11-03T10:00:00+03:00" ||
		env.Subject != "order/9" || env.DataSchema != "urn:schema:x" || tenant != "acme" ||
		env.Traceparent != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" || env.DataContentType != "application/json" {
		t.Fatalf("stored %s", m.Data)
	}
}

func TestIngestBinaryModeRefusals(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, nil)
	for _, c := range []struct {
		name string
		hdr  []string
		ct   string
		want int
		says string
	}{
		{"type against the path", binaryHeaders("b1", "Ce-Type", "customer.created"), "application/json", 400, "does not match the path"},
		{"old specversion", binaryHeaders("b2", "Ce-Specversion", "0.3"), "application/json", 400, "specversion"},
		{"no id", binaryHeaders("", "Ce-Id", ""), "application/json", 400, "id"},
		{"bad time", binaryHeaders("b3", "Ce-Time", "yesterday"), "application/json", 400, "time"},
		{"bad extension name", binaryHeaders("b4", "Ce-Bad_name", "x"), "application/json", 400, "attribute"},
		{"two ids", binaryHeaders("b5", "Idempotency-Key", "other"), "application/json", 400, "differs from ce-id"},
		{"not json data", binaryHeaders("b6"), "text/plain", 415, "Content-Type"},
		{"batch", nil, event.ContentTypeBatch, 415, "batch mode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := f.do("POST", "/v1/events/installation.requested", ingestToken, c.ct, example(t), c.hdr...)
			if resp.StatusCode != c.want || !strings.Contains(string(b), c.says) {
				t.Fatalf("%d %s, want %d saying %q", resp.StatusCode, b, c.want, c.says)
			}
			t.Logf("%d %s", resp.StatusCode, b)
		})
	}
	if n := f.count(bus.StreamEvents); n != 0 {
		t.Fatalf("%d events stored by refused requests", n)
	}
}
