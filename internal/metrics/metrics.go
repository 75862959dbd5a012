// Package metrics defines every Prometheus series Köprü exports. Names are part of the public contract
// (DESIGN.md): dashboards and alerts depend on them. Metrics are registered on an injected registry and
// every label value comes from a fixed set created up front, so series start at 0.
package metrics

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Results of an event on one route (label "result" of kopru_events_total).
const (
	ResultSucceeded = "succeeded"
	ResultDuplicate = "duplicate"
	// A dead-lettered event's result is its dead-letter class.
	ResultInvalid   = string(deadletter.Invalid)
	ResultRejected  = string(deadletter.Rejected)
	ResultExhausted = string(deadletter.Exhausted)
	ResultAmbiguous = string(deadletter.Ambiguous)
)

// Results lists every result label value.
var Results = append([]string{ResultSucceeded, ResultDuplicate}, deadletter.ClassNames()...)

// RetryReasons lists the reason label values of kopru_retries_total.
var RetryReasons = []string{"not_sent", "retryable", "retry_after", "session", "circuit_open", "lease_wait"}

// StatusClasses lists the status_class label values of the request duration histogram.
var StatusClasses = []string{"2xx", "3xx", "4xx", "5xx", "error"}

// LedgerOps lists the op label values of kopru_ledger_operations_total.
var LedgerOps = []string{"create", "update", "get", "delete"}

// Version and Commit are set at build time (-ldflags "-X github.com/kopru/kopru/internal/metrics.Version=…
// -X …/metrics.Commit=…"); see Build for what is used when they are not.
var (
	Version = "dev"
	Commit  = ""
)

// Build says what this binary is: Version and Commit as set at build time, else the module version and
// VCS revision Go recorded (a "-dirty" suffix for uncommitted changes), and the Go version. Unknown
// parts are "unknown". Safe for concurrent use.
func Build() (version, commit, goVersion string) {
	version, commit = Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if commit == "" {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "-dirty"
					}
				}
			}
			if rev != "" {
				commit = rev + dirty
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	return version, commit, runtime.Version()
}

// Metrics holds every collector. Methods are safe for concurrent use.
type Metrics struct {
	EventsReceived  *prometheus.CounterVec   // route
	Events          *prometheus.CounterVec   // route, result
	Attempts        *prometheus.CounterVec   // route
	Retries         *prometheus.CounterVec   // route, reason
	CallFailures    *prometheus.CounterVec   // route, class, reason: adapter.Reason, a fixed set
	TargetDuration  *prometheus.HistogramVec // target, operation, status_class
	Inflight        *prometheus.GaugeVec     // route
	Pending         *prometheus.GaugeVec     // route
	AckPending      *prometheus.GaugeVec     // route
	DLQMessages     *prometheus.GaugeVec     // route
	DLQOldestAge    *prometheus.GaugeVec     // route
	EndToEnd        *prometheus.HistogramVec // route
	Circuit         *prometheus.GaugeVec     // target
	CallNumberParse *prometheus.CounterVec   // route
	CheckWarnings   *prometheus.CounterVec   // route, check: failed checks under policy warn, per call sent (retries count again)
	LedgerOps       *prometheus.CounterVec   // op, result
	BuildInfo       *prometheus.GaugeVec     // version, goversion, commit
	// TraceparentDropped counts events whose traceparent was not W3C trace context and was dropped.
	TraceparentDropped *prometheus.CounterVec // route, or TraceparentIngest

	// Series of the hot path resolved once, so an event pays a map read rather than a label lookup
	// (hashing and validating every label value) per observation.
	ledgerOps map[[2]string]prometheus.Counter // op, result: every pair, filled by New, read-only after
	targets   sync.Map                         // [3]string{target, operation, status_class} → prometheus.Observer
}

