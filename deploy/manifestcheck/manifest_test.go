// Package manifestcheck decodes every Kubernetes manifest under deploy/kubernetes strictly (unknown or
// duplicate fields are errors) into the Go types of Kubernetes and the Prometheus Operator (KEDA's objects: ./keda, into KEDA's
// own types), so a misspelt field fails here instead of being dropped by `kubectl apply`. It is a nested module so the
// main go.mod does not carry these dependencies: `make test` runs `cd deploy/manifestcheck && go test`.
package manifestcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const root = "../kubernetes"

// notManifests are YAML files under deploy/kubernetes that are not Kubernetes objects.
var notManifests = map[string]bool{
	"kustomization.yaml": true, // kustomize's own file
	"nats-values.yaml":   true, // Helm values for the NATS chart
	"config.yaml":        true, // Köprü's config, checked by deploy/deploy_test.go (config.Load)
}

// newObject returns the Go type for apiVersion/kind.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	case "keda.sh/v1alpha1 ScaledObject", "keda.sh/v1alpha1 TriggerAuthentication":
		return checkedByKEDAModule{}, nil
	}
	return nil, fmt.Errorf("no Go type known for apiVersion %q kind %q: add it to newObject", apiVersion, kind)
}

// checkedByKEDAModule marks KEDA's kinds: ./keda, a module of its own (KEDA's Go types pin Kubernetes
// libraries older than the Prometheus Operator's), decodes them strictly into KEDA's types.
type checkedByKEDAModule struct{}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// checkFile strictly decodes every document of one YAML file and returns the kinds it found.
func checkFile(raw []byte) (kinds []string, errs []error) {
	for i, doc := range docSep.Split(string(raw), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		obj, err := newObject(head.APIVersion, head.Kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		if _, ok := obj.(checkedByKEDAModule); ok {
			kinds = append(kinds, head.Kind)
			continue
		}
		// As the API server decodes: case-sensitive field names, unknown and duplicate fields refused.
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, head.Kind, err))
			continue
		}
		strict, err := sigsjson.UnmarshalStrict(js, obj)
		if err == nil && len(strict) > 0 {
			err = fmt.Errorf("%v", strict)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, head.Kind, err))
			continue
		}
		kinds = append(kinds, head.Kind)
	}
	return kinds, errs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestManifestsDecodeStrictly: every object under deploy/kubernetes decodes into its Go type with no
// unknown field, and the kinds the deployment needs are all there.
func TestManifestsDecodeStrictly(t *testing.T) {
	seen := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) || notManifests[d.Name()] {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kinds, errs := checkFile(raw)
		for _, e := range errs {
			t.Errorf("%s: %v", p, e)
		}
		for _, k := range kinds {
			seen[k]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "Secret",
		"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"} {
		if seen[k] == 0 {
			t.Errorf("no %s under %s", k, root)
		}
	}
	t.Logf("decoded %v", seen)
}

// TestStrictDecodeCatchesMistakes: a misspelt field, a field at the wrong level and an unknown kind are
// reported (KEDA's in ./keda).
func TestStrictDecodeCatchesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"operator field": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  endpoints:\n    - port: http\n      scrapeInterval: 15s\n",
		"rule field":     "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: up\n          four: 5m\n",
		"k8s field":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: i\n          readinessprobe: {}\n",
		"unknown kind":   "apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {name: x}\n",
	} {
		if _, errs := checkFile([]byte(doc)); len(errs) == 0 {
			t.Errorf("%s: no error for\n%s", name, doc)
		}
	}
	ok := "# c\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {a: b}\n---\n# only a comment\n"
	if kinds, errs := checkFile([]byte(ok)); len(errs) != 0 || len(kinds) != 1 {
		t.Errorf("valid Secret: kinds %v, errors %v", kinds, errs)
	}
}
