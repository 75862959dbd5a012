package adapter

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/config"
)

// Operation is one vendor operation an adapter offers Köprü, declared once by the adapter's own
// package (its Operations function) and listed by internal/routes, which every reader of the route
// table goes through: the run, `kopru status`, the admin API, ingest, the events API and the dev stack.
// Its built-in route is Route; a `routes.<name>` entry naming Target and Name adds another.
type Operation struct {
	Target      string // target name: metric label, `targets.<name>` limits, `routes.<name>.target`
	Name        string // the vendor operation, e.g. "ExternalCall/Create" (`routes.<name>.operation`)
	Route       string // the name of its built-in route, e.g. "licrus-installation"
	EventType   string // the built-in route consumes events.<EventType>
	OutcomeType string // and emits outcomes.<OutcomeType> on success
	Section     string // the configuration section that sets the target up, e.g. "licrus" (licrus.url …)
	// Configured reports whether cfg sets the target up (its URL is set): only then do its routes run.
	Configured func(cfg config.Config) bool
	// New builds the adapter of one route from the configuration. It is called once per route at
	// start; a configuration it cannot use is an error that stops the start.
	New func(b Build) (Target, error)
}

// Build is what Operation.New gets.
type Build struct {
	Config config.Config
	Route  string  // the route being built: metric labels, log fields
	Client *Client // the target's HTTP client, shared by its routes
	Log    *zap.Logger
	// The process's counters an adapter adds to (internal/metrics creates them; this package cannot
	// import it): kopru_callnumber_parse_failures_total{route} and kopru_check_warnings_total{route,check}.
	CallNumberParse, CheckWarnings *prometheus.CounterVec
	// Shared returns the value open made for key the first time any route of this start asked for it:
	// state the operations of one target share (DİA's session).
	Shared func(key string, open func() (any, error)) (any, error)
}
