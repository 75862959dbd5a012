// Package chaos is `make chaos`: it runs Köprü the way production does — several `kopru run` worker
// processes on one JetStream server, calling the vendor simulators — while it breaks things, and then
// checks that every event had its effect exactly once or was dead-lettered for an operator.
//
//	KOPRU_CHAOS=1 go test -v -count=1 -timeout 0 -run '^TestChaos$' ./test/chaos \
//	    -args [-events 10000] [-workers 3] [-duration-limit 10m] [-seed N]
//
// In the test process it starts an embedded nats-server (temporary store, a fixed free port on
// 127.0.0.1) and the simulators of devstack with random faults on every vendor request (503 with
// Retry-After, 500, hang after acting, reset after acting, slow answers). It builds cmd/kopru once into
// its temporary directory and starts N `kopru run` processes against them, publishes events of every
// type at a steady rate, and meanwhile SIGKILLs a random worker every 1–3 s (starting a new one at once)
// and restarts the nats-server once or twice. When the routes' consumers are drained and the outcome
// and dead-letter counts stop changing, it reads OUTCOMES, DLQ and the simulators' records and checks,
// per (route, event id): exactly one terminal record; an outcome only with exactly one accepted vendor
// record, matching it; two or more vendor records only under an ambiguous dead letter (DİA cards: at
// most one per carikartkodu); no vendor record under any other dead letter. It scans every worker log
// line for the simulators' credentials, DİA session ids and the examples' phone, tax and identity
// numbers. TestChaos fails listing the violations; it skips unless KOPRU_CHAOS is set, so `go test
// ./...` never starts a run. Everything listens on loopback and the run ends within -duration-limit.
package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/sim"
)

// Fault rates applied to every vendor request of every simulator.
var rates = sim.Rates{Status503: 0.03, Status500: 0.01, Hang: 0.01, Reset: 0.01, Slow: 0.05, SlowDelay: 200 * time.Millisecond}

// Route policy of the workers: short attempts so that hangs resolve fast.
const (
	attemptTimeout = 2 * time.Second
	ackWait        = 6 * time.Second
)

// options are the run's settings (TestChaos's flags).
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

// validate says what is wrong with o, if anything.
func (o options) validate() error {
	if o.events < 1 || o.workers < 1 || o.limit <= 0 || o.rate <= 0 || o.restarts < 0 || o.badShare < 0 || o.badShare > 1 {
		return fmt.Errorf("-events, -workers, -duration-limit and -rate must be positive; -server-restarts not negative; -bad-share in [0,1]")
	}
	return nil
}

// run runs the whole scenario and prints its progress and summary on out. ok is false when an
// invariant failed; err is set when the run itself could not be carried out (and then the checks did
// not run).
func run(ctx context.Context, o options, out io.Writer) (ok bool, err error) {
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

	bin := filepath.Join(dir, "kopru")
	if err := buildKopru(workCtx, bin); err != nil {
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

	s := summary{o: o, pub: pub, v: v, col: col, lr: lr, sims: sims,
		starts: starts, kills: kills, forced: forced, selfExits: selfExits, restarts: nctl.restarts, down: nctl.down,
		elapsed: time.Since(t0), pubTook: pubTook, settleTook: settleTook}
	return s.print(out), nil
}

// workerConfig is the YAML of every worker: short attempts and ack waits so faults resolve quickly,
// short circuit-open times so a burst of faults does not stall a target for 30 s.
func workerConfig() string {
	var b strings.Builder
	b.WriteString("log: {level: info, format: json}\nleansoft: {referenceGroupCode: PYTY}\nroutes:\n")
	for _, s := range routes.Builtin() {
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
