package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
)

// The tests here run the real `kopru run` binary, compiled once per test binary, against an in-process
// 3-node cluster with nothing pre-created: kopru creates the R3 streams, the ledger and its consumer.

var (
	binOnce sync.Once
	binPath string
	binDir  string
)

// kopruBinary compiles ./cmd/kopru once for every test of this binary (removed by TestMain).
func kopruBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kopru-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
		start := time.Now()
		goBuild(t, moduleRoot(t), filepath.Join(dir, "kopru"), "./cmd/kopru")
		binPath = filepath.Join(dir, "kopru")
		t.Logf("built kopru in %.1fs", time.Since(start).Seconds())
	})
	if binPath == "" {
		t.Fatal("kopru binary not built (see the first test's failure)")
	}
	return binPath
}

func removeBinaries() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// kopruProc is one `kopru run` process: its HTTP address and its log lines (JSON, one per line).
type kopruProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs []map[string]any
	raw  bytes.Buffer
	done chan struct{}
}

// startKopru runs `kopru run` for the Licrus installation route against urls with R3 streams, the
// simulator at simURL, and production timings. It is stopped (SIGTERM) when the test ends.
func startKopru(t *testing.T, urls []string, simURL string) *kopruProc {
	t.Helper()
	bin := kopruBinary(t)
	cfgFile := filepath.Join(t.TempDir(), "kopru.yaml")
	if err := os.WriteFile(cfgFile, []byte("routes:\n  licrus-first-start: {enabled: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &kopruProc{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0]), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", cfgFile)
	p.cmd.Env = append(os.Environ(),
		"KOPRU_NATS_URL="+strings.Join(urls, ","), "KOPRU_STREAM_REPLICAS=3", "KOPRU_HTTP_ADDR="+p.addr,
		"KOPRU_LICRUS_URL="+simURL+"/api", "KOPRU_LICRUS_AUTH_TICKET="+devstack.LicrusTicket,
		"KOPRU_LOG_LEVEL=info", "KOPRU_LOG_FORMAT=json", "KOPRU_CONFIG=", "KOPRU_NATS_CREDS=")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(stderr)
	t.Cleanup(p.stop)
	return p
}

func (p *kopruProc) readLogs(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		line := sc.Bytes()
		p.mu.Lock()
		p.raw.Write(line)
		p.raw.WriteByte('\n')
		if json.Unmarshal(line, &m) == nil {
			p.logs = append(p.logs, m)
		}
		p.mu.Unlock()
	}
}

func (p *kopruProc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-exited
	}
	<-p.done
	if p.t.Failed() {
		p.mu.Lock()
		p.t.Logf("kopru run's log:\n%s", p.raw.String())
		p.mu.Unlock()
	}
}

