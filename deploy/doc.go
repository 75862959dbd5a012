// Package deploy holds Köprü's deployment artefacts (Prometheus rules, Grafana dashboards, Docker and
// Kubernetes manifests) and the tests that keep them honest: deploy_test.go checks that every metric a
// dashboard panel, alert or recording rule queries is one Köprü exports (internal/metrics), that the
// exposition passes promlint, and that every YAML file parses and every kustomization's resources exist.
//
// There is no Go code to import here; the tests read the files relative to this directory.
package deploy
