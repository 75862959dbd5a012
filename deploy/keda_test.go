package deploy

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/routes"
)

const (
	scaledObjectFile = "kubernetes/overlays/production/scaledobject.yaml"
	natsScalerFile   = "kubernetes/overlays/production/keda-nats-jetstream.example.yaml"
)

// routeTargets maps each route of the route table to its target.
func routeTargets() map[string]string {
	out := map[string]string{}
	for _, s := range routes.Builtin() {
		out[s.Name] = s.Target
	}
	return out
}

func fields(s string) string { return strings.Join(strings.Fields(s), " ") }

// kedaQueries returns the Prometheus query of every trigger of the production ScaledObject, by route.
func kedaQueries(t *testing.T) map[string]string {
	t.Helper()
	docs, err := decodeAll(scaledObjectFile)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%s: %v (%d documents)", scaledObjectFile, err, len(docs))
	}
	spec, _ := docs[0]["spec"].(map[string]any)
	out := map[string]string{}
	trig, _ := spec["triggers"].([]any)
	for _, tr := range trig {
		tm := tr.(map[string]any)
		md, _ := tm["metadata"].(map[string]any)
		name, _ := tm["name"].(string)
		if tm["type"] != "prometheus" || md["threshold"] == nil || md["serverAddress"] == nil {
			t.Errorf("%s: trigger %v", scaledObjectFile, tm)
			continue
		}
		q, _ := md["query"].(string)
		out[name] = q
	}
	return out
}

// TestScaledObjectScalesOnLagWhileCircuitClosed: one Prometheus trigger per route; its query is the
// route's lag unless the route's own target had an open circuit in the last 2 minutes, so an outage
// does not run the workers up to maxReplicaCount; a fallback below the maximum when Prometheus is
// unreachable; the query is the one promtool tests.
func TestScaledObjectScalesOnLagWhileCircuitClosed(t *testing.T) {
	rt := routeTargets()
	qs := kedaQueries(t)
	var got []string
	for r := range qs {
		got = append(got, r)
	}
	sort.Strings(got)
	want := slices.Clone(routeNames)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ScaledObject triggers for %v, want one per route %v", got, want)
	}
	tests, err := os.ReadFile(rulesTestGlob[:strings.LastIndex(rulesTestGlob, "/")] + "/kopru-alerts.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for r, q := range qs {
		for _, part := range []string{
			`max(kopru_consumer_pending_messages{job="kopru",route="` + r + `"})`,
			`max(kopru_consumer_ack_pending_messages{job="kopru",route="` + r + `"})`,
			`unless on () (max(max_over_time(kopru_circuit_state{job="kopru",target="` + rt[r] + `"}[2m])) >= 2)`,
		} {
			if !strings.Contains(q, part) {
				t.Errorf("trigger %s: query lacks %s:\n%s", r, part, q)
			}
		}
		if strings.Contains(fields(string(tests)), fields(q)) {
			tested++
		}
	}
	if tested == 0 {
		t.Error("no ScaledObject query is unit-tested in the promtool tests")
	}
	docs, _ := decodeAll(scaledObjectFile)
	spec := docs[0]["spec"].(map[string]any)
	fb, _ := spec["fallback"].(map[string]any)
	max, _ := spec["maxReplicaCount"].(int)
	if fbr, _ := fb["replicas"].(int); fb == nil || fbr <= 0 || fbr >= max {
		t.Errorf("fallback %v: want replicas between 1 and maxReplicaCount-1 (%d)", fb, max)
	}
}

// TestNATSScalerExample: the nats-jetstream alternative names every route consumer on EVENTS and
// takes the account from a TriggerAuthentication (not "$G", which is wrong with accounts).
func TestNATSScalerExample(t *testing.T) {
	docs, err := decodeAll(natsScalerFile)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]bool{}
	var consumers []string
	for _, d := range docs {
		md, _ := d["metadata"].(map[string]any)
		spec, _ := d["spec"].(map[string]any)
		switch d["kind"] {
		case "TriggerAuthentication":
			refs, _ := spec["secretTargetRef"].([]any)
			for _, r := range refs {
				if r.(map[string]any)["parameter"] == "account" {
					auth[md["name"].(string)] = true
				}
			}
		case "ScaledObject":
			trig, _ := spec["triggers"].([]any)
			for _, tr := range trig {
				tm := tr.(map[string]any)
				tmd, _ := tm["metadata"].(map[string]any)
				ref, _ := tm["authenticationRef"].(map[string]any)
				if tm["type"] != "nats-jetstream" || tmd["stream"] != "EVENTS" || tmd["lagThreshold"] == nil {
					t.Errorf("trigger %v", tm)
				}
				if tmd["account"] != nil || ref == nil || !auth[ref["name"].(string)] {
					t.Errorf("trigger %v: the account must come from a TriggerAuthentication defined above it", tm)
				}
				consumers = append(consumers, tmd["consumer"].(string))
			}
		}
	}
	sort.Strings(consumers)
	want := slices.Clone(routeNames)
	sort.Strings(want)
	if !slices.Equal(consumers, want) {
		t.Errorf("consumers %v, want %v", consumers, want)
	}
}
