package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A --metrics page kopru status cannot read leaves the circuits "closed/unknown" and says why on
// stderr, in one line.
func TestCLIStatusSaysWhyCircuitsAreUnknown(t *testing.T) {
	e := newCLIEnv(t)
	e.seed("rejected", "serial unknown")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "kopru_circuit_state{target=\""+strings.Repeat("a", 1<<20)+"\n")
	}))
	t.Cleanup(srv.Close)
	code, out, stderr := runCLI(t, "", "status", "--metrics", srv.URL)
	if code != 0 || !strings.Contains(out, "closed/unknown") {
		t.Fatalf("%d %s %s", code, out, stderr)
	}
	if !strings.Contains(stderr, "circuit states unknown") || !strings.Contains(stderr, "not in the Prometheus text format") ||
		len(stderr) > 1000 || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr %d bytes: %.300s", len(stderr), stderr)
	}
}
