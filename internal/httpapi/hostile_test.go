package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/bus"
)

// TestHostileRequestsAreTheCallersMistake (issue 11, items 2, 9, 12): each is a 4xx saying why, not a
// panic or a 503, and changes nothing.
func TestHostileRequestsAreTheCallersMistake(t *testing.T) {
	f := newFixture(t, []string{ingestToken}, []string{adminToken})
	f.seed("rejected", "x")
	ce := `{"specversion":"1.0","id":%s,"source":"s","type":"installation.requested","data":` + string(example(t)) + `}`
	cases := []struct {
		name, method, path, token, ct, body string
		want                                int
		says                                string
	}{
		{"evil+json", "POST", "/v1/events/installation.requested", ingestToken, "application/evil+json", string(example(t)), 415, "Content-Type"},
		{"vnd+json", "POST", "/v1/events/installation.requested", ingestToken, "application/vnd.x+json", string(example(t)), 415, "Content-Type"},
		{"id with leading space", "POST", "/v1/events/installation.requested", ingestToken, "application/cloudevents+json",
			strings.Replace(ce, "%s", `" hostile-lead"`, 1), 400, "no surrounding space"},
		{"id with CRLF", "POST", "/v1/events/installation.requested", ingestToken, "application/cloudevents+json",
			strings.Replace(ce, "%s", `"hostile-crlf\r\n"`, 1), 400, "printable"},
		{"replay rate 2e9", "POST", "/v1/admin/dlq/replay", adminToken, "application/json", `{"all":true,"rate":2e9}`, 400, "rate"},
		{"replay rate negative", "POST", "/v1/admin/dlq/replay", adminToken, "application/json", `{"all":true,"rate":-3}`, 400, "rate"},
		{"route with a space", "GET", "/v1/admin/dlq?route=licrus%20installation", adminToken, "", "", 400, "route"},
		{"purge route with a wildcard", "POST", "/v1/admin/dlq/purge", adminToken, "application/json", `{"route":"*"}`, 400, "route"},
		{"dead letter 0", "GET", "/v1/admin/dlq/0", adminToken, "", "", 404, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do(c.method, c.path, c.token, c.ct, []byte(c.body))
			if resp.StatusCode != c.want || !strings.Contains(string(body), c.says) {
				t.Fatalf("status %d, want %d; body %s (want it to say %s)", resp.StatusCode, c.want, clipBody(body), c.says)
			}
			var p problemResponse
			if err := json.Unmarshal(body, &p); err != nil || p.Error == "" || strings.ContainsAny(p.Error, "\r\n") {
				t.Fatalf("body is not a one-line problem JSON: %s", clipBody(body))
			}
		})
	}
	if f.count(bus.StreamEvents) != 0 || f.count(bus.StreamDLQ) != 1 {
		t.Fatal("a refused request changed a stream")
	}
}