// New creates and registers every collector on reg (and the Go and process collectors).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_events_received_total",
			Help: "Events delivered to a route's worker, redeliveries included."}, []string{"route"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_events_total",
			Help: "Events finished per route and result."}, []string{"route", "result"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_attempts_total",
			Help: "Calls made to a target per route, retries included."}, []string{"route"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_retries_total",
			Help: "Retries per route and reason."}, []string{"route", "reason"}),
		CallFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_call_failures_total",
			Help: "Failed vendor calls and natural-key lookups per route, error class and reason (a fixed set; circuit_open and limit are the guard refusing before a call)."}, []string{"route", "class", "reason"}),
		TargetDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kopru_target_request_duration_seconds",
			Help:    "Duration of vendor HTTP requests.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"target", "operation", "status_class"}),
		Inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_inflight_events",
			Help: "Events being handled by this process per route."}, []string{"route"}),
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_consumer_pending_messages",
			Help: "Messages not yet delivered to the route's durable consumer."}, []string{"route"}),
		AckPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_consumer_ack_pending_messages",
			Help: "Messages delivered to the route's consumer and not yet acknowledged."}, []string{"route"}),
		DLQMessages: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_dlq_messages",
			Help: "Dead letters waiting on dlq.<route>."}, []string{"route"}),
		DLQOldestAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_dlq_oldest_age_seconds",
			Help: "Age of the oldest dead letter on dlq.<route> (0 when none)."}, []string{"route"}),
		EndToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kopru_event_end_to_end_seconds",
			Help:    "From the event's time (when absurd, from when JetStream stored it) to its outcome or dead letter.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}}, []string{"route"}),
		Circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_circuit_state",
			Help: "Circuit breaker per target: 0 closed, 1 half-open, 2 open."}, []string{"target"}),
		CallNumberParse: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_callnumber_parse_failures_total",
			Help: "Successful vendor answers whose call number could not be parsed."}, []string{"route"}),
		CheckWarnings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_check_warnings_total",
			Help: "Failed Köprü-added checks under policy warn (e.g. a TCKN checksum), counted per call sent: each retry of an event counts again."}, []string{"route", "check"}),
		LedgerOps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_ledger_operations_total",
			Help: "Idempotency ledger operations per op and result (ok, exists, conflict, error)."}, []string{"op", "result"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kopru_build_info",
			Help: "Always 1; labels say what was built."}, []string{"version", "goversion", "commit"}),
	}
	reg.MustRegister(m.EventsReceived, m.Events, m.Attempts, m.Retries, m.CallFailures, m.TargetDuration, m.Inflight, m.Pending,
		m.AckPending, m.DLQMessages, m.DLQOldestAge, m.EndToEnd, m.Circuit, m.CallNumberParse, m.CheckWarnings, m.LedgerOps, m.BuildInfo)
	m.TraceparentDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kopru_traceparent_dropped_total",
		Help: "Events whose traceparent was not W3C trace context; it was dropped and the event handled without it."}, []string{"route"})
	reg.MustRegister(m.TraceparentDropped)
	m.TraceparentDropped.WithLabelValues(TraceparentIngest)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	version, commit, goVersion := Build()
	m.BuildInfo.WithLabelValues(version, goVersion, commit).Set(1)
	m.ledgerOps = map[[2]string]prometheus.Counter{}
	for _, op := range LedgerOps {
		for _, r := range []string{"ok", "exists", "conflict", "error"} {
			m.ledgerOps[[2]string{op, r}] = m.LedgerOps.WithLabelValues(op, r)
		}
	}
	return m
}

// ObserveLedger counts one ledger operation; it has the shape of ledger.Observer.
func (m *Metrics) ObserveLedger(op, result string) {
	if c, ok := m.ledgerOps[[2]string{op, result}]; ok {
		c.Inc()
		return
	}
	m.LedgerOps.WithLabelValues(op, result).Inc()
}

// TraceparentIngest is the route label of kopru_traceparent_dropped_total for traceparents dropped at
// HTTP ingest (a whole CloudEvent posted with a bad one), before any route sees the event.
const TraceparentIngest = "ingest"

// AddRoute creates every series of one route, so dashboards see zeros rather than gaps.
func (m *Metrics) AddRoute(route string) {
	m.EventsReceived.WithLabelValues(route)
	for _, r := range Results {
		m.Events.WithLabelValues(route, r)
	}
	m.Attempts.WithLabelValues(route)
	for _, r := range RetryReasons {
		m.Retries.WithLabelValues(route, r)
	}
	m.Inflight.WithLabelValues(route)
	m.Pending.WithLabelValues(route)
	m.AckPending.WithLabelValues(route)
	m.DLQMessages.WithLabelValues(route)
	m.DLQOldestAge.WithLabelValues(route)
	m.EndToEnd.WithLabelValues(route)
	m.CallNumberParse.WithLabelValues(route)
	m.TraceparentDropped.WithLabelValues(route)
}

// AddTarget creates the series of one target operation.
func (m *Metrics) AddTarget(target, operation string) {
	m.Circuit.WithLabelValues(target)
	for _, c := range StatusClasses {
		m.TargetDuration.WithLabelValues(target, operation, c)
	}
}

// ObserveTarget records one vendor request; it has the shape of target.Observer.
func (m *Metrics) ObserveTarget(target, operation, statusClass string, d time.Duration) {
	key := [3]string{target, operation, statusClass}
	o, ok := m.targets.Load(key)
	if !ok {
		o, _ = m.targets.LoadOrStore(key, m.TargetDuration.WithLabelValues(target, operation, statusClass))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}
