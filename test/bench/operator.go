package bench

// The operator bench: Köprü as an operator runs it. The built `kopru` binary runs `kopru run` as its
// own process, against a separate nats-server process and the Licrus simulator in a third process; the
// bare loop runs the same way (its own process, the same server and endpoint, the same concurrency).
// Each run gets a fresh server and endpoint; the phases alternate within every round.

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/schemas"
)

func signalNotify(c chan os.Signal) { signal.Notify(c, syscall.SIGTERM, syscall.SIGINT) }

// opPhase is one kind of run: which app, the vendor's latency, the calls in flight, and whether it is
// the paced latency run.
type opPhase struct {
	name    string
	app     string // "bare" or "kopru"
	latency time.Duration
	conc    int
	paced   bool // publish at opts.rate while the app runs, and measure the latency added
}

// opResult is what one run measured.
type opResult struct {
	Phase      string
	Events     int
	PerSecond  float64 // outcomes per second between the first and the last outcome
	AppCPU     time.Duration
	NATSCPU    time.Duration
	EndCPU     time.Duration // the endpoint's
	PeakRSSMiB float64       // the app process's VmHWM
	JSAPI      int64         // requests on $JS.API.> while the app ran
	InMsgs     int64         // messages the server received from clients while the app ran (/varz)
	P50, P99   float64       // ms added (paced runs)
	MaxOpen    int64
}

func (r opResult) cpuPerEvent(d time.Duration) float64 {
	return float64(d.Microseconds()) / float64(r.Events)
}

type opOptions struct {
	events, rounds, latEvents, rate int
	timeout                         time.Duration
}

func opPhases() []opPhase {
	return []opPhase{
		{"bare-instant", "bare", 0, 32, false}, {"kopru-instant", "kopru", 0, 32, false},
		{"bare-50ms", "bare", 50 * time.Millisecond, 256, false}, {"kopru-50ms", "kopru", 50 * time.Millisecond, 256, false},
		{"bare-latency", "bare", 0, 32, true}, {"kopru-latency", "kopru", 0, 32, true},
	}
}

// runOperator runs every phase o.rounds times, interleaved, and prints the report on stdout; progress
// goes to stderr. A failed run's folder (every process's log) is kept, and the error names it.
func runOperator(o opOptions) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ps := &procs{}
	defer ps.killAll()
	go func() { <-ctx.Done(); ps.killAll() }()
	dir, err := os.MkdirTemp("", "kopru-bench-op-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}()
	self, err := os.Executable() // the test binary: -phase endpoint and -phase bare-op
	if err != nil {
		return err
	}
	kopruBin, natsBin, err := buildBinaries(ctx, dir)
	if err != nil {
		return err
	}
	runs := map[string][]opResult{}
	phases := opPhases()
	for i := 1; i <= o.rounds; i++ {
		for j, ph := range phases {
			if !phaseWanted(ph.name) {
				continue
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted")
			}
			fmt.Fprintf(os.Stderr, "round %d/%d: %s …\n", i, o.rounds, ph.name)
			runDir := filepath.Join(dir, fmt.Sprintf("r%d-%d", i, j))
			r, err := runOne(ctx, ps, o, ph, runDir, self, kopruBin, natsBin)
			ps.killAll()
			if err != nil {
				keep = true
				return fmt.Errorf("%s: %w\n(the logs of every process: %s)", ph.name, err, runDir)
			}
			_ = os.RemoveAll(runDir)
			runs[ph.name] = append(runs[ph.name], r)
		}
	}
	reportOperator(os.Stdout, o, phases, runs)
	return nil
}

