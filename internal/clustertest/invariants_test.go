package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/schemas"
)

// The route the cluster tests drive, end to end: Licrus ExternalCall/Create makes a new call every time
// it is asked, so a second call for one event is visible in the simulator.
const (
	route     = "licrus-installation"
	eventType = "installation.requested"
)

// ledgerStream is the stream behind the ledger bucket.
const ledgerStream = "KV_" + bus.LedgerBucket

// chaosStreams are the streams whose replicas must be current before the next fault is injected.
var chaosStreams = []string{bus.StreamEvents, bus.StreamOutcomes, bus.StreamDLQ, ledgerStream}

// runConfig sizes a chaos run.
type runConfig struct {
	Events  int           // events to publish
	Over    time.Duration // spread evenly over this long
	Workers int           // in-process Köprü workers (default 2)
	// Settle bounds the wait, after the last publish, for every event to reach a terminal record.
	Settle time.Duration
	// Route overrides the route's policy (attempt timeout, AckWait…); the zero value runs with the
	// production defaults (attempt 15 s, so a lease of 22.5 s, AckWait 30 s).
	Route config.Route
}

// chaosRun is Köprü on a 3-node cluster: in-process workers connected to all three servers, the
// Licrus simulator over loopback HTTP, a publisher, and the end-of-run invariant checks. Faults are
// injected by the test between startChaosRun and check.
type chaosRun struct {
	t       *testing.T
	cfg     runConfig
	nc      *nats.Conn
	js      jetstream.JetStream
	ledger  *ledger.Ledger
	sim     *licrussim.Sim
	workers []*app.App
	regs    []*prometheus.Registry
	logs    *observer.ObservedLogs
	data    map[string]any // the example installation, one serial number replaced per event

	start   time.Time
	pubDone chan struct{}

	mu         sync.Mutex
	published  []string
	pubAt      map[string]time.Time
	pubRetries int
	pubLastErr error
	pubFailed  error
	pubEnd     time.Time
	timeline   []string
}

