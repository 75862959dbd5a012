// Package httpapi serves Köprü's HTTP endpoints on KOPRU_HTTP_ADDR: /metrics, /healthz, /readyz, and
// (when configured) ingest and admin.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Deps is what the handlers need.
type Deps struct {
	Gatherer prometheus.Gatherer
	// Ready returns nil when the process can do its work (NATS connected, streams and consumers in
	// place, targets configured), or an error saying what is missing.
	Ready func(ctx context.Context) error
	// Extra registers more handlers (ingest, admin, ui) on the mux.
	Extra func(mux *http.ServeMux)
}

// NewHandler returns the HTTP handler.
func NewHandler(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: false}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if d.Ready != nil {
			if err := d.Ready(r.Context()); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if d.Extra != nil {
		d.Extra(mux)
	}
	return mux
}

// Starting answers every request with 503 and the reason the process is not serving yet (NATS not
// reachable, JetStream setup waiting for a cluster to elect its leaders), with Retry-After: 5. The app
// serves it, beside /healthz, /readyz and /metrics, until its setup completes.
func Starting(reason func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting", "reason": reason()})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
