package routes_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/routes"
)

// The built-in route table is public contract (DESIGN.md): route names are durable consumer names,
// ledger key prefixes and dlq.<route> subjects.
func TestBuiltinTable(t *testing.T) {
	want := []routes.Route{
		{"licrus-installation", "installation.requested", "installation.call-created", "licrus", "ExternalCall/Create"},
		{"licrus-first-start", "first-start.requested", "first-start.form-created", "licrus", "ServiceForm/Create"},
		{"leansoft-customer", "customer.created", "customer.synced", "leansoft", "CustomerSave"},
		{"dia-customer", "customer.created", "customer.synced", "dia", "scf_carikart_ekle"},
		{"dia-service-note", "service-note.created", "service-note.synced", "dia", "gts_notlar_ekle"},
	}
	if got := routes.Builtin(); !slices.Equal(got, want) {
		t.Fatalf("built-in table\n got %+v\nwant %+v", got, want)
	}
	if got := routes.EventTypes(want); !slices.Equal(got, []string{"installation.requested", "first-start.requested", "customer.created", "service-note.created"}) {
		t.Fatalf("event types %v", got)
	}
}

// Every registered operation is complete and named once.
func TestOperationsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range routes.Operations() {
		key := o.Target + " " + o.Name
		switch {
		case o.Target == "" || o.Name == "" || o.Route == "" || o.EventType == "" || o.OutcomeType == "" || o.Section == "":
			t.Errorf("%s: incomplete %+v", key, o)
		case o.New == nil || o.Configured == nil:
			t.Errorf("%s: no constructor or configured check", key)
		case seen[key] || seen[o.Route]:
			t.Errorf("%s (route %s) registered twice", key, o.Route)
		}
		seen[key], seen[o.Route] = true, true
		if o.Configured(config.Config{}) {
			t.Errorf("%s: configured by the zero configuration", key)
		}
		if r, ok := routes.Lookup(o.Route); !ok || r.Operation != o.Name {
			t.Errorf("%s: Lookup(%s) = %+v %v", key, o.Route, r, ok)
		}
	}
}

// The README's route table is the registry's: one row per built-in route, with its event subject,
// its operation and its outcome subject.
func TestReadmeRouteTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Routes\n")
	if !ok {
		t.Fatal("README has no Routes section")
	}
	rows := map[string][]string{}
	var order []string
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "| `") {
			if len(order) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name := strings.Trim(cells[0], "`")
		rows[name], order = cells, append(order, name)
	}
	if !slices.Equal(order, routes.Names()) {
		t.Fatalf("README routes %v, registry %v", order, routes.Names())
	}
	for _, r := range routes.Builtin() {
		c := rows[r.Name]
		if len(c) != 4 || c[1] != "`events."+r.EventType+"`" || !strings.Contains(c[2], r.Operation) ||
			!strings.HasPrefix(c[3], "`outcomes."+r.OutcomeType+"`") {
			t.Errorf("README row of %s: %q, want events.%s, %s, outcomes.%s", r.Name, c, r.EventType, r.Operation, r.OutcomeType)
		}
	}
}

func TestTableAddsConfiguredRoutes(t *testing.T) {
	off := false
	cfg := config.Config{Routes: map[string]config.Route{
		"dia-service-note": {Enabled: &off},
		"leansoft-customer-archive": {EventType: "customer.created", OutcomeType: "customer.synced",
			Target: "leansoft", Operation: "CustomerSave"},
	}}
	table, err := routes.Table(cfg)
	if err != nil {
		t.Fatal(err)
	}
	added := routes.Route{Name: "leansoft-customer-archive", EventType: "customer.created", OutcomeType: "customer.synced",
		Target: "leansoft", Operation: "CustomerSave"}
	if want := append(routes.Builtin(), added); !slices.Equal(table, want) {
		t.Fatalf("table %+v", table)
	}
	if got := routes.Targets(cfg, table); !slices.Equal(got, []string{"licrus", "leansoft", "dia"}) {
		t.Fatalf("targets %v", got)
	}
}

func TestTableRefusesWhatCannotRun(t *testing.T) {
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
	_, err := routes.Table(config.Config{Routes: map[string]config.Route{"dia-stock": {EventType: "a", OutcomeType: "b", Target: "dia", Operation: "stk_ekle"}}})
	want := `routes.dia-stock: unknown target operation "dia" "stk_ekle" (one of: licrus ExternalCall/Create, licrus ServiceForm/Create, leansoft CustomerSave, dia scf_carikart_ekle, dia gts_notlar_ekle)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant  %s", err, want)
	}
}
