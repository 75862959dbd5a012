// Command kopru-chaos is `make chaos`: it runs Köprü the way production does — several `kopru run`
// worker processes on one JetStream server, calling the vendor simulators — while it breaks things, and
// then checks that every event had its effect exactly once or was dead-lettered for an operator.
//
//	go run ./cmd/kopru-chaos [--events 10000] [--workers 3] [--duration-limit 10m] [--seed N]
//
// In one process it starts an embedded nats-server (temporary store, a fixed free port on 127.0.0.1)
// and the simulators of devstack with random faults on every vendor request (503 with Retry-After, 500,
// hang after acting, reset after acting, slow answers). It builds ./cmd/kopru once and starts N
// `kopru run` processes against them, publishes events of every type at a steady rate, and meanwhile
// SIGKILLs a random worker every 1–3 s (starting a new one at once) and restarts the nats-server once
// or twice. When the routes' consumers are drained and the outcome and dead-letter counts stop
// changing, it reads OUTCOMES, DLQ and the simulators' records and checks, per (route, event id):
// exactly one terminal record; an outcome only with exactly one accepted vendor record, matching it;
// two or more vendor records only under an ambiguous dead letter (DİA cards: at most one per
// carikartkodu); no vendor record under any other dead letter. It scans every worker log line for the
// simulators' credentials, DİA session ids and the examples' phone, tax and identity numbers. Exit
// status 0 means every check held; 1 lists the violations; 2 is a usage error. Everything listens on
// loopback and the run ends within --duration-limit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/sim"
)

// Fault rates applied to every vendor request of every simulator.
var rates = sim.Rates{Status503: 0.03, Status500: 0.01, Hang: 0.01, Reset: 0.01, Slow: 0.05, SlowDelay: 200 * time.Millisecond}

// Route policy of the workers: short attempts so that hangs resolve fast.
const (
	attemptTimeout = 2 * time.Second
	ackWait        = 6 * time.Second
)

