package app

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/httpapi"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/routes"
)

// OpsRoutes is a route table (routes.Table: the built-in routes and the configuration's) as
// internal/ops wants it.
func OpsRoutes(table []routes.Route) []ops.Route {
	out := make([]ops.Route, 0, len(table))
	for _, s := range table {
		out = append(out, ops.Route{Name: s.Name, EventType: s.EventType, Target: s.Target})
	}
	return out
}

// Ops returns the operator library bound to this app's JetStream (after Start).
func (a *App) Ops(ctx context.Context) (*ops.Ops, error) {
	return ops.New(ctx, a.js, ops.Options{Routes: OpsRoutes(a.table), Logger: a.log.Named("ops"), Schemas: a.Schemas,
		Circuit: ops.CircuitFromGatherer(a.reg)})
}

// extraHTTP mounts ingest (POST /v1/events/{type}), the admin API (/v1/admin/), the operator page
// (/ui/) and the OpenAPI document on the app's HTTP server.
func (a *App) extraHTTP(mux *http.ServeMux) {
	httpapi.RegisterOpenAPI(mux)
	ev := a.events()
	ev.Register(mux)
	(&httpapi.Ingest{Tokens: a.cfg.Ingest.Tokens, Types: routes.EventTypes(a.table), Schemas: a.Schemas, Publisher: a.js,
		Log: a.log.Named("ingest"), Events: ev,
		TraceparentDropped: a.Metrics.TraceparentDropped.WithLabelValues(metrics.TraceparentIngest)}).Register(mux)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := a.Ops(ctx)
	if err != nil {
		a.log.Error("admin API and operator page unavailable", zap.Error(err))
		return
	}
	adm := &httpapi.Admin{Tokens: a.cfg.Admin.Tokens, Ops: o, Log: a.log.Named("admin"), Events: ev}
	if kv, err := a.js.KeyValue(ctx, bus.LedgerBucket); err == nil {
		adm.Revocations = httpapi.KVRevocations(kv) // a logout holds on every replica
	} else {
		a.log.Warn("operator-page logouts hold on this replica only", zap.Error(err))
	}
	adm.Register(mux)
}

// events is the event status and Prefer: wait service over the routes this process runs.
func (a *App) events() *httpapi.Events {
	var running []httpapi.EventRoute
	for _, r := range a.routes {
		running = append(running, httpapi.EventRoute{Name: r.Name, EventType: r.EventType, OutcomeType: r.OutcomeType, Target: r.TargetName})
	}
	return &httpapi.Events{IngestTokens: a.cfg.Ingest.Tokens, AdminTokens: a.cfg.Admin.Tokens, Routes: running,
		JS: a.js, NC: a.nc, Ledger: a.ledger, MaxWait: a.cfg.Ingest.MaxWait, Log: a.log.Named("events")}
}
