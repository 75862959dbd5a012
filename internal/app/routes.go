package app

import (
	"fmt"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/adapter/leansoft"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/adapter/licrus/firststart"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/worker"
)

// RouteSpec is one line of the route table of DESIGN.md.
type RouteSpec struct {
	Name, EventType, OutcomeType, Target, Operation string
}

// Table is Köprü's route table. A route runs when its target is configured and it is not disabled.
var Table = []RouteSpec{
	{"licrus-installation", "installation.requested", "installation.call-created", "licrus", licrus.Operation},
	{"licrus-first-start", "first-start.requested", "first-start.form-created", "licrus", "ServiceForm/Create"},
	{"leansoft-customer", "customer.created", "customer.synced", "leansoft", "CustomerSave"},
	{"dia-customer", "customer.created", "customer.synced", "dia", "scf_carikart_ekle"},
	{"dia-service-note", "service-note.created", "service-note.synced", "dia", "gts_notlar_ekle"},
}

// Spec returns the table line of route name.
func Spec(name string) (RouteSpec, bool) {
	for _, s := range Table {
		if s.Name == name {
			return s, true
		}
	}
	return RouteSpec{}, false
}

// RouteTable is Table plus the routes the configuration adds: a `routes.<name>` entry that names
// eventType, outcomeType, target and operation (one of the operations of Table) is a route of its own,
// with its own durable consumer, ledger keys, retry budget and dead letters. Its event type must have
// a schema in schemas/.
func RouteTable(cfg config.Config) ([]RouteSpec, error) {
	out := append([]RouteSpec(nil), Table...)
	names := make([]string, 0, len(cfg.Routes))
	for name := range cfg.Routes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := cfg.Routes[name]
		if _, builtin := Spec(name); builtin {
			if rc.EventType != "" || rc.Target != "" || rc.Operation != "" || rc.OutcomeType != "" {
				return nil, fmt.Errorf("routes.%s: a built-in route's event type, target and operation cannot change; add a route under a new name", name)
			}
			continue
		}
		spec := RouteSpec{Name: name, EventType: rc.EventType, OutcomeType: rc.OutcomeType, Target: rc.Target, Operation: rc.Operation}
		known := false
		for _, t := range Table {
			known = known || (t.Target == spec.Target && t.Operation == spec.Operation)
		}
		switch {
		case !validRouteName(name):
			return nil, fmt.Errorf("routes.%s: a route name is lower-case letters, digits and dashes", name)
		case spec.EventType == "" || spec.OutcomeType == "":
			return nil, fmt.Errorf("routes.%s: a new route needs eventType and outcomeType", name)
		case !known:
			return nil, fmt.Errorf("routes.%s: unknown target operation %q %q (one of: %s)", name, spec.Target, spec.Operation, operations())
		}
		out = append(out, spec)
	}
	return out, nil
}

// runTable is the route registry of a running app: RouteTable(cfg) (Table when the configuration's
// routes do not parse, which only happens when the caller passed its own routes), plus any route the
// app runs that the table does not name (a caller's own routes, in tests).
func runTable(cfg config.Config, running []worker.Route) []RouteSpec {
	table, err := RouteTable(cfg)
	if err != nil {
		table = append([]RouteSpec(nil), Table...)
	}
	for _, r := range running {
		known := false
		for _, s := range table {
			known = known || s.Name == r.Name
		}
		if !known {
			table = append(table, RouteSpec{Name: r.Name, EventType: r.EventType, OutcomeType: r.OutcomeType, Target: r.TargetName, Operation: r.Operation})
		}
	}
	return table
}

func validRouteName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return s != ""
}

func operations() string {
	var ops []string
	for _, t := range Table {
		ops = append(ops, t.Target+" "+t.Operation)
	}
	return strings.Join(ops, ", ")
}

// built is what buildRoutes makes: the routes and the targets to close on shutdown.
type built struct {
	routes  []worker.Route
	closers []adapter.Closer
}

// buildRoutes turns the configuration into runnable routes, each with its adapter, a shared HTTP client
// and limiter per target, and its policy.
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
	table, err := RouteTable(cfg)
	if err != nil {
		return b, err
	}
	var diaSession *dia.Session
	for _, spec := range table {
		if !cfg.RouteEnabled(spec.Name) {
			continue
		}
		var t adapter.Target
		switch spec.Target + " " + spec.Operation {
		case "licrus " + licrus.Operation:
			if cfg.Licrus.URL == "" {
				continue
			}
			lc := licrus.Config{BaseURL: cfg.Licrus.URL, AuthTicket: cfg.Licrus.AuthTicket}
			if err := lc.Validate(); err != nil {
				return b, err
			}
			lt := licrus.New(lc, clientFor("licrus"))
			route := spec.Name
			lt.ParseFailed = func() { m.CallNumberParse.WithLabelValues(route).Inc() }
			t = lt
		case "leansoft CustomerSave":
			if cfg.LeanSoft.URL == "" {
				continue
			}
			lc := leansoft.Config{BaseURL: cfg.LeanSoft.URL, CompanyID: cfg.LeanSoft.CompanyID, AuthHeader: cfg.LeanSoft.AuthHeader,
				AuthValue: cfg.LeanSoft.AuthValue, DefaultReferenceGroupCode: cfg.LeanSoft.ReferenceGroupCode,
				Checksums: leansoft.Checksums{TaxNumber: leansoft.Policy(cfg.LeanSoft.Checksums.TaxNumber),
					UserIdentityNumber: leansoft.Policy(cfg.LeanSoft.Checksums.UserIdentityNumber)}}
			if err := lc.Validate(); err != nil {
				return b, err
			}
			lt := leansoft.New(lc, clientFor("leansoft"))
			route := spec.Name
			for _, c := range []string{"taxNumber", "userIdentityNumber"} {
				m.CheckWarnings.WithLabelValues(route, c)
			}
			lt.Logger = log.With(zap.String("route", route))
			lt.Warned = func(v *leansoft.Violation) { m.CheckWarnings.WithLabelValues(route, v.Check()).Inc() }
			t = lt
		case "licrus ServiceForm/Create":
			if cfg.Licrus.URL == "" {
				continue
			}
			fc := firststart.Default()
			fc.BaseURL, fc.AuthTicket = cfg.Licrus.URL, cfg.Licrus.AuthTicket
			ft, err := firststart.New(fc, clientFor("licrus"))
			if err != nil {
				return b, err
			}
			t = ft
		case "dia scf_carikart_ekle", "dia gts_notlar_ekle":
			if cfg.DIA.URL == "" {
				continue
			}
			if diaSession == nil {
				dc := dia.Config{BaseURL: cfg.DIA.URL, Username: cfg.DIA.Username, Password: cfg.DIA.Password,
					APIKey: cfg.DIA.APIKey, FirmaKodu: cfg.DIA.FirmaKodu, DonemKodu: cfg.DIA.DonemKodu, DisconnectSameUser: cfg.DIA.DisconnectSameUser}
				s, err := dia.NewSession(dc, clientFor("dia"))
				if err != nil {
					return b, err
				}
				diaSession = s
			}
			if spec.Operation == "scf_carikart_ekle" {
				t = dia.NewCustomerTarget(diaSession)
			} else {
				t = dia.NewServiceNoteTarget(diaSession)
			}
		default:
			return b, fmt.Errorf("route %s has no adapter", spec.Name)
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