type options struct {
	events   int
	workers  int
	limit    time.Duration
	seed     uint64
	rate     float64
	restarts int
	badShare float64
	keep     bool
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kopru-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.events, "events", 10000, "events to publish")
	fs.IntVar(&o.workers, "workers", 3, "kopru run worker processes")
	fs.DurationVar(&o.limit, "duration-limit", 10*time.Minute, "the whole run ends within this time (fails if events have not settled)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the harness's choices (kill times, victims, restarts, bad events); 0 picks one")
	fs.Float64Var(&o.rate, "rate", 100, "events published per second")
	fs.IntVar(&o.restarts, "server-restarts", 2, "nats-server restarts during publishing")
	fs.Float64Var(&o.badShare, "bad-share", 0.02, "share of installation events made schema-invalid and of service notes aimed at an unknown DİA card")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (store, config, worker logs) even when the run passes")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./cmd/kopru-chaos [flags]\n\nRuns kopru workers under faults, kills and server restarts; checks exactly-once effects.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.events < 1 || o.workers < 1 || o.limit <= 0 || o.rate <= 0 || o.restarts < 0 || o.badShare < 0 || o.badShare > 1 {
		fmt.Fprintln(stderr, "kopru-chaos: --events, --workers, --duration-limit and --rate must be positive; --bad-share in [0,1]")
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := chaos(ctx, o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "kopru-chaos: %v\n", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// chaos runs the whole scenario. ok is false when an invariant failed; err is set when the run itself
// could not be carried out (and then the checks did not run).
func chaos(ctx context.Context, o options, out io.Writer) (ok bool, err error) {
	t0 := time.Now()
	deadline := t0.Add(o.limit)
	// Keep a reserve at the end for stopping workers, reading the streams and checking.
	reserve := min(45*time.Second, o.limit/5)
	workCtx, cancel := context.WithDeadline(ctx, deadline.Add(-reserve))
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}

	dir, err := os.MkdirTemp("", "kopru-chaos-")
	if err != nil {
		return false, err
	}
	defer func() {
		if ok && !o.keep {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(out, "kept %s (worker logs, config, JetStream store)\n", dir)
		}
	}()
	fmt.Fprintf(out, "kopru-chaos: seed %d, %d workers, %d events at %.0f/s, limit %s, dir %s\n", o.seed, o.workers, o.events, o.rate, o.limit, dir)
	fmt.Fprintf(out, "faults on every vendor request: 503+Retry-After %.0f%%, 500 %.0f%%, hang after act %.0f%%, reset after act %.0f%%, slow %.0f%% (%s)\n",
		rates.Status503*100, rates.Status500*100, rates.Hang*100, rates.Reset*100, rates.Slow*100, rates.SlowDelay)

	root, err := moduleRoot()
	if err != nil {
		return false, err
	}
	bin := filepath.Join(dir, "kopru")
	if err := buildKopru(workCtx, root, bin); err != nil {
		return false, err
	}
	logf("built %s", bin)

	// Simulators, with faults, behind a recorder of DİA session ids.
	sims := devstack.New()
	sims.Licrus.Faults.SetRates(rates)
	sims.LeanSoft.Faults.SetRates(rates)
	sims.DIA.Faults.SetRates(rates)
	rec := &sessionRecorder{next: sims, ids: map[string]bool{}}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	simSrv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	simURL := "http://" + simLn.Addr().String()
	logf("simulators on %s", simURL)

	// The nats-server: a fixed free port, so restarts come back at the same address.
	port, err := freePort()
	if err != nil {
		return false, err
	}
	nctl := &natsCtl{dir: filepath.Join(dir, "nats"), port: port}
	if err := nctl.start(); err != nil {
		return false, err
	}
	defer nctl.stop()
	nc, err := bus.Connect(bus.ConnectOptions{URL: nctl.url(), Name: "kopru-chaos"})
	if err != nil {
		return false, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false, err
	}
	if _, err := bus.Ensure(workCtx, js, bus.StreamConfig{}); err != nil {
		return false, err
	}
	logf("nats-server on %s (store %s)", nctl.url(), nctl.dir)

	// Workers.
	cfgPath := filepath.Join(dir, "kopru.yaml")
	if err := os.WriteFile(cfgPath, []byte(workerConfig()), 0o600); err != nil {
		return false, err
	}
	fl := newFleet(bin, cfgPath, dir, workerEnv(nctl.url(), simURL), o.workers)
	if err := fl.startAll(); err != nil {
		return false, err
	}
	stopped := false
	defer func() {
		if !stopped {
			fl.stopAll(5 * time.Second)
		}
	}()
	logf("started %d `kopru run` workers (logs %s)", o.workers, filepath.Join(dir, "worker-*.log"))

	// Publish at a steady rate while killing workers and restarting the server.
	rng := rand.New(rand.NewPCG(o.seed, 0x6b6f707275))
	gen, err := newGenerator(rand.New(rand.NewPCG(o.seed, 1)), o.badShare)
	if err != nil {
		return false, err
	}
	pubDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		killLoop(workCtx, rand.New(rand.NewPCG(o.seed, 2)), fl, o.workers, pubDone)
	}()
	pubSpan := time.Duration(float64(o.events) / o.rate * float64(time.Second))
	restartAt := make([]time.Duration, o.restarts)
	for i := range restartAt {
		restartAt[i] = time.Duration((0.2 + 0.6*rng.Float64()) * float64(pubSpan))
	}
	sort.Slice(restartAt, func(i, j int) bool { return restartAt[i] < restartAt[j] })
	var restartErr error
	go func() {
		defer wg.Done()
		restartErr = restartLoop(workCtx, rng, nctl, restartAt, pubDone, logf)
	}()
	tPub := time.Now()
	pub, pubErr := publish(workCtx, js, gen, o, logf)
	pubTook := time.Since(tPub)
	close(pubDone)
	wg.Wait()
	if pubErr != nil {
		return false, fmt.Errorf("publishing stopped after %d of %d events: %w", len(pub), o.events, pubErr)
	}
	if restartErr != nil {
		return false, fmt.Errorf("nats-server restart: %w", restartErr)
	}
	_, kills, _ := fl.counts()
	logf("published %d events in %s; %d worker kills, %d server restarts; waiting for the routes to settle",
		len(pub), pubTook.Round(100*time.Millisecond), kills, nctl.restarts)

	// Settle: every consumer drained and the terminal counts steady.
	routes := routesOf()
	tSettle := time.Now()
	settleErr := settle(workCtx, js, logf)
	settleTook := time.Since(tSettle)

	forced := fl.stopAll(20 * time.Second)
	stopped = true
	starts, kills, selfExits := fl.counts()

	// Read everything and check.
	rctx, rcancel := context.WithDeadline(ctx, deadline)
	defer rcancel()
	col, err := collect(rctx, js, sims, pub, routes)
	if err != nil {
		return false, fmt.Errorf("reading outcomes, dead letters and simulator records: %w", err)
	}
	v := check(col, pub, routes)
	lr, err := scanLogs(dir, rec.sessionIDs())
	if err != nil {
		return false, fmt.Errorf("scanning worker logs: %w", err)
	}
	if settleErr != nil {
		v.violations = append([]string{fmt.Sprintf("events did not settle: %v", settleErr)}, v.violations...)
	}
	for _, k := range v.missing {
		v.violations = append(v.violations, fmt.Sprintf("%s %s (%s): no outcome and no dead letter", k.route, k.id, pub[k.id].typ))
	}
	for _, l := range lr.leaks {
		v.violations = append(v.violations, "worker log leaks "+l)
	}

	// Report.
	byType := map[string]int{}
	bad := map[kind]int{}
	for _, p := range pub {
		byType[p.typ]++
		bad[p.kind]++
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "── kopru-chaos summary ─────────────────────────────────────────────")
	fmt.Fprintf(out, "seed              %d\n", o.seed)
	fmt.Fprintf(out, "events published  %d (", len(pub))
	for i, t := range eventTypes {
		if i > 0 {
			fmt.Fprint(out, ", ")
		}
		fmt.Fprintf(out, "%s %d", t, byType[t])
	}
	fmt.Fprintf(out, "); deliberately bad: %d schema-invalid, %d notes for unknown cards\n", bad[kindInvalid], bad[kindRejected])
	fmt.Fprintf(out, "route events      %d expected (customer.created feeds two routes)\n", v.expected)
	fmt.Fprintf(out, "outcomes          %d (distinct route+requestId; %d messages in OUTCOMES)\n", v.outcomes, col.outMsgs)
	fmt.Fprintf(out, "dead letters      %d (%d messages in DLQ):", v.dead, col.dlqMsgs)
	for _, c := range []string{"ambiguous", "invalid", "rejected", "exhausted"} {
		fmt.Fprintf(out, " %s %d", c, v.classes[c])
	}
	fmt.Fprintln(out)
	if len(v.ambiguous) > 0 {
		fmt.Fprint(out, "  ambiguous by cause:")
		for _, c := range sortedKeys(v.ambiguous) {
			fmt.Fprintf(out, " %s %d;", c, v.ambiguous[c])
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "no terminal record %d\n", len(v.missing))
	fmt.Fprintf(out, "vendor records per route event (simulators' accepted records): 0: %d  1: %d  2+: %d\n", v.histAll[0], v.histAll[1], v.histAll[2])
	for _, s := range app.Table {
		h := v.hist[s.Name]
		fmt.Fprintf(out, "  %-20s 0: %5d  1: %5d  2+: %d\n", s.Name, h[0], h[1], h[2])
	}
	fmt.Fprintf(out, "vendor requests   Licrus %d, Lean Soft %d, DİA ekle %d / listele %d / logins %d\n",
		sims.Licrus.Requests(), sims.LeanSoft.Requests(), sims.DIA.EkleCalls(), sims.DIA.ListCalls(), sims.DIA.Logins())
	fmt.Fprintf(out, "worker kills      %d SIGKILL (%d worker starts; %d exited by themselves; %d needed SIGKILL at the end)\n", kills, starts, len(selfExits), forced)
	for _, s := range selfExits {
		fmt.Fprintf(out, "  %s\n", s)
	}
	fmt.Fprintf(out, "server restarts   %d (away %s in total)\n", nctl.restarts, nctl.down.Round(10*time.Millisecond))
	fmt.Fprintf(out, "log scan          %d files, %d lines (%s); looked for %d secrets, personal numbers and %d DİA session ids: %d hits; %d panics\n",
		lr.files, lr.lines, levels(lr.levels), len(forbidden()), lr.sessionIDs, len(lr.leaks), lr.panics)
	for _, e := range lr.topErrors {
		fmt.Fprintf(out, "  %s\n", e)
	}
	fmt.Fprintf(out, "elapsed           %s (publish %s, settle %s)\n", time.Since(t0).Round(100*time.Millisecond),
		pubTook.Round(100*time.Millisecond), settleTook.Round(100*time.Millisecond))
	if len(v.violations) == 0 {
		fmt.Fprintln(out, "RESULT: PASS — every event has exactly one terminal record; no double effects; no leaks")
		return true, nil
	}
	fmt.Fprintf(out, "RESULT: FAIL — %d violation(s):\n", len(v.violations))
	for i, s := range v.violations {
		if i == 100 {
			fmt.Fprintf(out, "  … and %d more\n", len(v.violations)-100)
			break
		}
		fmt.Fprintf(out, "  - %s\n", s)
	}
	return false, nil
}

