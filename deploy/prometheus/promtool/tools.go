//go:build tools

// Package promtool pins promtool to the Prometheus version docker-compose.yml runs (prom/prometheus
// v3.5.0 is Go module github.com/prometheus/prometheus v0.305.0), so the rules are checked by the
// same rule engine. A nested module: the main go.mod does not take Prometheus's dependencies.
//
//	make promtool-compose   # builds bin/promtool-compose (several CPU-minutes, once; cached)
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
