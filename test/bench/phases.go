package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/schemas"
)

// childArgs are the -phase process's settings (flags the parent sets).
type childArgs struct {
	phase       string
	events      int
	latency     time.Duration // the endpoint's vendor latency
	natsURL     string        // the bare-loop process's server
	endpoint    string        // the bare-loop process's Licrus API root
	concurrency int           // the bare-loop process's calls in flight
}

// childMain is one child process of the bench, the test binary run again with -phase: the operator
// bench's endpoint or bare loop (until SIGTERM), or one in-process phase, whose result it prints as
// JSON on stdout. It returns the exit status.
func childMain(a childArgs) int {
	switch a.phase {
	case "endpoint":
		if err := serveEndpoint(a.latency); err != nil {
			fmt.Fprintln(os.Stderr, "endpoint:", err)
			return 1
		}
		return 0
	case "bare-op":
		if path := os.Getenv("KOPRU_BENCH_CPUPROFILE"); path != "" { // beside kopru run's KOPRU_CPUPROFILE
			if f, err := os.Create(path + ".bare-op"); err == nil && pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
		if err := runBareProcess(a.natsURL, a.endpoint, a.concurrency); err != nil {
			fmt.Fprintln(os.Stderr, "bare loop:", err)
			return 1
		}
		return 0
	}
	if path := os.Getenv("KOPRU_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + a.phase)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if path := os.Getenv("KOPRU_BENCH_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 4096
		defer func() {
			if f, err := os.Create(path + "." + a.phase); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	r, err := runPhase(a.phase, a.events)
	if err == nil && r.VendorMax > r.Concurrency && r.Concurrency > 0 {
		err = fmt.Errorf("the simulator had %d requests open at once; the limit was %d", r.VendorMax, r.Concurrency)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "phase", a.phase, "failed:", err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

func runPhase(phase string, n int) (result, error) {
	switch phase {
	case "raw-jetstream":
		return rawJetStream(n)
	case "bare-instant":
		return bare(n, 64, 0)
	case "bare-50ms":
		return bare(n, 256, 50*time.Millisecond)
	case "kopru-instant":
		return kopru(n, 64, 0)
	case "kopru-50ms":
		return kopru(n, 256, 50*time.Millisecond)
	case "kopru-latency":
		return kopruLatency(5000, 1000)
	case "bare-latency":
		return latencyRun("bare-latency", 5000, 1000, func(e *env) (func(), error) { return startBare(e, 64) })
	case "kopru-r1-sync":
		return kopruOn(n, 1, true)
	case "kopru-r3":
		return kopruOn(n, 3, false)
	case "kopru-r3-sync":
		return kopruOn(n, 3, true)
	}
	return result{}, fmt.Errorf("unknown phase %q", phase)
}

func rawJetStream(n int) (result, error) {
	e, err := setup(0)
	if err != nil {
		return result{}, err
	}
	defer e.close()
	if _, err := e.preload(n); err != nil {
		return result{}, err
	}
	cons, err := e.js.CreateOrUpdateConsumer(context.Background(), bus.StreamEvents, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return result{}, err
	}
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return result{}, err
	}
	defer cc.Stop()
	<-done
	el := time.Since(start)
	return result{Phase: "raw-jetstream", Events: n, Seconds: el.Seconds(), PerSecond: float64(n) / el.Seconds()}, nil
}

func wait(done chan struct{}, n int) error {
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("not all %d outcomes arrived within 5 minutes", n)
	}
}

// throughputRun preloads n events, starts the consumer start makes, and times it until every event
// has its outcome and the simulator accepted exactly n calls.
func throughputRun(e *env, phase string, n, concurrency int, latency time.Duration, start func(*env) (func(), error)) (result, error) {
	defer e.close()
	if _, err := e.preload(n); err != nil {
		return result{}, err
	}
	done, arrivals, err := e.outcomeWatcher(n)
	if err != nil {
		return result{}, err
	}
	began := time.Now()
	stop, err := start(e)
	if err != nil {
		return result{}, err
	}
	defer stop()
	if os.Getenv("KOPRU_BENCH_LOG") != "" {
		go func() {
			for range time.Tick(2 * time.Second) {
				fmt.Fprintf(os.Stderr, "%s: %d calls\n", time.Since(began).Round(time.Second), e.sim.CallCount())
			}
		}()
	}
	if err := wait(done, n); err != nil {
		return result{}, err
	}
	el := time.Since(began)
	if c := e.sim.CallCount(); c != n {
		return result{}, fmt.Errorf("simulator accepted %d calls for %d events", c, n)
	}
	return result{Phase: phase, Events: n, Seconds: el.Seconds(), PerSecond: float64(n) / el.Seconds(),
		SimCalls: e.sim.CallCount(), Concurrency: concurrency, VendorMax: int(e.maxOpen.Load()),
		LatencyMs: int(latency / time.Millisecond), Steady: steadyRate(arrivals())}, nil
}

// latencyRun publishes n events at rate/s against an instant vendor, with the consumer start runs,
// and measures per event the time from publish to the outcome's arrival minus the vendor's time.
func latencyRun(phase string, n, rate int, start func(*env) (func(), error)) (result, error) {
	e, err := setup(0)
	if err != nil {
		return result{}, err
	}
	defer e.close()
	// Measure the vendor's own time per request, to subtract it.
	var vendorNs atomic.Int64
	var vendorN atomic.Int64
	inner := e.srv.Config.Handler
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		inner.ServeHTTP(w, r)
		vendorNs.Add(int64(time.Since(t)))
		vendorN.Add(1)
	})
	done, arrivals, err := e.outcomeWatcher(n)
	if err != nil {
		return result{}, err
	}
	stop, err := start(e)
	if err != nil {
		return result{}, err
	}
	defer stop()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	sent := make(map[string]time.Time, n)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		ev := event.New("installation.requested", "bench", data)
		b, _ := ev.Marshal()
		sent[ev.ID] = time.Now()
		if _, err := e.js.Publish(context.Background(), "events.installation.requested", b, jetstream.WithMsgID(ev.ID)); err != nil {
			return result{}, err
		}
	}
	if err := wait(done, n); err != nil {
		return result{}, err
	}
	vendor := time.Duration(vendorNs.Load() / max(1, vendorN.Load()))
	var lat []float64
	for id, at := range arrivals() {
		lat = append(lat, float64(at.Sub(sent[id])-vendor)/float64(time.Millisecond))
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
	return result{Phase: phase, Events: n, Seconds: float64(n) / float64(rate), PerSecond: float64(rate),
		P50AddedMs: pct(0.50), P99AddedMs: pct(0.99), SimCalls: e.sim.CallCount(), Concurrency: 64, VendorMax: int(e.maxOpen.Load())}, nil
}
