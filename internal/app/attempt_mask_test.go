package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/sim"
)

// The attempt history GET /v1/events/{id} serves to ingest-token holders masks personal data in the
// vendor's message (a phone number here), as log lines do.
func TestEventAttemptErrorIsMasked(t *testing.T) {
	h := newHTTPStack(t, 0)
	h.sim.Faults.Push(sim.Fault{VendorError: "Telefon 05321234567 hatalı"})
	if code, _, sb := h.post("form-mask", 10); code != 200 || sb.Routes[0].State != "dead-lettered" || len(sb.Routes[0].Attempts) != 1 {
		t.Fatalf("rejected event: %d %+v", code, sb)
	}
	req, _ := http.NewRequest("GET", h.base+"/v1/events/form-mask", nil)
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "hatal") {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "05321234567") || !strings.Contains(string(body), "05*******67") {
		t.Fatalf("the phone number is served unmasked: %s", body)
	}
}
