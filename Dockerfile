# Köprü from source: a static binary in a FROM scratch image, running as 65532 with no shell.
#
#   docker build -t kopru:dev .
#   docker build --build-arg GO_IMAGE=registry.example.com/library/golang:1.26 --build-arg VERSION=v1.2.3 -t kopru:v1.2.3 .
#
# Sites without registry access: deploy/docker/build-images.sh builds the same image from a binary
# compiled on the host (deploy/docker/Dockerfile.kopru). No BuildKit-only syntax is used, so the
# classic builder works too.
ARG GO_IMAGE=golang:1.26

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# timetzdata embeds the zone database: the scratch image has no /usr/share/zoneinfo.
RUN go build -tags timetzdata \
      -ldflags "-s -w -X github.com/kopru/kopru/internal/metrics.Version=${VERSION}" \
      -o /out/kopru ./cmd/kopru \
 && mkdir -p /out/home /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/tmp/ /tmp/
COPY --from=build --chown=65532:65532 /out/home/ /var/lib/kopru/
COPY --from=build /out/kopru /kopru
ENV HOME=/var/lib/kopru
WORKDIR /var/lib/kopru
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/kopru"]
CMD ["run"]
