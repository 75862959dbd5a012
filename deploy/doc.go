// Package deploy holds Köprü's deployment artefacts (Prometheus rules, Grafana dashboards, Docker and
// Kubernetes manifests) and the tests that keep them honest: deploy_test.go checks that every metric a
// dashboard panel, alert or recording rule queries is one Köprü exports (internal/metrics), that the
// exposition passes promlint, and that every YAML file parses and every kustomization's resources exist;
// dashlint_test.go applies Grafana's dashboard-linter rules; liveprom_test.go runs the dashboard's
// queries, the alerts and the KEDA queries on a real Prometheus scraping an in-process Köprü;
// compose_test.go, keda_test.go and prometheusrule_test.go check docker-compose.yml, the ScaledObjects
// and the PrometheusRule. deploy/manifestcheck (a nested module) decodes the Kubernetes manifests
// strictly into their Go types.
//
// There is no Go code to import here; the tests read the files relative to this directory.
package deploy
