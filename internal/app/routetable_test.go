package app_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/routes"
)

func TestRouteTableFromConfiguration(t *testing.T) {
	off := false
	var cfg config.Config
	devstack.Configure(&cfg, "http://127.0.0.1:1")
	cfg.Routes = map[string]config.Route{
		"dia-service-note": {Enabled: &off},
		"leansoft-customer-archive": {EventType: "customer.created", OutcomeType: "customer.synced",
			Target: "leansoft", Operation: "CustomerSave", Concurrency: 3},
	}
	table, err := routes.Table(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != len(routes.Builtin())+1 || table[len(table)-1].Name != "leansoft-customer-archive" {
		t.Fatalf("table %+v", table)
	}
	got, err := app.BuildRoutesForTest(cfg, metrics.New(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, r := range got {
		names[r.Name] = r.Policy.Concurrency
	}
	if _, ok := names["dia-service-note"]; ok {
		t.Fatal("a disabled route was built")
	}
	if c, ok := names["leansoft-customer-archive"]; !ok || c != 3 {
		t.Fatalf("added route missing or without its policy: %v", names)
	}
	if len(names) != len(routes.Builtin()) { // five built-in, one disabled, one added
		t.Fatalf("routes %v", names)
	}
}