// phaseWanted reports whether KOPRU_BENCH_PHASES (comma-separated parts of phase names, e.g.
// "instant"; empty: all) asks for the phase, to iterate on one pair while profiling.
func phaseWanted(name string) bool {
	only := os.Getenv("KOPRU_BENCH_PHASES")
	if only == "" {
		return true
	}
	for _, part := range strings.Split(only, ",") {
		if part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}

// runOne starts a fresh nats-server and endpoint, preloads the events (paced: publishes them while the
// app runs), starts the app and waits, bounded by o.timeout, for every outcome.
func runOne(ctx context.Context, ps *procs, o opOptions, ph opPhase, dir, self, kopruBin, natsBin string) (opResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return opResult{}, err
	}
	ns, natsURL, murl, err := startNATS(ps, natsBin, dir)
	if err != nil {
		return opResult{}, err
	}
	ep, epURL, err := startEndpoint(ps, self, dir, ph.latency)
	if err != nil {
		return opResult{}, err
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return opResult{}, err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ectx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = bus.Ensure(ectx, js, bus.StreamConfig{Replicas: 1})
	cancel()
	if err != nil {
		return opResult{}, err
	}
	n := o.events
	if ph.paced {
		n = o.latEvents
	}
	e := &env{nc: nc, js: js}
	if !ph.paced {
		if _, err := e.preload(n); err != nil {
			return opResult{}, err
		}
	}
	total := n
	if ph.paced {
		total++ // the warm-up event
	}
	done, arrivals, err := e.outcomeWatcher(total)
	if err != nil {
		return opResult{}, err
	}
	var api atomic.Int64
	if _, err := nc.Subscribe("$JS.API.>", func(*nats.Msg) { api.Add(1) }); err != nil {
		return opResult{}, err
	}
	if err := nc.Flush(); err != nil {
		return opResult{}, err
	}
	in0, _ := varzInMsgs(murl)
	api0 := api.Load()
	nats0, _ := cpuTime(ns.cmd.Process.Pid)
	end0, _ := cpuTime(ep.cmd.Process.Pid)

	app, err := startApp(ps, ph, dir, self, kopruBin, natsURL, epURL)
	if err != nil {
		return opResult{}, err
	}
	deadline := time.After(o.timeout)
	var sent map[string]time.Time
	if ph.paced {
		if sent, err = pacedPublish(ctx, e, app, n, o.rate, deadline); err != nil {
			return opResult{}, err
		}
	}
	select {
	case <-done:
	case <-app.done:
		return opResult{}, fmt.Errorf("%s exited: %s", app.name, app.tail())
	case <-deadline:
		return opResult{}, fmt.Errorf("not all %d outcomes within %s (%d arrived)", total, o.timeout, len(arrivals()))
	case <-ctx.Done():
		return opResult{}, ctx.Err()
	}
	r := opResult{Phase: ph.name, Events: n}
	r.AppCPU, _ = cpuTime(app.cmd.Process.Pid)
	r.PeakRSSMiB, _ = peakRSS(app.cmd.Process.Pid)
	nats1, _ := cpuTime(ns.cmd.Process.Pid)
	end1, _ := cpuTime(ep.cmd.Process.Pid)
	_ = nc.Flush()
	in1, _ := varzInMsgs(murl)
	r.NATSCPU, r.EndCPU = nats1-nats0, end1-end0
	r.JSAPI, r.InMsgs = api.Load()-api0, in1-in0
	if ph.paced {
		r.InMsgs -= int64(total) // the bench's own publishes
	}
	st, err := getStats(epURL)
	if err != nil {
		return opResult{}, err
	}
	if st.Calls != total {
		return opResult{}, fmt.Errorf("the simulator accepted %d calls for %d events", st.Calls, total)
	}
	if st.MaxOpen > int64(ph.conc) {
		return opResult{}, fmt.Errorf("the simulator had %d requests open at once; the limit was %d", st.MaxOpen, ph.conc)
	}
	r.MaxOpen = st.MaxOpen
	arr := arrivals()
	if ph.paced {
		vendor := time.Duration(st.VendorNs / max(1, st.Requests))
		var lat []float64
		for id, t0 := range sent {
			lat = append(lat, float64(arr[id].Sub(t0)-vendor)/float64(time.Millisecond))
		}
		sort.Float64s(lat)
		r.P50, r.P99 = lat[len(lat)/2], lat[int(0.99*float64(len(lat)-1))]
		r.PerSecond = float64(o.rate)
		return r, nil
	}
	first, last := spread(arr)
	r.PerSecond = float64(n-1) / last.Sub(first).Seconds()
	return r, nil
}

// spread is the first and the last arrival.
func spread(arr map[string]time.Time) (first, last time.Time) {
	for _, t := range arr {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

// pacedPublish publishes a warm-up event, waits for its outcome (the app is then consuming), and then
// publishes n events at rate per second; it returns when each was sent.
func pacedPublish(ctx context.Context, e *env, app *proc, n, rate int, deadline <-chan time.Time) (map[string]time.Time, error) {
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		return nil, err
	}
	warm := event.New("installation.requested", "bench", data)
	warmed := make(chan struct{})
	var once sync.Once
	sub, err := e.nc.Subscribe("outcomes.>", func(m *nats.Msg) {
		if strings.Contains(string(m.Data), warm.ID) {
			once.Do(func() { close(warmed) })
		}
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	b, _ := warm.Marshal()
	if _, err := e.js.Publish(ctx, "events.installation.requested", b, jetstream.WithMsgID(warm.ID)); err != nil {
		return nil, err
	}
	select {
	case <-warmed:
	case <-app.done:
		return nil, fmt.Errorf("%s exited: %s", app.name, app.tail())
	case <-deadline:
		return nil, fmt.Errorf("no outcome for the warm-up event")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sent := make(map[string]time.Time, n)
	var mu sync.Mutex
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		ev := event.New("installation.requested", "bench", data)
		b, _ := ev.Marshal()
		mu.Lock()
		sent[ev.ID] = time.Now()
		mu.Unlock()
		if _, err := e.js.Publish(ctx, "events.installation.requested", b, jetstream.WithMsgID(ev.ID)); err != nil {
			return nil, err
		}
	}
	return sent, nil
}

// startApp starts the app of ph as its own process: `kopru run` with a config file, or the bare loop.
func startApp(ps *procs, ph opPhase, dir, self, kopruBin, natsURL, epURL string) (*proc, error) {
	if ph.app == "bare" {
		return ps.start("bare", dir, nil, self, []string{"--phase", "bare-op", "--nats", natsURL, "--endpoint", epURL + "/api",
			"--concurrency", fmt.Sprint(ph.conc)}, nil)
	}
	hport, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`nats: {url: %q}
httpAddr: "127.0.0.1:%d"
log: {level: warn}
licrus: {url: %q}
routes:
  licrus-installation: {concurrency: %d, maxAckPending: %d}
  licrus-first-start: {enabled: false}
targets:
  licrus: {concurrency: %d}
`, natsURL, hport, epURL+"/api", ph.conc, ph.conc*2, ph.conc)
	path := filepath.Join(dir, "kopru.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return ps.start("kopru", dir, nil, kopruBin, []string{"run", "--config", path}, []string{"KOPRU_LICRUS_AUTH_TICKET=" + ticket})
}
