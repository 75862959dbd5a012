#!/bin/sh
# Build Köprü's container images from binaries compiled on this host — no registry access needed.
#
#   deploy/docker/build-images.sh          # both images: kopru:dev and kopru-nats:dev
#   deploy/docker/build-images.sh kopru    # only kopru:dev
#   deploy/docker/build-images.sh nats     # only kopru-nats:dev
#
# Environment: KOPRU_IMAGE (kopru:dev), NATS_IMAGE (kopru-nats:dev), VERSION (git describe),
# CA_BUNDLE (/etc/ssl/certs/ca-certificates.crt; copied into the kopru image only if it exists —
# without it the image can only call vendors over plain HTTP), DOCKER (docker).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

what=${1:-all}
KOPRU_IMAGE=${KOPRU_IMAGE:-kopru:dev}
NATS_IMAGE=${NATS_IMAGE:-kopru-nats:dev}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DOCKER=${DOCKER:-docker}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

export CGO_ENABLED=0
mkdir -p bin

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT INT TERM

# stage DIR: an empty build context with the directories both Dockerfiles copy.
stage() {
	mkdir -p "$staging/$1/tmp" "$staging/$1/data" "$staging/$1/home" "$staging/$1/certs"
	chmod 1777 "$staging/$1/tmp"
	chmod 0750 "$staging/$1/data" "$staging/$1/home"
}

build_nats() {
	echo "== go build bin/nats-server (github.com/nats-io/nats-server/v2 from go.mod)"
	go build -trimpath -ldflags "-s -w" -o bin/nats-server github.com/nats-io/nats-server/v2
	stage nats
	cp bin/nats-server "$staging/nats/nats-server"
	go build -trimpath -ldflags "-s -w" -o "$staging/nats/probe" ./deploy/docker/probe
	cp deploy/docker/nats-server.conf "$staging/nats/nats-server.conf"
	echo "== docker build $NATS_IMAGE"
	$DOCKER build -f deploy/docker/Dockerfile.nats-server -t "$NATS_IMAGE" "$staging/nats"
}

build_kopru() {
	if [ ! -d cmd/kopru ]; then
		echo "cmd/kopru does not exist yet: cannot build $KOPRU_IMAGE" >&2
		return 1
	fi
	echo "== go build bin/kopru (version $VERSION)"
	go build -trimpath -tags timetzdata \
		-ldflags "-s -w -X github.com/kopru/kopru/internal/metrics.Version=$VERSION" \
		-o bin/kopru ./cmd/kopru
	stage kopru
	cp bin/kopru "$staging/kopru/kopru"
	go build -trimpath -ldflags "-s -w" -o "$staging/kopru/probe" ./deploy/docker/probe
	if [ -r "$CA_BUNDLE" ]; then
		cp "$CA_BUNDLE" "$staging/kopru/certs/ca-certificates.crt"
	else
		echo "warning: $CA_BUNDLE not found; $KOPRU_IMAGE will have no CA certificates (HTTPS to vendors will fail)" >&2
	fi
	echo "== docker build $KOPRU_IMAGE"
	$DOCKER build -f deploy/docker/Dockerfile.kopru -t "$KOPRU_IMAGE" "$staging/kopru"
}

case "$what" in
all) build_nats; build_kopru ;;
nats | nats-server) build_nats ;;
kopru) build_kopru ;;
*) echo "usage: $0 [all|kopru|nats]" >&2; exit 2 ;;
esac
