package devstack_test

import (
	"testing"

	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/routes"
)

// Every target of the route registry has one simulator in the dev stack, and Configure sets up every
// registered operation with settings the configuration checks accept.
func TestEverySimulatorServesARegisteredTarget(t *testing.T) {
	sims := map[string]devstack.Simulator{}
	for _, s := range devstack.Simulators() {
		if _, dup := sims[s.Target]; dup {
			t.Errorf("two simulators for %s", s.Target)
		}
		sims[s.Target] = s
	}
	var cfg config.Config
	devstack.Configure(&cfg, "http://127.0.0.1:8090")
	var targets []string
	for _, o := range routes.Operations() {
		if _, ok := sims[o.Target]; !ok {
			t.Errorf("operation %s %s: no simulator for target %s", o.Target, o.Name, o.Target)
		}
		if !o.Configured(cfg) {
			t.Errorf("operation %s %s: not configured by devstack.Configure", o.Target, o.Name)
		}
		targets = append(targets, o.Target)
	}
	if err := cfg.CheckTargets(targets...); err != nil {
		t.Fatal(err)
	}
	for target := range sims {
		found := false
		for _, o := range routes.Operations() {
			found = found || o.Target == target
		}
		if !found {
			t.Errorf("simulator %s stands in for no registered target", target)
		}
	}
}