// workerConfig is the YAML of every worker: short attempts and ack waits so faults resolve quickly,
// short circuit-open times so a burst of faults does not stall a target for 30 s.
func workerConfig() string {
	var b strings.Builder
	b.WriteString("log: {level: info, format: json}\nleansoft: {referenceGroupCode: PYTY}\nroutes:\n")
	for _, s := range app.Table {
		fmt.Fprintf(&b, "  %s: {attemptTimeout: %s, ackWait: %s}\n", s.Name, attemptTimeout, ackWait)
	}
	b.WriteString("targets:\n")
	for _, t := range []string{"licrus", "leansoft", "dia"} {
		fmt.Fprintf(&b, "  %s: {openFor: 3s}\n", t)
	}
	return b.String()
}

// workerEnv is the environment of a worker: this process's, minus any KOPRU_*, plus NATS and the
// simulators' URLs and credentials as devstack.Configure sets them.
func workerEnv(natsURL, simURL string) []string {
	var cfg config.Config
	devstack.Configure(&cfg, simURL)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KOPRU_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"KOPRU_NATS_URL="+natsURL,
		"KOPRU_HTTP_ADDR=127.0.0.1:0",
		"KOPRU_LICRUS_URL="+cfg.Licrus.URL,
		"KOPRU_LICRUS_AUTH_TICKET="+cfg.Licrus.AuthTicket,
		"KOPRU_LEANSOFT_URL="+cfg.LeanSoft.URL,
		"KOPRU_LEANSOFT_COMPANY_ID="+cfg.LeanSoft.CompanyID,
		"KOPRU_LEANSOFT_AUTH_HEADER="+cfg.LeanSoft.AuthHeader,
		"KOPRU_LEANSOFT_AUTH_VALUE="+cfg.LeanSoft.AuthValue,
		"KOPRU_DIA_URL="+cfg.DIA.URL,
		"KOPRU_DIA_USERNAME="+cfg.DIA.Username,
		"KOPRU_DIA_PASSWORD="+cfg.DIA.Password,
		"KOPRU_DIA_API_KEY="+cfg.DIA.APIKey,
		fmt.Sprintf("KOPRU_DIA_FIRMA_KODU=%d", cfg.DIA.FirmaKodu),
		fmt.Sprintf("KOPRU_DIA_DONEM_KODU=%d", cfg.DIA.DonemKodu),
	)
}