// lines returns the log lines whose message is msg.
func (p *kopruProc) lines(msg string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, m := range p.logs {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// get returns the status code and the decoded JSON body of GET path (0 when nothing answers).
func (p *kopruProc) get(path string) (int, map[string]any) {
	c := &http.Client{Timeout: 3 * time.Second}
	res, err := c.Get("http://" + p.addr + path)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// waitReady waits until /readyz answers 200; it fails the test if the process exits first.
func (p *kopruProc) waitReady(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var last map[string]any
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("kopru run exited while starting:\n%s", p.raw.String())
		default:
		}
		code, body := p.get("/readyz")
		if code == http.StatusOK {
			return
		}
		last = body
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("kopru run not ready within %s; last /readyz %v", d, last)
}

// binaryRun is a chaosRun whose worker is a kopru process: the publisher and the invariant checks are
// the in-process runs' own.
func binaryRun(t *testing.T, c *embeddedCluster, cfg runConfig) (*chaosRun, *httptest.Server) {
	t.Helper()
	r := &chaosRun{t: t, cfg: cfg, pubDone: make(chan struct{}), pubAt: map[string]time.Time{}}
	nc, err := nats.Connect(strings.Join(c.urls(), ","), nats.Name("clustertest"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.PingInterval(time.Second), nats.MaxPingsOutstanding(3),
		nats.Timeout(2*time.Second), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	r.nc = nc
	r.js, _ = jetstream.New(nc)
	_, r.logs = observer.New(zapcore.InfoLevel) // kopru's own log is checked from its stderr
	if err := json.Unmarshal(readExample(t), &r.data); err != nil {
		t.Fatal(err)
	}
	r.sim = licrussim.New(devstack.LicrusTicket)
	srv := httptest.NewServer(r.sim)
	t.Cleanup(srv.Close)
	return r, srv
}

// attach binds the run to the ledger kopru created, and checks every stream has three replicas.
func (r *chaosRun) attach() {
	r.t.Helper()
	waitFor(r.t, 30*time.Second, "ledger bucket", func(ctx context.Context) error {
		kv, err := r.js.KeyValue(ctx, bus.LedgerBucket)
		if err == nil {
			r.ledger = ledger.New(kv, nil)
		}
		return err
	})
	for _, s := range chaosStreams {
		info, err := r.streamInfo(context.Background(), s)
		if err != nil {
			r.t.Fatal(err)
		}
		if n := info.Config.Replicas; n != 3 {
			r.t.Fatalf("stream %s has %d replicas, want 3", s, n)
		}
	}
	r.start = time.Now()
}

// simFaultSlow makes the vendor take ~500 ms over every call, so a fault lands while calls are in flight.
var simFaultSlow = sim.Fault{Delay: 500 * time.Millisecond}

// newEmbeddedCluster prepares three nodes without starting any (startEmbeddedCluster starts all three).
func newEmbeddedCluster(t *testing.T) *embeddedCluster {
	t.Helper()
	ports := freePorts(t, 6)
	c := &embeddedCluster{t: t}
	for i := range 3 {
		n := &embeddedNode{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), port: ports[2*i], cport: ports[2*i+1]}
		c.nodes = append(c.nodes, n)
		c.routes = append(c.routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", n.cport)})
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.stop()
		}
	})
	return c
}

// waitMetaLeader returns the node that leads JetStream's meta group once all three see each other.
func (c *embeddedCluster) waitMetaLeader(t *testing.T) *embeddedNode {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.ns != nil && n.ns.JetStreamIsLeader() && len(n.ns.JetStreamClusterPeers()) == len(c.nodes) {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no JetStream meta leader within 30s")
	return nil
}

// checkRetryLines asserts kopru logged each setup retry as one line with the error and the next wait.
func checkRetryLines(t *testing.T, p *kopruProc) int {
	t.Helper()
	lines := p.lines("JetStream setup not done yet; retrying")
	for _, l := range lines {
		if l["error"] == nil || l["wait"] == nil {
			t.Errorf("retry line without error or wait: %v", l)
		}
	}
	return len(lines)
}

// TestKopruRunWaitsForAClusterBooting (case a): the first server of a fresh cluster is up, the other
// two are not, so JetStream has no meta leader. kopru run stays up (/healthz 200, /readyz and ingest
// 503 with the reason, one log line per retry); once the other two boot it creates everything with
// three replicas and serves, and every event ends in exactly one terminal record.
func TestKopruRunWaitsForAClusterBooting(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP in -short: builds kopru and runs a 3-node cluster")
	}
	kopruBinary(t)
	c := newEmbeddedCluster(t)
	c.start(c.nodes[0])
	r, srv := binaryRun(t, c, runConfig{Events: 60, Over: 3 * time.Second, Settle: 45 * time.Second})
	p := startKopru(t, c.urls(), srv.URL)

	deadline := time.Now().Add(20 * time.Second)
	var reason string
	for time.Now().Before(deadline) && (reason == "" || len(p.lines("JetStream setup not done yet; retrying")) < 2) {
		time.Sleep(200 * time.Millisecond)
		if code, _ := p.get("/healthz"); code != http.StatusOK {
			continue
		}
		code, body := p.get("/readyz")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("/readyz %d %v on a cluster without a meta leader", code, body)
		}
		reason, _ = body["reason"].(string)
	}
	if !strings.Contains(reason, "waiting for JetStream") {
		t.Fatalf("/readyz reason %q", reason)
	}
	if code, body := p.get("/v1/admin/status"); code != http.StatusServiceUnavailable || body["status"] != "starting" {
		t.Fatalf("admin API while starting: %d %v", code, body)
	}
	n := checkRetryLines(t, p)
	t.Logf("while one server of three was up: /readyz 503 %q; %d retry lines", reason, n)
	if n < 2 {
		t.Fatalf("%d retry log lines, want one per retry", n)
	}

	c.start(c.nodes[1])
	c.start(c.nodes[2])
	p.waitReady(45 * time.Second)
	r.attach()
	if len(p.lines("JetStream setup done")) != 1 {
		t.Error("no \"JetStream setup done\" line")
	}
	r.publish()
	r.settle()
	r.check()
}

// TestKopruRunSurvivesMetaLeaderLossAtStartup (case b): the JetStream meta leader is stopped as kopru
// run starts its setup; kopru waits for the new leader, creates everything and serves.
func TestKopruRunSurvivesMetaLeaderLossAtStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP in -short: builds kopru and runs a 3-node cluster")
	}
	kopruBinary(t)
	c := startEmbeddedCluster(t)
	leader := c.waitMetaLeader(t)
	r, srv := binaryRun(t, c, runConfig{Events: 60, Over: 3 * time.Second, Settle: 45 * time.Second})
	p := startKopru(t, c.urls(), srv.URL)
	waitFor(t, 20*time.Second, "kopru's HTTP server", func(context.Context) error {
		if code, _ := p.get("/healthz"); code != http.StatusOK {
			return fmt.Errorf("healthz %d", code)
		}
		return nil
	})
	leader.stop()
	stopped := time.Now()
	t.Logf("meta leader %s stopped as kopru started", leader.name)
	time.Sleep(3 * time.Second)
	c.start(leader)
	t.Logf("%s restarted after %.1fs", leader.name, time.Since(stopped).Seconds())
	p.waitReady(45 * time.Second)
	t.Logf("kopru ready %.1fs after the meta leader stopped, after %d setup retries", time.Since(stopped).Seconds(), checkRetryLines(t, p))
	r.attach()
	r.publish()
	r.settle()
	r.check()
}

