package bench

import (
	"flag"
	"os"
	"testing"
	"time"
)

// The benchmarks' settings: go test ./test/bench -args -events 2000 … (the make targets set them from
// EVENTS, ROUNDS and BENCH_FLAGS). The internal ones are what the bench passes its child processes.
var (
	flagEvents    = flag.Int("events", 10000, "events per throughput phase (TestOperator: 20000 unless set)")
	flagRounds    = flag.Int("rounds", 5, "times every phase runs (alternating); the report shows each phase's median run (TestOperator: 3, TestDurability: 1 unless set)")
	flagJSON      = flag.Bool("json", false, "TestInProcess, TestDurability: print every run as JSON instead of the report")
	flagLatEvents = flag.Int("latency-events", 5000, "TestOperator: events of the paced latency run")
	flagRate      = flag.Int("rate", 1000, "TestOperator: events/s of the paced latency run")
	flagTimeout   = flag.Duration("run-timeout", 5*time.Minute, "TestOperator: the bound on one run")

	flagPhase       = flag.String("phase", "", "run one phase in this process (internal: the bench's child processes)")
	flagLatency     = flag.Duration("latency", 0, "vendor latency (internal: the endpoint process)")
	flagNATS        = flag.String("nats", "", "NATS URL (internal: the bare-loop process)")
	flagEndpoint    = flag.String("endpoint", "", "Licrus API root (internal: the bare-loop process)")
	flagConcurrency = flag.Int("concurrency", 32, "calls in flight (internal: the bare-loop process)")
)

// TestMain lets the test binary be the bench's child processes: run with -phase, it is one phase (or
// the operator bench's endpoint or bare loop) and no test runs.
func TestMain(m *testing.M) {
	flag.Parse()
	if *flagPhase != "" {
		os.Exit(childMain(childArgs{phase: *flagPhase, events: *flagEvents, latency: *flagLatency,
			natsURL: *flagNATS, endpoint: *flagEndpoint, concurrency: *flagConcurrency}))
	}
	os.Exit(m.Run())
}

// requireBench skips a benchmark unless KOPRU_BENCH is set, so `go test ./...` never starts one.
func requireBench(t *testing.T, target string) {
	t.Helper()
	if os.Getenv("KOPRU_BENCH") == "" {
		t.Skipf("a benchmark of minutes, run only when asked: make %s "+
			"(or KOPRU_BENCH=1 go test -v -count=1 -timeout 0 -run '^%s$' ./test/bench -args -events 2000 -rounds 1)", target, t.Name())
	}
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// TestOperator is `make bench`: Köprü as an operator runs it, beside a bare loop (operator.go). It
// prints the report and the targets MET or MISSED; a missed target does not fail it, a failed run does.
func TestOperator(t *testing.T) {
	requireBench(t, "bench")
	o := opOptions{events: *flagEvents, rounds: *flagRounds, latEvents: *flagLatEvents, rate: *flagRate, timeout: *flagTimeout}
	if !flagSet("events") {
		o.events = 20000
	}
	if !flagSet("rounds") {
		o.rounds = 3
	}
	o.rounds, o.events, o.latEvents, o.rate = max(1, o.rounds), max(2, o.events), max(2, o.latEvents), max(1, o.rate)
	if err := runOperator(o); err != nil {
		t.Fatal(err)
	}
}

// TestInProcess is `make bench-inprocess`: the pipeline in process against raw JetStream and a bare
// loop, each phase in its own child process.
func TestInProcess(t *testing.T) {
	requireBench(t, "bench-inprocess")
	if err := runInProcess(os.Stdout, inProcessPhases, *flagEvents, *flagRounds, *flagJSON, false); err != nil {
		t.Fatal(err)
	}
}

// TestDurability is `make bench-durability`: the cost of fsync-always and R3 streams against the
// defaults (one round unless -rounds is set).
func TestDurability(t *testing.T) {
	requireBench(t, "bench-durability")
	rounds := *flagRounds
	if !flagSet("rounds") {
		rounds = 1
	}
	if err := runInProcess(os.Stdout, durabilityPhases, *flagEvents, rounds, *flagJSON, true); err != nil {
		t.Fatal(err)
	}
}
