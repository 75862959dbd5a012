#!/bin/sh
# Validate Köprü's Prometheus config, alert and recording rules, and run the rule unit tests.
# Installs promtool (Debian package "prometheus") if it is missing. Exits non-zero on any failure.
#   deploy/prometheus/check.sh
#   PROMTOOL=bin/promtool-compose deploy/prometheus/check.sh   # the version docker-compose.yml pins
#                                                                 # (make promtool-compose builds it)
set -eu

dir=$(cd "$(dirname "$0")" && pwd)

if [ -n "${PROMTOOL:-}" ]; then
	[ -x "$PROMTOOL" ] || { echo "PROMTOOL=$PROMTOOL is not an executable" >&2; exit 2; }
	promtool() { "$PROMTOOL" "$@"; }
	echo "promtool: $PROMTOOL (the version docker-compose.yml pins: $(sed -n 's/^require github.com\/prometheus\/prometheus //p' "$dir/promtool/go.mod"))"
elif ! command -v promtool >/dev/null 2>&1; then
	echo "promtool not found; installing the Debian package 'prometheus' (provides /usr/bin/promtool)" >&2
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "no apt-get here: install promtool (https://prometheus.io/download/) and re-run" >&2
		exit 2
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	$sudo apt-get install -y -q --no-install-recommends prometheus
	command -v promtool >/dev/null 2>&1 || { echo "promtool still missing after install" >&2; exit 2; }
fi

promtool --version 2>&1 | head -n 1

# Rule files are listed explicitly so a new file cannot be skipped silently by a glob mismatch.
set -- "$dir"/rules/*.yml
echo "== promtool check rules"
promtool check rules "$@"

echo "== promtool check config"
promtool check config "$dir/prometheus.yml"

echo "== promtool test rules"
promtool test rules "$dir"/tests/*.test.yml

echo "OK: Prometheus rules, config and rule tests pass"