// publish sends o.events events at o.rate per second. A publish that fails (the server is restarting)
// is repeated with the same Nats-Msg-Id until JetStream acknowledges it, so no event is lost or doubled.
func publish(ctx context.Context, js jetstream.JetStream, gen *generator, o options, logf func(string, ...any)) (map[string]published, error) {
	pub := make(map[string]published, o.events)
	start := time.Now()
	retried := 0
	for i := 0; i < o.events; i++ {
		if d := time.Until(start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return pub, ctx.Err()
			}
		}
		env, p, err := gen.next(i)
		if err != nil {
			return pub, err
		}
		b, err := env.Marshal()
		if err != nil {
			return pub, err
		}
		m := nats.NewMsg(event.EventsPrefix + env.Type)
		m.Data = b
		for attempt := 0; ; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.PublishMsg(pctx, m, jetstream.WithMsgID(env.ID))
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return pub, ctx.Err()
			}
			if attempt == 0 {
				retried++
			}
			time.Sleep(200 * time.Millisecond)
		}
		pub[env.ID] = p
		if (i+1)%2000 == 0 {
			logf("published %d/%d", i+1, o.events)
		}
	}
	if retried > 0 {
		logf("%d publishes were repeated (server away); JetStream deduplicates them by event id", retried)
	}
	return pub, nil
}

