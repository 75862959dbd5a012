// Package keda decodes the KEDA objects under deploy/kubernetes strictly (case-sensitive, unknown and
// duplicate fields refused, as the API server does) into KEDA's own Go types. It is a module of its
// own because those types come with KEDA's operator module, whose Kubernetes library pins are older
// than the Prometheus Operator's that ../ decodes with. `make test` runs it (`make manifest-check`).
package keda

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const root = "../../kubernetes"

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// checkFile strictly decodes every keda.sh document of one YAML file and returns the kinds it found.
func checkFile(raw []byte) (kinds []string, errs []error) {
	for i, doc := range docSep.Split(string(raw), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.APIVersion != "keda.sh/v1alpha1" {
			continue // not KEDA's (../ checks every other document, and YAML errors)
		}
		var obj any
		switch head.Kind {
		case "ScaledObject":
			obj = &kedav1alpha1.ScaledObject{}
		case "TriggerAuthentication":
			obj = &kedav1alpha1.TriggerAuthentication{}
		default:
			errs = append(errs, fmt.Errorf("document %d: no KEDA type for kind %q: add it to checkFile", i, head.Kind))
			continue
		}
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err == nil {
			var strict []error
			if strict, err = sigsjson.UnmarshalStrict(js, obj); err == nil && len(strict) > 0 {
				err = fmt.Errorf("%v", strict)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, head.Kind, err))
			continue
		}
		kinds = append(kinds, head.Kind)
	}
	return kinds, errs
}

// TestKEDAObjectsDecodeStrictly: every ScaledObject and TriggerAuthentication under deploy/kubernetes
// decodes into KEDA's type with no unknown field, and both kinds are there.
func TestKEDAObjectsDecodeStrictly(t *testing.T) {
	seen := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
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
	for _, k := range []string{"ScaledObject", "TriggerAuthentication"} {
		if seen[k] == 0 {
			t.Errorf("no %s under %s", k, root)
		}
	}
	t.Logf("decoded %v", seen)
}

// TestStrictDecodeCatchesMistakes: a misspelt field, a field at the wrong level and an unknown kind are
// reported.
func TestStrictDecodeCatchesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"spec field": "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  maxReplicas: 3\n",
		"trigger field": "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n" +
			"  triggers:\n    - type: prometheus\n      metadata: {query: up}\n      authRef: {name: a}\n",
		"auth field":   "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: x}\nspec:\n  secretTargetRef:\n    - parameter: p\n      name: s\n      secretKey: k\n",
		"unknown kind": "apiVersion: keda.sh/v1alpha1\nkind: ScaledJobs\nmetadata: {name: x}\n",
	} {
		if _, errs := checkFile([]byte(doc)); len(errs) == 0 {
			t.Errorf("%s: no error for\n%s", name, doc)
		}
	}
	ok := "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  maxReplicaCount: 3\n" +
		"  triggers:\n    - type: prometheus\n      metadata: {query: up}\n"
	if kinds, errs := checkFile([]byte(ok)); len(errs) != 0 || len(kinds) != 1 {
		t.Errorf("valid ScaledObject: kinds %v, errors %v", kinds, errs)
	}
}