// TestKopruRunSurvivesStreamLeaderLossMidCall (case c): the vendor answers in ~500 ms, and the leader
// of EVENTS is stopped while calls are in flight; every event still ends in exactly one terminal
// record and no event is called twice silently.
func TestKopruRunSurvivesStreamLeaderLossMidCall(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP in -short: builds kopru and runs a 3-node cluster")
	}
	kopruBinary(t)
	c := startEmbeddedCluster(t)
	r, srv := binaryRun(t, c, runConfig{Events: 80, Over: 4 * time.Second, Settle: 50 * time.Second})
	r.sim.Faults.Always(&simFaultSlow)
	p := startKopru(t, c.urls(), srv.URL)
	p.waitReady(45 * time.Second)
	r.attach()
	r.publish()
	time.Sleep(1500 * time.Millisecond)
	leader := r.leader(bus.StreamEvents)
	n := c.node(leader)
	calls, reqs := len(r.sim.Calls()), r.sim.Requests()
	r.note("stopping %s, leader of %s (calls done %d, vendor requests %d: %d in flight)", leader, bus.StreamEvents, calls, reqs, reqs-calls)
	if reqs == calls {
		t.Error("no call was in flight when the leader stopped: the test did not test what it says")
	}
	n.stop()
	r.note("%s is down; %s now led by %s", leader, bus.StreamEvents, r.leader(bus.StreamEvents))
	time.Sleep(3 * time.Second)
	c.start(n)
	r.note("%s restarted", leader)
	r.settle()
	r.check()
	if code, _ := p.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d after the leader came back", code)
	}
}
