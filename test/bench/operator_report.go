package bench

import (
	"fmt"
	"io"
	"sort"
)

// med is the median of f over rs (each round's run).
func med(rs []opResult, f func(i int, r opResult) float64) float64 {
	var v []float64
	for i, r := range rs {
		v = append(v, f(i, r))
	}
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// opVerdict is MET or MISSED, or "not run" when the phases the target needs were left out.
func opVerdict(ok bool, runs map[string][]opResult, phases ...string) string {
	for _, ph := range phases {
		if len(runs[ph]) == 0 {
			return "not run"
		}
	}
	return metOrMissed(ok)
}

func metOrMissed(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

// reportOperator prints the operator bench's table, the JetStream work per event and the targets.
func reportOperator(w io.Writer, o opOptions, phases []opPhase, runs map[string][]opResult) {
	fmt.Fprintf(w, "\nKöprü as an operator runs it: `kopru run` (built binary) and the bare loop each as their own process, a separate\n"+
		"nats-server process (JetStream, file store, default fsync), the Licrus simulator in a third process, all on loopback;\n"+
		"a fresh server and simulator for every run; %d rounds, phases interleaved; medians over the rounds.\n"+
		"%d installation.requested events per throughput run (preloaded); the latency runs publish %d at %d/s.\n\n",
		o.rounds, o.events, o.latEvents, o.rate)
	fmt.Fprintf(w, "%-14s %9s %11s %6s %10s %7s %9s %9s %9s %9s %8s %8s\n", "phase", "in flight", "events/s", "×bare",
		"CPU µs/ev", "app", "nats-srv", "endpoint", "peak RSS", "JS API/ev", "msgs/ev", "p99 add")
	cpuAll := func(_ int, r opResult) float64 { return r.cpuPerEvent(r.AppCPU + r.NATSCPU + r.EndCPU) }
	for _, ph := range phases {
		rs := runs[ph.name]
		if len(rs) == 0 { // KOPRU_BENCH_PHASES left it out
			fmt.Fprintf(w, "%-14s %9d %11s\n", ph.name, ph.conc, "not run")
			continue
		}
		ratio := "-"
		if ph.app == "kopru" && !ph.paced {
			ratio = fmt.Sprintf("%.2f×", kopruRatio(runs, ph))
		}
		rate, p99 := fmt.Sprintf("%.0f", med(rs, func(_ int, r opResult) float64 { return r.PerSecond })), "-"
		if ph.paced {
			rate = fmt.Sprintf("(%d paced)", o.rate)
			p99 = fmt.Sprintf("%.2fms", med(rs, func(_ int, r opResult) float64 { return r.P99 }))
		}
		fmt.Fprintf(w, "%-14s %9d %11s %6s %10.0f %7.0f %9.0f %9.0f %6.1fMiB %9.2f %8.2f %8s\n", ph.name, ph.conc, rate, ratio,
			med(rs, cpuAll),
			med(rs, func(_ int, r opResult) float64 { return r.cpuPerEvent(r.AppCPU) }),
			med(rs, func(_ int, r opResult) float64 { return r.cpuPerEvent(r.NATSCPU) }),
			med(rs, func(_ int, r opResult) float64 { return r.cpuPerEvent(r.EndCPU) }),
			maxRSS(rs),
			med(rs, func(_ int, r opResult) float64 { return float64(r.JSAPI) / float64(r.Events) }),
			med(rs, func(_ int, r opResult) float64 { return float64(r.InMsgs) / float64(r.Events) }), p99)
	}
	fmt.Fprintf(w, "\nevents/s: outcomes between the first and the last outcome of a run (start-up excluded). CPU µs/ev: user+system\n"+
		"CPU of the app, nats-server and endpoint processes (/proc/<pid>/stat) while the app ran, per event; the app's includes\n"+
		"its start-up. peak RSS: the app process's VmHWM, the largest over the rounds. JS API/ev: requests on $JS.API.> (fetches,\n"+
		"KV gets, stream and consumer info); msgs/ev: every message the server received from clients (/varz in_msgs: publishes,\n"+
		"KV writes, acks, API requests), per event. p99 add: publish → outcome minus the simulator's mean time per request.\n")

	ki, kp := runs["kopru-instant"], runs["kopru-50ms"]
	ri, r5 := kopruRatio(runs, phases[1]), kopruRatio(runs, phases[3])
	ci := med(ki, cpuAll)
	p99 := med(runs["kopru-latency"], func(_ int, r opResult) float64 { return r.P99 })
	rss := maxRSS(kp)
	fmt.Fprintf(w, "\ntargets (medians of %d interleaved rounds; each round in brackets):\n", o.rounds)
	fmt.Fprintf(w, "  instant vendor, 32 in flight: Köprü / bare loop   %.2f× (target ≥ 0.90×)      %-6s [%s]\n", ri, opVerdict(ri >= 0.9, runs, "bare-instant", "kopru-instant"), eachRatio(runs, phases[1]))
	fmt.Fprintf(w, "  instant vendor: CPU per event, all processes      %.0f µs (target ≤ 200 µs)    %s\n", ci, opVerdict(ci <= 200, runs, "kopru-instant"))
	fmt.Fprintf(w, "  50 ms vendor, 256 in flight: Köprü / bare loop    %.2f× (target ≥ 0.95×)      %-6s [%s]\n", r5, opVerdict(r5 >= 0.95, runs, "bare-50ms", "kopru-50ms"), eachRatio(runs, phases[3]))
	fmt.Fprintf(w, "  p99 latency added at %d events/s               %.2f ms (target < 5 ms)    %s  (bare loop: %.2f ms)\n", o.rate, p99,
		opVerdict(p99 < 5, runs, "kopru-latency"), med(runs["bare-latency"], func(_ int, r opResult) float64 { return r.P99 }))
	fmt.Fprintf(w, "  peak RSS of kopru run at 256 in flight            %.1f MiB (target < 100 MiB) %s\n", rss, opVerdict(rss < 100, runs, "kopru-50ms"))
	if o.events < 20000 || o.rounds < 3 {
		fmt.Fprintf(w, "  (a smoke run: the targets are judged on ≥ 3 rounds of 20,000 events)\n")
	}
}

// kopruRatio is the median over the rounds of Köprü's rate over the bare loop's in the same round; ph is
// the Köprü phase, and the bare phase is the one before it in opPhases.
func kopruRatio(runs map[string][]opResult, ph opPhase) float64 {
	b := runs["bare"+ph.name[len("kopru"):]]
	if len(b) < len(runs[ph.name]) { // KOPRU_BENCH_PHASES left the bare phase out
		return 0
	}
	return med(runs[ph.name], func(i int, r opResult) float64 { return r.PerSecond / b[i].PerSecond })
}

func eachRatio(runs map[string][]opResult, ph opPhase) string {
	b := runs["bare"+ph.name[len("kopru"):]]
	s := ""
	for i, r := range runs[ph.name] {
		if i >= len(b) {
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f×", r.PerSecond/b[i].PerSecond)
	}
	return s
}

func maxRSS(rs []opResult) float64 {
	m := 0.0
	for _, r := range rs {
		m = max(m, r.PeakRSSMiB)
	}
	return m
}