// startChaosRun connects to the cluster at urls, ensures the streams and the ledger with three
// replicas, and starts the simulator and cfg.Workers Köprü workers.
func startChaosRun(t *testing.T, urls []string, cfg runConfig) *chaosRun {
	t.Helper()
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	r := &chaosRun{t: t, cfg: cfg, pubDone: make(chan struct{}), pubAt: map[string]time.Time{}}
	var kv jetstream.KeyValue
	r.nc, r.js, kv = connectCluster(t, urls)
	r.ledger = ledger.New(kv, nil)
	for _, s := range chaosStreams {
		st, err := r.js.Stream(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if n := st.CachedInfo().Config.Replicas; n != 3 {
			t.Fatalf("stream %s has %d replicas, want 3", s, n)
		}
	}

	if err := json.Unmarshal(readExample(t), &r.data); err != nil {
		t.Fatal(err)
	}
	r.sim = licrussim.New(devstack.LicrusTicket)
	// A few "not now" answers, so retries (ledger state retrying) happen during the faults too.
	r.sim.Faults.SetRates(sim.Rates{Status503: 0.03})
	srv := httptest.NewServer(r.sim)
	t.Cleanup(srv.Close)

	core, logs := observer.New(zapcore.InfoLevel)
	r.logs = logs
	off := false
	for i := range cfg.Workers {
		c := config.Config{
			NATS:    config.NATS{URL: strings.Join(urls, ",")},
			Streams: config.Streams{Replicas: 3},
			Licrus:  config.Licrus{URL: srv.URL + "/api", AuthTicket: devstack.LicrusTicket},
			Routes: map[string]config.Route{
				route:                cfg.Route,
				"licrus-first-start": {Enabled: &off},
			},
		}
		reg := prometheus.NewRegistry()
		a, err := app.New(app.Options{Config: c, Logger: zap.New(core).With(zap.Int("worker", i)), Registry: reg, NoHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = a.Start(ctx)
		cancel()
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = a.Stop(ctx)
		})
		r.workers = append(r.workers, a)
		r.regs = append(r.regs, reg)
	}
	r.start = time.Now()
	return r
}

// connectCluster connects the test to the cluster at urls and ensures Köprü's streams and ledger with
// three replicas, waiting for the cluster to elect its leaders. The test's connection fails over within
// seconds of its server hanging (a ping every second); the workers keep bus.Connect's settings.
func connectCluster(t *testing.T, urls []string) (*nats.Conn, jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.Name("clustertest"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.PingInterval(time.Second), nats.MaxPingsOutstanding(3),
		nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	var kv jetstream.KeyValue
	waitFor(t, 60*time.Second, "JetStream cluster ready with R3 streams and ledger", func(ctx context.Context) error {
		var err error
		kv, err = bus.Ensure(ctx, js, bus.StreamConfig{Replicas: 3})
		return err
	})
	return nc, js, kv
}

func readExample(t testing.TB) []byte {
	t.Helper()
	b, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// installationData is the schema example with serial as its only serial number: the simulator's record
// of a call then names the event it was made for.
func installationData(t testing.TB, serial string) json.RawMessage {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(readExample(t), &d); err != nil {
		t.Fatal(err)
	}
	return withSerial(d, serial)
}

func withSerial(d map[string]any, serial string) json.RawMessage {
	p := map[string]any{}
	for k, v := range d["product"].(map[string]any) {
		p[k] = v
	}
	p["serialNumbers"] = []string{serial}
	out := map[string]any{}
	for k, v := range d {
		out[k] = v
	}
	out["product"], out["deviceCount"] = p, 1
	b, _ := json.Marshal(out)
	return b
}

// waitFor retries f (each try bounded by 5 s) until it succeeds or d passes, then fails the test.
func waitFor(t testing.TB, d time.Duration, what string, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// note records a step of the run's timeline and logs it.
func (r *chaosRun) note(format string, args ...any) {
	s := fmt.Sprintf("%6.1fs  ", time.Since(r.start).Seconds()) + fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.timeline = append(r.timeline, s)
	r.mu.Unlock()
	r.t.Log(s)
}

// publish starts publishing cfg.Events events evenly over cfg.Over. A publish that fails is retried
// with the same Nats-Msg-Id (JetStream drops the copy if the first one did land) for up to a minute.
func (r *chaosRun) publish() {
	r.note("publishing %d events over %s", r.cfg.Events, r.cfg.Over)
	every := r.cfg.Over / time.Duration(r.cfg.Events)
	go func() {
		defer close(r.pubDone)
		next := time.Now()
		for range r.cfg.Events {
			time.Sleep(time.Until(next))
			next = next.Add(every)
			ev := event.New(eventType, "kopru/clustertest", nil)
			ev.Data = withSerial(r.data, ev.ID)
			b, _ := ev.Marshal()
			at := time.Now()
			if err := r.publishOne(ev.ID, b); err != nil {
				r.mu.Lock()
				r.pubFailed = fmt.Errorf("event %s: %w", ev.ID, err)
				r.mu.Unlock()
				return
			}
			r.mu.Lock()
			r.published = append(r.published, ev.ID)
			r.pubAt[ev.ID] = at
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.pubEnd = time.Now()
		r.mu.Unlock()
	}()
}

func (r *chaosRun) publishOne(id string, b []byte) error {
	first := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := r.js.Publish(ctx, event.EventsPrefix+eventType, b, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return nil
		}
		if time.Since(first) > time.Minute {
			return fmt.Errorf("not accepted within a minute: %w", err)
		}
		r.mu.Lock()
		r.pubRetries++
		r.pubLastErr = err
		r.mu.Unlock()
		time.Sleep(250 * time.Millisecond)
	}
}

// leader returns the server name of stream's current leader, waiting out an election.
func (r *chaosRun) leader(stream string) string {
	r.t.Helper()
	var name string
	waitFor(r.t, 30*time.Second, "leader of "+stream, func(ctx context.Context) error {
		info, err := r.streamInfo(ctx, stream)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return errors.New("no leader")
		}
		name = info.Cluster.Leader
		return nil
	})
	return name
}

func (r *chaosRun) streamInfo(ctx context.Context, stream string) (*jetstream.StreamInfo, error) {
	st, err := r.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return st.CachedInfo(), nil
}

// waitHealthy waits until every stream and the route's consumer have a leader and two current
// followers, so the next fault does not take away a quorum that has not come back yet. It logs how long
// that took; a cluster that does not heal within d is logged, not failed: the end-of-run checks decide.
func (r *chaosRun) waitHealthy(d time.Duration) {
	start := time.Now()
	var last error
	for time.Since(start) < d {
		last = r.healthy()
		if last == nil {
			r.note("cluster healthy again after %.1fs (every stream and the consumer: leader + 2 current replicas)", time.Since(start).Seconds())
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.note("cluster NOT healthy after %s: %v", d, last)
}

func (r *chaosRun) healthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	check := func(what string, ci *jetstream.ClusterInfo) error {
		if ci == nil || ci.Leader == "" {
			return fmt.Errorf("%s has no leader", what)
		}
		if len(ci.Replicas) != 2 {
			return fmt.Errorf("%s has %d followers", what, len(ci.Replicas))
		}
		for _, p := range ci.Replicas {
			if !p.Current || p.Offline {
				return fmt.Errorf("%s replica on %s is not current", what, p.Name)
			}
		}
		return nil
	}
	for _, s := range chaosStreams {
		info, err := r.streamInfo(ctx, s)
		if err != nil {
			return fmt.Errorf("stream %s: %w", s, err)
		}
		if err := check("stream "+s, info.Cluster); err != nil {
			return err
		}
	}
	c, err := r.js.Consumer(ctx, bus.StreamEvents, route)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", route, err)
	}
	return check("consumer "+route, c.CachedInfo().Cluster)
}

// settle waits for the publisher, then until the route's consumer has nothing pending or unacked and
// the outcome and dead-letter streams hold at least one record per event (or cfg.Settle passes).
func (r *chaosRun) settle() {
	r.t.Helper()
	select {
	case <-r.pubDone:
	case <-time.After(r.cfg.Over + 2*time.Minute):
		r.t.Fatal("publisher did not finish")
	}
	r.mu.Lock()
	failed, n := r.pubFailed, len(r.published)
	r.mu.Unlock()
	if failed != nil {
		r.t.Fatalf("publishing failed (the cluster did not take an event for a minute): %v", failed)
	}
	r.note("published %d events by %.1fs (%d publish retries, last error: %v)", n, r.pubEnd.Sub(r.start).Seconds(),
		r.pubRetries, r.pubLastErr)
	deadline := time.Now().Add(r.cfg.Settle)
	var state string
	for time.Now().Before(deadline) {
		done, s := r.finished(n)
		state = s
		if done {
			r.note("every event finished: %s", s)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.note("NOT settled within %s: %s", r.cfg.Settle, state)
}

func (r *chaosRun) finished(n int) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := r.js.Consumer(ctx, bus.StreamEvents, route)
	if err != nil {
		return false, err.Error()
	}
	ci := c.CachedInfo()
	records := 0
	for _, s := range []string{bus.StreamOutcomes, bus.StreamDLQ} {
		info, err := r.streamInfo(ctx, s)
		if err != nil {
			return false, err.Error()
		}
		records += int(info.State.Msgs)
	}
	s := fmt.Sprintf("consumer pending %d, ack pending %d, redelivered %d; %d outcome and dead-letter records for %d events",
		ci.NumPending, ci.NumAckPending, ci.NumRedelivered, records, n)
	return ci.NumPending == 0 && ci.NumAckPending == 0 && records >= n, s
}

// readAll returns every message of stream.
func (r *chaosRun) readAll(stream string) []jetstream.Msg {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var info *jetstream.StreamInfo
	var st jetstream.Stream
	waitFor(r.t, 30*time.Second, "stream "+stream, func(ctx context.Context) error {
		var err error
		if st, err = r.js.Stream(ctx, stream); err == nil {
			info = st.CachedInfo()
		}
		return err
	})
	if info.State.Msgs == 0 {
		return nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []jetstream.Msg
	for ctx.Err() == nil {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			out = append(out, m)
			if md, err := m.Metadata(); err == nil && md.Sequence.Stream >= info.State.LastSeq {
				return out
			}
		}
	}
	r.t.Fatalf("stream %s: read %d of %d messages before timing out", stream, len(out), info.State.Msgs)
	return nil
}

// eventRecord is everything known about one event at the end of a run.
type eventRecord struct {
	id       string
	calls    []licrussim.Call
	outcomes []map[string]any    // outcome data
	dead     []map[string]string // dead-letter headers
	ledger   string              // ledger state
}

// check verifies the invariants and logs the figures:
//   - every event has exactly one terminal record: one outcome or one dead letter, never both, never two;
//   - an outcome stands for exactly one accepted simulator call, and carries that call's number;
//   - an event the simulator accepted two or more times is dead-lettered ambiguous;
//   - outcomes = accepted calls: no worker dies in these runs, so every call's answer reached a worker;
//     an event the simulator accepted without an outcome must at least be dead-lettered ambiguous, never
//     exhausted or rejected;
//   - every accepted call belongs to a published event, and the ledger agrees with the records.
func (r *chaosRun) check() {
	t := r.t
	t.Helper()
	r.mu.Lock()
	ids := append([]string(nil), r.published...)
	r.mu.Unlock()
	recs := map[string]*eventRecord{}
	for _, id := range ids {
		recs[id] = &eventRecord{id: id}
	}
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	calls := r.sim.Calls()
	for _, c := range calls {
		id, _ := c.Body["ProductSerialNumberList"].(string)
		if rec, ok := recs[id]; ok {
			rec.calls = append(rec.calls, c)
		} else {
			problem("simulator call %d for unknown event %q", c.Number, id)
		}
	}
	outMsgs := r.readAll(bus.StreamOutcomes)
	var latencies []time.Duration
	for _, m := range outMsgs {
		env, err := event.Decode(m.Data())
		if err != nil {
			problem("outcome does not decode: %v", err)
			continue
		}
		var d map[string]any
		_ = json.Unmarshal(env.Data, &d)
		id, _ := d["requestId"].(string)
		if rec, ok := recs[id]; ok {
			rec.outcomes = append(rec.outcomes, d)
			latencies = append(latencies, env.EventTime().Sub(r.pubAt[id]))
		} else {
			problem("outcome for unknown event %q", id)
		}
	}
	dlMsgs := r.readAll(bus.StreamDLQ)
	for _, m := range dlMsgs {
		h := map[string]string{}
		for _, k := range []string{deadletter.HdrEventID, deadletter.HdrErrorClass, deadletter.HdrError, deadletter.HdrAttempts} {
			h[k] = m.Headers().Get(k)
		}
		if rec, ok := recs[h[deadletter.HdrEventID]]; ok {
			rec.dead = append(rec.dead, h)
		} else {
			problem("dead letter for unknown event %q", h[deadletter.HdrEventID])
		}
	}

	byClass := map[string]int{}
	var outcomes, multi, ambiguous1, ambiguous0, noCall, callsOfDead int
	var falseAmbiguous []string  // dead-lettered "the vendor may have acted" though it was never called
	var actedUnrecorded []string // the vendor acted once, Köprü dead-lettered ambiguous instead of an outcome
	for _, id := range ids {
		rec := recs[id]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e, _, err := r.ledger.Get(ctx, ledger.Key(route, id))
		cancel()
		if err != nil {
			rec.ledger = "(" + err.Error() + ")"
		} else {
			rec.ledger = string(e.State)
		}
		class := ""
		if len(rec.dead) > 0 {
			class = rec.dead[0][deadletter.HdrErrorClass]
		}
		switch {
		case len(rec.outcomes)+len(rec.dead) == 0:
			problem("event %s: no terminal record (calls %d, ledger %s)", id, len(rec.calls), rec.ledger)
		case len(rec.outcomes)+len(rec.dead) > 1:
			problem("event %s: %d outcomes and %d dead letters, want exactly one terminal record (calls %d)",
				id, len(rec.outcomes), len(rec.dead), len(rec.calls))
		case len(rec.outcomes) == 1:
			outcomes++
			if len(rec.calls) != 1 {
				problem("event %s: outcome after %d accepted calls, want exactly 1", id, len(rec.calls))
			} else if got, want := fmt.Sprint(rec.outcomes[0]["callNumber"]), fmt.Sprint(rec.calls[0].Number); got != want {
				problem("event %s: outcome callNumber %s, but the simulator's call was %s", id, got, want)
			}
			if rec.ledger != string(ledger.Succeeded) {
				problem("event %s: outcome published but ledger says %s", id, rec.ledger)
			}
		default:
			byClass[class]++
			callsOfDead += len(rec.calls)
			if len(rec.calls) >= 1 && class != string(deadletter.Ambiguous) {
				problem("event %s: simulator accepted %d call(s) but the dead letter says %q (%s), want ambiguous",
					id, len(rec.calls), class, rec.dead[0][deadletter.HdrError])
			}
			if rec.ledger != string(ledger.Dead) {
				problem("event %s: dead-lettered but ledger says %s", id, rec.ledger)
			}
		}
		switch n := len(rec.calls); {
		case n >= 2:
			multi++
		case n == 1 && class == string(deadletter.Ambiguous):
			ambiguous1++
			actedUnrecorded = append(actedUnrecorded, id)
		case n == 0:
			noCall++
			if class == string(deadletter.Ambiguous) {
				ambiguous0++
				falseAmbiguous = append(falseAmbiguous, id)
			}
		}
	}

	results := map[string]float64{}
	retries := map[string]float64{}
	for _, reg := range r.regs {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["route"] != route {
					continue
				}
				switch mf.GetName() {
				case "kopru_events_total":
					results[labels["result"]] += m.GetCounter().GetValue()
				case "kopru_retries_total":
					if v := m.GetCounter().GetValue(); v > 0 {
						retries[labels["reason"]] += v
					}
				case "kopru_attempts_total":
					results["(attempts)"] += m.GetCounter().GetValue()
				}
			}
		}
	}

	t.Logf("FIGURES: %d events published (publish retries %d); %d outcome records, %d dead-letter records %v",
		len(ids), r.pubRetries, len(outMsgs), len(dlMsgs), byClass)
	t.Logf("FIGURES: simulator accepted %d calls (%d requests including injected 503s); outcomes %d + calls of dead-lettered events %d = %d",
		len(calls), r.sim.Requests(), outcomes, callsOfDead, outcomes+callsOfDead)
	if outcomes+callsOfDead != len(calls) {
		problem("outcomes %d + calls of dead-lettered events %d != accepted calls %d", outcomes, callsOfDead, len(calls))
	}
	// No worker dies in these runs, so the worker that made each accepted call got its answer: every
	// accepted call must end as an outcome. Fewer outcomes means a known result was thrown away.
	if outcomes != len(calls) {
		problem("outcomes %d != accepted calls %d: the vendor acted %d time(s) without an outcome (see the NOTE above)",
			outcomes, len(calls), len(calls)-outcomes)
	}
	t.Logf("FIGURES: events with ≥2 accepted calls %d (all must be ambiguous); ambiguous after 1 call %d; ambiguous with no call %d; dead letters with no call %d",
		multi, ambiguous1, ambiguous0, noCall)
	t.Logf("FIGURES: worker results %v; retries by reason %v", results, retries)
	if len(latencies) > 0 {
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		q := func(f float64) time.Duration {
			return latencies[int(f*float64(len(latencies)-1))].Round(time.Millisecond)
		}
		t.Logf("FIGURES: publish → outcome p50 %s, p90 %s, p99 %s, max %s", q(0.5), q(0.9), q(0.99), q(1))
	}
	r.logSummary()
	if len(falseAmbiguous) > 0 {
		t.Logf("NOTE: %d event(s) dead-lettered ambiguous although the simulator never received a call for them "+
			"(safe — no loss, no second call — but an operator is told the vendor may have acted); the first:", len(falseAmbiguous))
		r.dumpEvents(falseAmbiguous[:min(2, len(falseAmbiguous))], recs)
	}
	if len(actedUnrecorded) > 0 {
		t.Logf("NOTE: %d event(s) dead-lettered ambiguous after exactly one accepted call: the vendor acted, the "+
			"worker could not record it, and the contract's answer is an ambiguous dead letter; the first:", len(actedUnrecorded))
		r.dumpEvents(actedUnrecorded[:min(2, len(actedUnrecorded))], recs)
	}
	if len(problems) > 0 {
		var named []string
		for i, p := range problems {
			if i == 20 {
				t.Errorf("… and %d more", len(problems)-20)
				break
			}
			t.Error(p)
			for id := range recs {
				if strings.Contains(p, id) && len(named) < 5 {
					named = append(named, id)
				}
			}
		}
		r.dumpEvents(named, recs)
	}
}

// logSummary logs how often each warning or error was logged by the workers.
func (r *chaosRun) logSummary() {
	count := map[string]int{}
	for _, e := range r.logs.All() {
		if e.Level >= zapcore.WarnLevel || strings.Contains(e.Message, "unknown outcome") {
			k := e.Level.String() + ": " + e.Message
			if err, ok := e.ContextMap()["error"]; ok {
				k += " — " + oneLine(fmt.Sprint(err))
				if len(k) > 200 {
					k = k[:200] + "…"
				}
			}
			count[k]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return count[keys[i]] > count[keys[j]] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %5d  %s", count[k], k)
	}
	r.t.Logf("worker log lines (warn and above):%s", b.String())
}

// dumpEvents logs what is known of events ids: calls, records, ledger state and the workers' log lines.
func (r *chaosRun) dumpEvents(ids []string, recs map[string]*eventRecord) {
	for _, id := range ids {
		rec := recs[id]
		var b strings.Builder
		fmt.Fprintf(&b, "event %s (published %s): ledger %s", id, r.pubAt[id].Format("15:04:05.000"), rec.ledger)
		for _, c := range rec.calls {
			fmt.Fprintf(&b, "\n  call %d at %s", c.Number, c.At.Format("15:04:05.000"))
		}
		for _, o := range rec.outcomes {
			fmt.Fprintf(&b, "\n  outcome %v", o)
		}
		for _, d := range rec.dead {
			fmt.Fprintf(&b, "\n  dead letter %v", d)
		}
		for _, e := range r.logs.FilterField(zap.String("event_id", id)).All() {
			fmt.Fprintf(&b, "\n  %s %s %s %v", e.Time.Format("15:04:05.000"), e.Level, e.Message, e.ContextMap())
		}
		r.t.Log(b.String())
	}
}
