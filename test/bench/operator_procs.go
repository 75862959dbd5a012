package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
)

// procs is every child process the operator bench started; kill stops them all (SIGTERM, then SIGKILL
// after a bound). It is safe for concurrent use.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

// proc is one child process and where its output goes.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its stderr (and stdout unless captured)
	done chan struct{}
}

func (ps *procs) start(name, logDir string, stdout *os.File, bin string, args []string, env []string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = lf
	cmd.Stdout = lf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = childProcAttr() // its own process group (and, on Linux, death with the bench)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// stop ends p: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether p has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail is the end of p's log, for an error message.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// killAll stops every process still running, the last started first.
func (ps *procs) killAll() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
}

// cpuTime is the user+system CPU time process pid used so far, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14: utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15: stime
	const clkTck = 100                       // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// peakRSS is process pid's peak resident set (VmHWM) in MiB.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// httpc asks the server's monitoring port and the endpoint's counters, each request bounded.
var httpc = &http.Client{Timeout: 5 * time.Second}

// freePort is a loopback TCP port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// buildBinaries builds kopru and nats-server (the version go.mod names) into dir, the bench's temporary
// folder; by import path, so the test's working directory (test/bench) does not matter.
func buildBinaries(ctx context.Context, dir string) (kopruBin, natsBin string, err error) {
	kopruBin, natsBin = filepath.Join(dir, "kopru"), filepath.Join(dir, "nats-server")
	for _, b := range [][]string{{kopruBin, "github.com/kopru/kopru/cmd/kopru"}, {natsBin, "github.com/nats-io/nats-server/v2"}} {
		fmt.Fprintf(os.Stderr, "building %s …\n", b[1])
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", b[0], b[1])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return kopruBin, natsBin, nil
}

// startNATS starts a nats-server with JetStream on loopback, a fresh store in dir, and waits until it
// answers. It returns the process, the client URL and the monitoring URL.
func startNATS(ps *procs, bin, dir string) (*proc, string, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	mport, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	store := filepath.Join(dir, "jetstream")
	p, err := ps.start("nats-server", dir, nil, bin, []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port),
		"-m", strconv.Itoa(mport), "-js", "-sd", store}, nil)
	if err != nil {
		return nil, "", "", err
	}
	url, murl := fmt.Sprintf("nats://127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d", mport)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if resp, err := httpc.Get(murl + "/healthz?js-enabled-only=true"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, url, murl, nil
			}
		}
		if p.exited() || time.Now().After(deadline) {
			return nil, "", "", fmt.Errorf("nats-server did not become healthy: %s", p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// varzInMsgs is the count of messages the server received from clients (/varz in_msgs).
func varzInMsgs(murl string) (int64, error) {
	resp, err := httpc.Get(murl + "/varz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct {
		InMsgs int64 `json:"in_msgs"`
	}
	return v.InMsgs, json.NewDecoder(resp.Body).Decode(&v)
}

// endpointStats is what the endpoint process reports at /bench/stats.
type endpointStats struct {
	Calls    int   `json:"calls"`    // calls the simulator accepted
	Requests int64 `json:"requests"` // HTTP requests served
	MaxOpen  int64 `json:"maxOpen"`  // most requests open at once
	VendorNs int64 `json:"vendorNs"` // time spent serving them, in total
}

// serveEndpoint is the endpoint process: the Licrus simulator (AuthTicket ticket) under /api, with
// latency added to every call, counting the requests it has open; /bench/stats reports the counts. It
// prints its base URL on stdout and serves until SIGTERM.
func serveEndpoint(latency time.Duration) error {
	s := licrussim.New(ticket)
	if latency > 0 {
		s.Faults.Always(&sim.Fault{Delay: latency})
	}
	var open, maxOpen, reqs, vendorNs atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(endpointStats{Calls: s.CallCount(), Requests: reqs.Load(), MaxOpen: maxOpen.Load(), VendorNs: vendorNs.Load()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		n := open.Add(1)
		for m := maxOpen.Load(); n > m && !maxOpen.CompareAndSwap(m, n); m = maxOpen.Load() {
		}
		s.ServeHTTP(w, r)
		open.Add(-1)
		reqs.Add(1)
		vendorNs.Add(int64(time.Since(t)))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", l.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signalNotify(sig)
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// startEndpoint starts the endpoint process and returns its base URL.
func startEndpoint(ps *procs, self, dir string, latency time.Duration) (*proc, string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	p, err := ps.start("endpoint", dir, w, self, []string{"--phase", "endpoint", "--latency", latency.String()}, nil)
	w.Close()
	if err != nil {
		r.Close()
		return nil, "", err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		r.Close()
	}()
	select {
	case u, ok := <-line:
		if ok && strings.HasPrefix(u, "http://") {
			return p, u, nil
		}
	case <-time.After(15 * time.Second):
	}
	return nil, "", fmt.Errorf("endpoint did not start: %s", p.tail())
}

func getStats(base string) (endpointStats, error) {
	var st endpointStats
	resp, err := httpc.Get(base + "/bench/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// runBareProcess is the bare-loop process: the loop of startBare against the separate server natsURL and
// the endpoint's Licrus API apiURL, until SIGTERM.
func runBareProcess(natsURL, apiURL string, concurrency int) error {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	kv, err := bus.Ensure(ctx, js, bus.StreamConfig{Replicas: 1})
	cancel()
	if err != nil {
		return err
	}
	stop, err := startBare(&env{nc: nc, js: js, kv: kv, url: apiURL}, concurrency)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	<-sig
	stop()
	return nil
}
