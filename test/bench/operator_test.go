package bench

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCPUTimeAndPeakRSSOfThisProcess(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn 100 ms of CPU by getrusage's count (bounded in wall time): /proc's reading (in 10 ms ticks)
	// must grow by about as much.
	used := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := used()
	for end := time.Now().Add(10 * time.Second); used()-start < 100*time.Millisecond && time.Now().Before(end); {
	}
	want := used() - start
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < want-30*time.Millisecond || got > want+200*time.Millisecond {
		t.Fatalf("/proc says %s of CPU, getrusage %s", got, want)
	}
	rss, err := peakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1 || rss > 4096 {
		t.Fatalf("peak RSS %.1f MiB", rss)
	}
}

func TestReportOperatorJudgesTheTargets(t *testing.T) {
	run := func(phase string, rate float64, app, srv time.Duration, rss, p99 float64) opResult {
		return opResult{Phase: phase, Events: 1000, PerSecond: rate, AppCPU: app, NATSCPU: srv, EndCPU: 10 * time.Millisecond,
			PeakRSSMiB: rss, JSAPI: 50, InMsgs: 4000, P99: p99}
	}
	runs := map[string][]opResult{
		"bare-instant":  {run("bare-instant", 10000, 80*time.Millisecond, 50*time.Millisecond, 30, 0)},
		"kopru-instant": {run("kopru-instant", 9500, 100*time.Millisecond, 60*time.Millisecond, 30, 0)}, // 0.95×, 170 µs
		"bare-50ms":     {run("bare-50ms", 5000, 80*time.Millisecond, 50*time.Millisecond, 40, 0)},
		"kopru-50ms":    {run("kopru-50ms", 4000, 80*time.Millisecond, 50*time.Millisecond, 120, 0)}, // 0.80×, 120 MiB
		"bare-latency":  {run("bare-latency", 1000, time.Second, time.Second, 30, 2)},
		"kopru-latency": {run("kopru-latency", 1000, time.Second, time.Second, 30, 3)},
	}
	var out bytes.Buffer
	reportOperator(&out, opOptions{events: 1000, rounds: 1, latEvents: 1000, rate: 1000}, opPhases(), runs)
	s := out.String()
	for _, want := range []string{
		"Köprü / bare loop   0.95× (target ≥ 0.90×)      MET",
		"170 µs (target ≤ 200 µs)    MET",
		"0.80× (target ≥ 0.95×)      MISSED",
		"3.00 ms (target < 5 ms)    MET",
		"120.0 MiB (target < 100 MiB) MISSED",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
