# Köprü — every target needs only Go (and, where named, Docker or Debian packages it installs itself).
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMPOSE   ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# CA bundle copied into the kopru image's build context (empty = an image without CA certs: plain HTTP only)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/kopru/kopru/internal/metrics.Version=$(VERSION) -X github.com/kopru/kopru/internal/metrics.Commit=$(COMMIT)
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: help run build test test-short clean-test-images dev-reset vet fmt fuzz chaos bench bench-inprocess bench-durability bench-wait chromium test-ui image image-nats image-kopru image-source compose-up compose-down deploy-check clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

run: ## start everything embedded (JetStream, simulators, workers) and show events turning into outcomes
	$(GO) run ./cmd/kopru dev

build: ## build bin/kopru
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kopru ./cmd/kopru

test: vet chromium ## every test: go test -race, Prometheus rule tests, every fuzz target briefly, a 2,000-event chaos run
	@echo "Go modules: downloading what go.sum lists into $$($(GO) env GOMODCACHE) (once)"; $(GO) mod download
	@echo '$(GO) test -race -count=1 -timeout 30m ./...'; \
	  status=0; $(GO) test -race -count=1 -timeout 30m ./... || status=$$?; $(MAKE) -s clean-test-images; exit $$status
	deploy/prometheus/check.sh
	@if [ -x $(PROMTOOL_COMPOSE) ]; then PROMTOOL=$(PROMTOOL_COMPOSE) deploy/prometheus/check.sh; \
	  else echo "note: rules checked with Debian's promtool; make promtool-compose builds the version docker-compose.yml pins"; fi
	cd deploy/manifestcheck && $(GO) test -count=1 ./...
	cd deploy/manifestcheck/keda && $(GO) test -count=1 ./...
	@if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then \
	  $(COMPOSE) config -q && echo "docker-compose.yml: config ok"; else echo "no docker compose here: compose config not checked"; fi
	FUZZTIME=$(CI_FUZZTIME) ./.ci/fuzz.sh
	$(CHAOS_TEST) -events 2000 -workers 3 -duration-limit 5m

CI_FUZZTIME ?= 4s
FUZZTIME    ?= 10s

# The chaos run and the benchmarks are go test packages under test/ (TestChaos, TestOperator, …); each
# skips unless its variable asks for it, so `go test ./...` never starts one. Their settings are the
# test binary's flags, after -args. -timeout 0: every run bounds itself (-duration-limit, -run-timeout).
CHAOS_TEST = KOPRU_CHAOS=1 $(GO) test -count=1 -timeout 0 -v -run '^TestChaos$$' ./test/chaos -args
BENCH_TEST = KOPRU_BENCH=1 $(GO) test -count=1 -timeout 0 -v ./test/bench -run
BENCH_ARGS = $(if $(EVENTS),-events $(EVENTS)) $(if $(ROUNDS),-rounds $(ROUNDS)) $(BENCH_FLAGS)

fuzz: ## run every Go fuzz target for FUZZTIME each (default 10s; FUZZ_ONLY=regexp picks some, FUZZ_SAVE=1 keeps new corpus)
	FUZZTIME=$(FUZZTIME) ./.ci/fuzz.sh

chaos: ## chaos run (test/chaos): workers under vendor faults, SIGKILLs and server restarts; EVENTS, WORKERS, SEED, CHAOS_FLAGS='-rate 200 -keep'
	$(CHAOS_TEST) -events $(or $(EVENTS),10000) -workers $(or $(WORKERS),3) $(if $(SEED),-seed $(SEED)) $(CHAOS_FLAGS)

bench-durability: ## the cost of fsync-always and R3 streams against the defaults (test/bench TestDurability; EVENTS, ROUNDS, BENCH_FLAGS)
	$(BENCH_TEST) '^TestDurability$$' -args $(BENCH_ARGS)

# Extra prerequisites of test (a line of its own, so the list above stays as it is).
test: prometheus-deb

.PHONY: prometheus-deb promtool-compose dashboard-lint manifest-check
PROMTOOL_COMPOSE := $(BIN)/promtool-compose

prometheus-deb: ## install Debian's prometheus (server and promtool) for the deploy tests; the real-Prometheus test skips without it
	@command -v prometheus >/dev/null 2>&1 || { echo "installing Debian's prometheus package (real Prometheus for deploy/liveprom_test.go, promtool)"; \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus) >/dev/null 2>&1 \
	    || echo "note: could not install prometheus; the dashboard and alert test against a real Prometheus will skip"; }

