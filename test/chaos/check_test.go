package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck makes sure the invariants catch what they are meant to catch.
func TestCheck(t *testing.T) {
	routes := routesOf()
	pubOf := func(typ string, k kind) map[string]published {
		return map[string]published{"E1": {id: "E1", typ: typ, kind: k}}
	}
	out := func(result string, ids ...string) *outcomeRec {
		o := &outcomeRec{ids: map[string]bool{}, result: result, msgs: len(ids)}
		for _, id := range ids {
			o.ids[id] = true
		}
		return o
	}
	dead := func(class string, n int) *deadRec {
		d := &deadRec{msgs: n}
		for i := 0; i < n; i++ {
			d.classes, d.errs = append(d.classes, class), append(d.errs, "x")
		}
		return d
	}
	recs := func(results ...string) []vendorRec {
		var rs []vendorRec
		for _, r := range results {
			rs = append(rs, vendorRec{result: r})
		}
		return rs
	}
	const inst = "licrus-installation"
	k := key{inst, "E1"}
	tests := []struct {
		name    string
		typ     string
		kind    kind
		c       collected
		want    string // substring of the one violation; "" = none
		missing bool
	}{
		{name: "outcome matching one call", c: collected{outcomes: map[key]*outcomeRec{k: out("43090", "o1")}, vendor: map[key][]vendorRec{k: recs("43090")}}},
		{name: "outcome with two calls", c: collected{outcomes: map[key]*outcomeRec{k: out("43090", "o1")}, vendor: map[key][]vendorRec{k: recs("43090", "43091")}}, want: "2 accepted vendor records"},
		{name: "outcome without a call", c: collected{outcomes: map[key]*outcomeRec{k: out("43090", "o1")}}, want: "0 accepted vendor records"},
		{name: "outcome naming another record", c: collected{outcomes: map[key]*outcomeRec{k: out("43091", "o1")}, vendor: map[key][]vendorRec{k: recs("43090")}}, want: "the vendor's record"},
		{name: "outcomes with different ids", c: collected{outcomes: map[key]*outcomeRec{k: out("43090", "o1", "o2")}, vendor: map[key][]vendorRec{k: recs("43090")}}, want: "different ids"},
		{name: "ambiguous after two calls", c: collected{dead: map[key]*deadRec{k: dead("ambiguous", 1)}, vendor: map[key][]vendorRec{k: recs("1", "2")}}},
		{name: "ambiguous without a call", c: collected{dead: map[key]*deadRec{k: dead("ambiguous", 1)}}},
		{name: "exhausted after a call that acted", c: collected{dead: map[key]*deadRec{k: dead("exhausted", 1)}, vendor: map[key][]vendorRec{k: recs("1")}}, want: "only an ambiguous dead letter"},
		{name: "two dead letters", c: collected{dead: map[key]*deadRec{k: dead("ambiguous", 2)}}, want: "2 dead letters"},
		{name: "outcome and dead letter", c: collected{outcomes: map[key]*outcomeRec{k: out("1", "o1")}, dead: map[key]*deadRec{k: dead("ambiguous", 1)}, vendor: map[key][]vendorRec{k: recs("1")}}, want: "both an outcome and a dead letter"},
		{name: "nothing", missing: true},
		{name: "invalid event dead-lettered as invalid", kind: kindInvalid, c: collected{dead: map[key]*deadRec{k: dead("invalid", 1)}}},
		{name: "invalid event with an outcome", kind: kindInvalid, c: collected{outcomes: map[key]*outcomeRec{k: out("1", "o1")}, vendor: map[key][]vendorRec{k: recs("1")}}, want: "must fail"},
		{name: "valid event dead-lettered as invalid", c: collected{dead: map[key]*deadRec{k: dead("invalid", 1)}}, want: "dead-lettered as invalid"},
		{name: "duplicate DİA card", typ: "customer.created", c: collected{cardsDup: map[string]int{"E1": 2},
			outcomes: map[key]*outcomeRec{{"dia-customer", "E1"}: out("7", "o1"), {"leansoft-customer", "E1"}: out("g", "o2")},
			vendor:   map[key][]vendorRec{{"dia-customer", "E1"}: recs("7"), {"leansoft-customer", "E1"}: recs("g")}}, want: "2 customer cards"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			if typ == "" {
				typ = "installation.requested"
			}
			c := tc.c
			if c.outcomes == nil {
				c.outcomes = map[key]*outcomeRec{}
			}
			if c.dead == nil {
				c.dead = map[key]*deadRec{}
			}
			v := check(&c, pubOf(typ, tc.kind), routes)
			if tc.missing != (len(v.missing) == 1) {
				t.Fatalf("missing = %v", v.missing)
			}
			switch {
			case tc.want == "" && len(v.violations) > 0:
				t.Fatalf("unexpected violations: %v", v.violations)
			case tc.want != "" && (len(v.violations) != 1 || !strings.Contains(v.violations[0], tc.want)):
				t.Fatalf("violations %q, want one containing %q", v.violations, tc.want)
			}
		})
	}
}

func TestForbiddenHasDigitForms(t *testing.T) {
	have := map[string]bool{}
	for _, n := range forbidden() {
		have[n.value] = true
	}
	for _, v := range []string{"dev-licrus-ticket", "5339999999", "3522223344", "905325556677", "7345123090", "10000000146"} {
		if !have[v] {
			t.Errorf("forbidden() lacks %q", v)
		}
	}
}

func TestScanLogsFindsLeaks(t *testing.T) {
	dir := t.TempDir()
	log := `{"level":"info","msg":"ok","event_id":"01M829RKW4JA65VNZYSHWTSBTR"}
{"level":"warn","msg":"call failed","error":"session 0123456789abcdef0123456789abcdef refused"}
{"level":"error","msg":"bad","body":"CustomerTaxNo 7345123090"}
`
	if err := os.WriteFile(filepath.Join(dir, "worker-1.log"), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := scanLogs(dir, []string{"0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.leaks) != 2 || !strings.Contains(r.leaks[0], "worker-1.log:2: a DİA session id") || !strings.Contains(r.leaks[1], "worker-1.log:3: personal data") {
		t.Fatalf("leaks = %q", r.leaks)
	}
	if r.lines != 3 || r.levels["error"] != 1 {
		t.Fatalf("lines %d levels %v", r.lines, r.levels)
	}
}