// killLoop SIGKILLs a random worker every 1–3 s (and starts a new one) until done closes.
func killLoop(ctx context.Context, rng *rand.Rand, fl *fleet, n int, done <-chan struct{}) {
	for {
		wait := time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
		select {
		case <-time.After(wait):
		case <-done:
			return
		case <-ctx.Done():
			return
		}
		fl.kill(rng.IntN(n))
	}
}

// restartLoop restarts the nats-server at each offset of at (from now) until done closes.
func restartLoop(ctx context.Context, rng *rand.Rand, n *natsCtl, at []time.Duration, done <-chan struct{}, logf func(string, ...any)) error {
	t0 := time.Now()
	for _, a := range at {
		select {
		case <-time.After(time.Until(t0.Add(a))):
		case <-done:
			return nil
		case <-ctx.Done():
			return nil
		}
		pause := 500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		logf("restarting the nats-server (away %s)", pause.Round(10*time.Millisecond))
		if err := n.restart(pause); err != nil {
			return err
		}
		logf("nats-server back on %s", n.url())
	}
	return nil
}

// settle waits until every route's consumer has nothing pending or awaiting an ack and the number of
// outcomes and dead letters has not changed for a few seconds.
func settle(ctx context.Context, js jetstream.JetStream, logf func(string, ...any)) error {
	type snap struct{ pending, ackPending, outcomes, dead uint64 }
	var last snap
	stable := 0
	lastLog := time.Now()
	for {
		var s snap
		var problem error
		for _, spec := range app.Table {
			info, err := consumerInfo(ctx, js, spec.Name)
			if err != nil {
				problem = fmt.Errorf("consumer %s: %w", spec.Name, err)
				break
			}
			s.pending += info.NumPending
			s.ackPending += uint64(info.NumAckPending)
		}
		if problem == nil {
			s.outcomes, problem = streamMsgs(ctx, js, bus.StreamOutcomes)
		}
		if problem == nil {
			s.dead, problem = streamMsgs(ctx, js, bus.StreamDLQ)
		}
		if problem == nil && s.pending == 0 && s.ackPending == 0 && s == last {
			stable++
		} else {
			stable = 0
		}
		last = s
		if stable >= 4 {
			logf("settled: %d outcomes, %d dead letters, nothing pending", s.outcomes, s.dead)
			return nil
		}
		if time.Since(lastLog) >= 5*time.Second {
			logf("settling: pending %d, awaiting ack %d, outcomes %d, dead letters %d", s.pending, s.ackPending, s.outcomes, s.dead)
			lastLog = time.Now()
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("still %d pending and %d awaiting ack when the time limit came (outcomes %d, dead letters %d; last error: %v)",
				last.pending, last.ackPending, last.outcomes, last.dead, problem)
		}
	}
}

func consumerInfo(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(ctx, bus.StreamEvents, name)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

func levels(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