promtool-compose: ## build bin/promtool-compose, promtool of the Prometheus version docker-compose.yml pins (several CPU-minutes, once)
	cd deploy/prometheus/promtool && CGO_ENABLED=0 $(GO) build -trimpath -o ../../../$(PROMTOOL_COMPOSE) github.com/prometheus/prometheus/cmd/promtool

dashboard-lint: ## the Grafana dashboard-linter rules (strict) on deploy/grafana, and its queries against a real Prometheus
	$(GO) test -count=1 -run 'TestDashboardLint|TestDashboardQueriesAgainstPrometheus' -v ./deploy/

manifest-check: ## decode every deploy/kubernetes manifest strictly into the k8s, KEDA and Prometheus Operator types
	cd deploy/manifestcheck && $(GO) test -count=1 ./...
	cd deploy/manifestcheck/keda && $(GO) test -count=1 ./...

chromium: ## install headless Chromium for the operator page test (Debian); the test skips without it
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  ( echo "installing Debian's chromium (apt-get install chromium) for the operator page test"; \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium) >/dev/null 2>&1 \
	    && echo "installed $$(command -v chromium)" \
	    || echo "note: could not install chromium; the operator page test will skip" )

# Images the Docker cluster tests build (internal/clustertest) are removed by the tests themselves;
# this removes any a killed or failed run left behind.
clean-test-images:
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  ids=$$(docker images -q --filter 'reference=kopru-clustertest-*' | sort -u); \
	  if [ -n "$$ids" ]; then echo "removing test images left behind: $$(echo $$ids)"; docker rmi -f $$ids >/dev/null; fi; \
	fi

test-ui: chromium ## drive the operator page in a real headless Chromium
	$(GO) test -race -count=1 -run TestUIInChromium -v ./internal/httpapi/

test-short: ## the quick loop: go test -short without -race, the cluster tests, fuzzing or the chaos run
	$(GO) test -short -count=1 $$($(GO) list ./... | grep -v /internal/clustertest)

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

bench-wait: ## 200 requests waiting with Prefer: wait plus 200 joining one event: vendor calls and CPU per request (~20 s)
	$(GO) test -count=1 -run XXX -bench BenchmarkPreferWait200 -benchtime=3x ./internal/app/

bench: ## kopru run, nats-server and the Licrus simulator as separate processes, against a bare loop: events/s, CPU per process, RSS, targets (test/bench TestOperator; EVENTS, ROUNDS, BENCH_FLAGS='-latency-events 1000 -rate 1000 -run-timeout 5m')
	$(BENCH_TEST) '^TestOperator$$' -args $(BENCH_ARGS)

bench-inprocess: ## the older in-process benchmark (embedded server, one process per phase), against raw JetStream and a bare loop (TestInProcess; EVENTS, ROUNDS, BENCH_FLAGS=-json)
	$(BENCH_TEST) '^TestInProcess$$' -args $(BENCH_ARGS)

image: ## kopru:dev and kopru-nats:dev FROM scratch, from static binaries built here (no registry needed)
	CA_BUNDLE=$(CA_BUNDLE) VERSION=$(VERSION) deploy/docker/build-images.sh all

image-nats:
	deploy/docker/build-images.sh nats

image-kopru:
	CA_BUNDLE=$(CA_BUNDLE) VERSION=$(VERSION) deploy/docker/build-images.sh kopru

image-source: ## multi-stage build from source (needs a Go image: GO_IMAGE=…)
	docker build --build-arg VERSION=$(VERSION) $(if $(GO_IMAGE),--build-arg GO_IMAGE=$(GO_IMAGE)) -t kopru:$(VERSION) .

compose-up: image ## start NATS, the simulators, Köprü, Prometheus and Grafana
	$(COMPOSE) up -d

compose-down:
	$(COMPOSE) down

deploy-check: ## deploy/ tests, Prometheus rules and their unit tests (installs promtool), compose config
	$(GO) vet ./deploy/...
	$(GO) test -race ./deploy/...
	deploy/prometheus/check.sh
	$(COMPOSE) config -q
	cd deploy/manifestcheck && $(GO) test -count=1 ./...
	cd deploy/manifestcheck/keda && $(GO) test -count=1 ./...
	$(MAKE) promtool-compose && PROMTOOL=$(PROMTOOL_COMPOSE) deploy/prometheus/check.sh

dev-reset: ## delete kopru dev's data (data/dev: its streams, dead letters and ledger), so the next make run starts afresh
	rm -rf data/dev

clean: ## remove build output and the data folder (kopru dev's and an embedded kopru run's store)
	rm -rf $(BIN) data
