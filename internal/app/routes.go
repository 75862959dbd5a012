package app

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/worker"
)

// runTable is the route table of a running app: routes.Table(cfg) (the built-in table when the
// configuration's routes do not parse, which only happens when the caller passed its own routes), plus
// any route the app runs that the table does not name (a caller's own routes, in tests).
func runTable(cfg config.Config, running []worker.Route) []routes.Route {
	table, err := routes.Table(cfg)
	if err != nil {
		table = routes.Builtin()
	}
	for _, r := range running {
		known := false
		for _, s := range table {
			known = known || s.Name == r.Name
		}
		if !known {
			table = append(table, routes.Route{Name: r.Name, EventType: r.EventType, OutcomeType: r.OutcomeType, Target: r.TargetName, Operation: r.Operation})
		}
	}
	return table
}

// built is what buildRoutes makes: the routes and the targets to close on shutdown.
type built struct {
	routes  []worker.Route
	closers []adapter.Closer
}

// buildRoutes turns the configuration into runnable routes: each enabled route of routes.Table(cfg)
// whose target is configured, with the adapter its registered operation builds, a shared HTTP client
// and guard per target, and its policy.
func buildRoutes(cfg config.Config, m *metrics.Metrics, log *zap.Logger) (built, error) {
	if log == nil {
		log = zap.NewNop()
	}
	var b built
	clients := map[string]*adapter.Client{}
	guards := map[string]*worker.Guard{}
	clientFor := func(name string) *adapter.Client {
		if c, ok := clients[name]; ok {
			return c
		}
		tc := cfg.Targets[name]
		conc := tc.Concurrency
		if conc <= 0 {
			conc = 64
		}
		c := &adapter.Client{HTTP: adapter.NewHTTPClient(conc), Target: name, Observe: m.ObserveTarget}
		clients[name] = c
		guards[name] = worker.NewGuard(name, worker.GuardConfig{Concurrency: conc, Rate: tc.Rate, Burst: tc.Burst,
			FailureThreshold: tc.FailureThreshold, OpenFor: tc.OpenFor})
		return c
	}
	shared := map[string]any{}
	share := func(key string, open func() (any, error)) (any, error) {
		if v, ok := shared[key]; ok {
			return v, nil
		}
		v, err := open()
		if err == nil {
			shared[key] = v
		}
		return v, err
	}
	table, err := routes.Table(cfg)
	if err != nil {
		return b, err
	}
	for _, spec := range table {
		if !cfg.RouteEnabled(spec.Name) {
			continue
		}
		op, ok := routes.Find(spec.Target, spec.Operation)
		if !ok {
			return b, fmt.Errorf("route %s has no adapter", spec.Name)
		}
		if !op.Configured(cfg) {
			continue
		}
		t, err := op.New(adapter.Build{Config: cfg, Route: spec.Name, Client: clientFor(spec.Target), Log: log,
			CallNumberParse: m.CallNumberParse, CheckWarnings: m.CheckWarnings, Shared: share})
		if err != nil {
			return b, err
		}
		rc := cfg.Routes[spec.Name]
		b.routes = append(b.routes, worker.Route{
			Name: spec.Name, EventType: spec.EventType, OutcomeType: spec.OutcomeType,
			TargetName: spec.Target, Operation: spec.Operation, Target: t, Guard: guards[spec.Target],
			Policy: worker.Policy{Concurrency: rc.Concurrency, MaxAttempts: rc.MaxAttempts, MaxDeliveries: rc.MaxDeliveries,
				AttemptTimeout: rc.AttemptTimeout, AckWait: rc.AckWait, MaxAckPending: rc.MaxAckPending,
				InitialInterval: rc.InitialInterval, MaxInterval: rc.MaxInterval, InProcessWait: rc.InProcessWait},
		})
		if c, ok := t.(adapter.Closer); ok {
			b.closers = append(b.closers, c)
		}
	}
	return b, nil
}
