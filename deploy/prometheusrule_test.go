package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

const prometheusRuleFile = "kubernetes/base/prometheusrule.yaml"

// prometheusRule builds the PrometheusRule (Prometheus Operator) that carries the rule groups of
// deploy/prometheus/rules/*.yml, so Kubernetes and compose evaluate the same rules.
func prometheusRule(t *testing.T) []byte {
	t.Helper()
	files, err := filepath.Glob(rulesGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files (%v)", err)
	}
	var groups []any
	for _, f := range files { // Glob sorts: alerts, then recording
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []any `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups = append(groups, doc.Groups...)
	}
	pr := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata":   map[string]any{"name": "kopru"},
		"spec":       map[string]any{"groups": groups},
	}
	var buf bytes.Buffer
	buf.WriteString("# Generated from deploy/prometheus/rules/*.yml by deploy/prometheusrule_test.go; do not edit here.\n" +
		"# Regenerate: KOPRU_UPDATE_PROMETHEUSRULE=1 go test -run TestPrometheusRuleMatchesRuleFiles ./deploy/\n" +
		"# The Prometheus Operator loads it when the Prometheus's ruleSelector matches its labels\n" +
		"# (kube-prometheus-stack selects release: <its release name> by default: add that label in an overlay).\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(pr); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPrometheusRuleMatchesRuleFiles: the PrometheusRule beside the ServiceMonitor holds exactly the
// rule groups Prometheus loads from deploy/prometheus/rules (and promtool tests).
func TestPrometheusRuleMatchesRuleFiles(t *testing.T) {
	want := prometheusRule(t)
	if os.Getenv("KOPRU_UPDATE_PROMETHEUSRULE") == "1" {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := yaml.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s is not the rule files' groups: regenerate with KOPRU_UPDATE_PROMETHEUSRULE=1 go test -run TestPrometheusRuleMatchesRuleFiles ./deploy/", prometheusRuleFile)
	}
	docs, err := decodeAll("kubernetes/base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range asStrings(docs[0]["resources"]) {
		found = found || r == filepath.Base(prometheusRuleFile)
	}
	if !found {
		t.Errorf("kubernetes/base/kustomization.yaml does not list %s", filepath.Base(prometheusRuleFile))
	}
}

// TestRecordingRulesUnitTested: every recording rule is evaluated by a promtool promql_expr_test.
func TestRecordingRulesUnitTested(t *testing.T) {
	files, _ := filepath.Glob(rulesTestGlob)
	var tests []byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, raw...)
	}
	n := 0
	for f, rf := range readRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record == "" {
					continue
				}
				n++
				if !bytes.Contains(tests, []byte("- expr: "+r.Record+"\n")) {
					t.Errorf("%s: recording rule %s has no promql_expr_test in %s", f, r.Record, rulesTestGlob)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no recording rules found")
	}
}
