// Package routes is Köprü's route registry: every vendor operation the adapters offer, each declared
// once by its adapter's package (an Operations function) and listed here, and the route table built
// from them and the configuration. The run, `kopru status`, the admin API, ingest's accepted types,
// the events API and the dev stack all read it; a route added in configuration is a line of the same
// table. Adding a vendor: its adapter package under internal/adapter with an Operations function,
// one line in Operations below, its configuration section (internal/config) and its simulator
// (internal/sim, mounted by internal/devstack).
package routes

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/adapter/leansoft"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/adapter/licrus/firststart"
	"github.com/kopru/kopru/internal/config"
)

// Operations lists every operation Köprü can route to, in the order of the built-in route table.
func Operations() []adapter.Operation {
	return slices.Concat(licrus.Operations(), firststart.Operations(), leansoft.Operations(), dia.Operations())
}

// Route is one line of the route table of DESIGN.md: events of EventType go to Operation of Target and
// succeed as OutcomeType.
type Route struct {
	Name, EventType, OutcomeType, Target, Operation string
}

// Builtin is the built-in route table: one route per operation.
func Builtin() []Route {
	ops := Operations()
	out := make([]Route, 0, len(ops))
	for _, o := range ops {
		out = append(out, Route{Name: o.Route, EventType: o.EventType, OutcomeType: o.OutcomeType, Target: o.Target, Operation: o.Name})
	}
	return out
}

// Lookup returns the built-in route called name.
func Lookup(name string) (Route, bool) {
	for _, r := range Builtin() {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// Names lists the built-in routes' names.
func Names() []string {
	var out []string
	for _, r := range Builtin() {
		out = append(out, r.Name)
	}
	return out
}

// Find returns the registered operation of target called operation: what a route naming them runs.
func Find(target, operation string) (adapter.Operation, bool) {
	for _, o := range Operations() {
		if o.Target == target && o.Name == operation {
			return o, true
		}
	}
	return adapter.Operation{}, false
}

// Table is Builtin plus the routes the configuration adds: a `routes.<name>` entry that names
// eventType, outcomeType, target and operation (one of Operations) is a route of its own, with its
// own durable consumer, ledger keys, retry budget and dead letters. Its event type must have a schema
// in schemas/. A route runs when its target is configured and it is not disabled.
func Table(cfg config.Config) ([]Route, error) {
	out := Builtin()
	names := make([]string, 0, len(cfg.Routes))
	for name := range cfg.Routes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := cfg.Routes[name]
		if _, builtin := Lookup(name); builtin {
			if rc.EventType != "" || rc.Target != "" || rc.Operation != "" || rc.OutcomeType != "" {
				return nil, fmt.Errorf("routes.%s: a built-in route's event type, target and operation cannot change; add a route under a new name", name)
			}
			continue
		}
		r := Route{Name: name, EventType: rc.EventType, OutcomeType: rc.OutcomeType, Target: rc.Target, Operation: rc.Operation}
		_, known := Find(r.Target, r.Operation)
		switch {
		case !validName(name):
			return nil, fmt.Errorf("routes.%s: a route name is lower-case letters, digits and dashes", name)
		case r.EventType == "" || r.OutcomeType == "":
			return nil, fmt.Errorf("routes.%s: a new route needs eventType and outcomeType", name)
		case !known:
			return nil, fmt.Errorf("routes.%s: unknown target operation %q %q (one of: %s)", name, r.Target, r.Operation, operationList())
		}
		out = append(out, r)
	}
	return out, nil
}

// EventTypes lists the event types some route of table consumes, in table order: the types HTTP
// ingest accepts.
func EventTypes(table []Route) []string {
	var out []string
	for _, r := range table {
		if !slices.Contains(out, r.EventType) {
			out = append(out, r.EventType)
		}
	}
	return out
}

// Targets lists the targets some route of table that cfg enables uses, in table order.
func Targets(cfg config.Config, table []Route) []string {
	var out []string
	for _, r := range table {
		if cfg.RouteEnabled(r.Name) && !slices.Contains(out, r.Target) {
			out = append(out, r.Target)
		}
	}
	return out
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return s != ""
}

func operationList() string {
	var ops []string
	for _, o := range Operations() {
		ops = append(ops, o.Target+" "+o.Name)
	}
	return strings.Join(ops, ", ")
}
