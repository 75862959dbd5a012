// Package bench holds Köprü's benchmarks, run by go test only when asked (KOPRU_BENCH=1; the make
// targets set it):
//
//	make bench              TestOperator: kopru run, nats-server and the Licrus simulator as separate
//	                        processes, against a bare loop (operator.go)
//	make bench-inprocess    TestInProcess: the pipeline in process against raw JetStream consume-and-ack
//	                        and a bare hand-written loop doing the same work (KV create, HTTP POST, KV
//	                        put, publish, ack)
//	make bench-durability   TestDurability: the cost of fsync-always and R3 streams against the defaults
//
// The settings are the test binary's flags, after -args (make: EVENTS, ROUNDS, BENCH_FLAGS):
//
//	KOPRU_BENCH=1 go test -v -count=1 -timeout 0 -run '^TestInProcess$' ./test/bench -args [-events 10000] [-rounds 5] [-json]
//
// Each in-process phase runs in its own child process (the test binary run again with -phase: an
// embedded nats-server, the Licrus simulator and the workload), so CPU time and peak RSS belong to
// that phase alone.
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// result is what one phase reports.
type result struct {
	Phase       string  `json:"phase"`
	Events      int     `json:"events"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"perSecond"`
	CPUPer1000  float64 `json:"cpuSecondsPer1000"`
	PeakRSSMiB  float64 `json:"peakRssMiB"`
	P50AddedMs  float64 `json:"p50AddedMs,omitempty"`
	P99AddedMs  float64 `json:"p99AddedMs,omitempty"`
	SimCalls    int     `json:"simCalls"`
	Concurrency int     `json:"concurrency"`       // calls in flight allowed
	VendorMax   int     `json:"vendorMaxInFlight"` // most requests the simulator had open at once
	LatencyMs   int     `json:"vendorLatencyMs"`
	// Steady is the rate between the 10th and the 90th percentile of outcome arrivals: the run without
	// its start (consumers created, the first calls under way) and its end (the last, partial round).
	Steady float64 `json:"steadyPerSecond,omitempty"`
}

// steadyRate is the outcome rate between the 10th and the 90th percentile arrival.
func steadyRate(arrivals map[string]time.Time) float64 {
	ts := make([]time.Time, 0, len(arrivals))
	for _, t := range arrivals {
		ts = append(ts, t)
	}
	if len(ts) < 10 {
		return 0
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	a, b := len(ts)/10, len(ts)*9/10
	return float64(b-a) / ts[b].Sub(ts[a]).Seconds()
}

// The in-process phases, in the order they run within a round and appear in the report.
var (
	inProcessPhases  = []string{"raw-jetstream", "bare-instant", "kopru-instant", "bare-50ms", "kopru-50ms", "bare-latency", "kopru-latency"}
	durabilityPhases = []string{"kopru-instant", "kopru-r1-sync", "kopru-r3", "kopru-r3-sync"}
)

// runInProcess runs every phase rounds times, each run in a child process, and prints the report on
// w (asJSON: every run as JSON). The machine drifts, so the phases run in rounds, a reference beside
// its Köprü phase each time, and each phase reports its median run; ratios are taken within a round
// (runs seconds apart). Progress goes to stderr.
func runInProcess(w io.Writer, phases []string, events, rounds int, asJSON, durability bool) error {
	runs := map[string][]result{}
	for i := 1; i <= max(1, rounds); i++ {
		for _, p := range phases {
			fmt.Fprintf(os.Stderr, "round %d/%d: running %s …\n", i, max(1, rounds), p)
			r, err := child(p, events)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			runs[p] = append(runs[p], r)
		}
	}
	results := map[string]result{}
	for p, rs := range runs {
		results[p] = median(rs)
	}
	switch {
	case asJSON:
		return json.NewEncoder(w).Encode(runs)
	case durability:
		reportDurability(w, phases, results)
	default:
		report(w, phases, results, runs)
	}
	return nil
}

func child(phase string, events int) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	var out bytes.Buffer
	cmd := exec.Command(self, "--phase", phase, "--events", fmt.Sprint(events))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("bad phase output %q: %w", out.String(), err)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	r.CPUPer1000 = cpu.Seconds() / float64(r.Events) * 1000
	r.PeakRSSMiB = peakRSSMiB(cmd.ProcessState)
	return r, nil
}

// median is the run with the median rate (latency phases: the median p99).
func median(rs []result) result {
	key := func(r result) float64 {
		if r.P99AddedMs > 0 {
			return r.P99AddedMs
		}
		return r.PerSecond
	}
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
	return s[len(s)/2]
}

// series returns f of each round's run in rs, and their median.
func series(rs []result, f func(round int, r result) float64) (med float64, each []float64) {
	for i, r := range rs {
		each = append(each, f(i, r))
	}
	s := append([]float64(nil), each...)
	sort.Float64s(s)
	return s[len(s)/2], each
}

func fmtEach(each []float64, format string) string {
	var parts []string
	for _, v := range each {
		parts = append(parts, fmt.Sprintf(format, v))
	}
	return strings.Join(parts, ", ")
}
