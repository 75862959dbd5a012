package app_test

import (
	"strings"
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

func TestRouteTableRefusesWhatCannotRun(t *testing.T) {
	cases := []struct {
		name  string
		route config.Route
		rname string
		want  string
	}{
		{"unknown operation", config.Route{EventType: "customer.created", OutcomeType: "x", Target: "dia", Operation: "stk_ekle"}, "dia-stock", "unknown target operation"},
		{"missing types", config.Route{Target: "dia", Operation: "scf_carikart_ekle"}, "dia-2", "needs eventType"},
		{"built-in moved", config.Route{EventType: "customer.created"}, "licrus-installation", "cannot change"},
		{"bad name", config.Route{EventType: "a", OutcomeType: "b", Target: "dia", Operation: "scf_carikart_ekle"}, "Dia_2", "lower-case"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routes.Table(config.Config{Routes: map[string]config.Route{tc.rname: tc.route}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
