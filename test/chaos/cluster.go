package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/kopru/kopru/internal/bus"
)

// natsCtl owns the embedded nats-server: one store directory and one fixed loopback port, so that a
// restart comes back where the workers expect it.
type natsCtl struct {
	dir  string
	port int

	mu       sync.Mutex
	ns       *server.Server
	restarts int
	down     time.Duration // total time the server was away
}

func (n *natsCtl) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsCtl) start() error {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: n.dir, Host: "127.0.0.1", Port: n.port})
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.ns = ns
	n.mu.Unlock()
	return nil
}

// restart shuts the server down, waits pause, and starts it again on the same port and store.
func (n *natsCtl) restart(pause time.Duration) error {
	n.mu.Lock()
	ns := n.ns
	n.ns = nil
	n.mu.Unlock()
	t0 := time.Now()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	time.Sleep(pause)
	var err error
	for i := 0; i < 20; i++ { // the port may linger for a moment after shutdown
		if err = n.start(); err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	n.mu.Lock()
	n.restarts++
	n.down += time.Since(t0)
	n.mu.Unlock()
	return err
}

func (n *natsCtl) stop() {
	n.mu.Lock()
	ns := n.ns
	n.ns = nil
	n.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// fleet supervises the `kopru run` worker processes: one slot per worker, each logging (appending) to
// worker-<slot>.log. A worker the harness killed is started again at once; one that exited by itself
// (e.g. started while the server was down) is noted and started again after a second, as a process
// supervisor would.
type fleet struct {
	bin, cfg, dir string
	env           []string
	start0        time.Time

	mu        sync.Mutex
	procs     []*proc
	starts    int
	kills     int
	selfExits []string
	stopping  bool
	restartWG sync.WaitGroup
}

type proc struct {
	slot   int
	cmd    *exec.Cmd
	done   chan struct{}
	killed bool
}

func newFleet(bin, cfg, dir string, env []string, n int) *fleet {
	return &fleet{bin: bin, cfg: cfg, dir: dir, env: env, procs: make([]*proc, n), start0: time.Now()}
}

func (f *fleet) logPath(slot int) string {
	return filepath.Join(f.dir, fmt.Sprintf("worker-%d.log", slot+1))
}

// startLocked starts the worker of slot. f.mu must be held.
func (f *fleet) startLocked(slot int) error {
	lf, err := os.OpenFile(f.logPath(slot), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(f.bin, "run", "--config", f.cfg)
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = lf, lf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("start worker %d: %w", slot+1, err)
	}
	p := &proc{slot: slot, cmd: cmd, done: make(chan struct{})}
	f.procs[slot] = p
	f.starts++
	go func() {
		err := cmd.Wait()
		lf.Close()
		close(p.done)
		f.mu.Lock()
		defer f.mu.Unlock()
		if p.killed || f.stopping {
			return
		}
		f.selfExits = append(f.selfExits, fmt.Sprintf("worker %d (pid %d) exited by itself at +%s (%v): %s",
			slot+1, cmd.Process.Pid, time.Since(f.start0).Round(time.Second), err, lastLine(f.logPath(slot))))
		f.restartWG.Add(1)
		go func() {
			defer f.restartWG.Done()
			time.Sleep(time.Second)
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.stopping && f.procs[slot] == p {
				_ = f.startLocked(slot)
			}
		}()
	}()
	return nil
}

func (f *fleet) startAll() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.procs {
		if err := f.startLocked(i); err != nil {
			return err
		}
	}
	return nil
}

// kill sends SIGKILL to the worker of slot, waits for it to die and starts a new one.
func (f *fleet) kill(slot int) {
	f.mu.Lock()
	p := f.procs[slot]
	if p == nil || f.stopping {
		f.mu.Unlock()
		return
	}
	select {
	case <-p.done: // it is already gone (exited by itself); its supervisor restarts it
		f.mu.Unlock()
		return
	default:
	}
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	f.mu.Unlock()
	<-p.done
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills++
	if !f.stopping {
		_ = f.startLocked(slot)
	}
}

// stopAll asks every worker to stop (SIGTERM: orderly shutdown) and kills those still running after
// grace.
func (f *fleet) stopAll(grace time.Duration) (forced int) {
	f.mu.Lock()
	f.stopping = true
	procs := append([]*proc(nil), f.procs...)
	f.mu.Unlock()
	f.restartWG.Wait()
	for _, p := range procs {
		if p != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(grace)
	for _, p := range procs {
		if p == nil {
			continue
		}
		select {
		case <-p.done:
		case <-deadline:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			forced++
		}
	}
	return forced
}

func (f *fleet) counts() (starts, kills int, selfExits []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts, f.kills, append([]string(nil), f.selfExits...)
}

// lastLine returns the last non-empty line of a file, shortened.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

// buildKopru compiles ./cmd/kopru of the module in root into bin.
func buildKopru(ctx context.Context, root, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kopru")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/kopru: %w\n%s", err, out)
	}
	return nil
}

// moduleRoot is the directory of the go.mod that `go` sees from the working directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the Köprü module: run from the repository (go run ./cmd/kopru-chaos)")
	}
	return filepath.Dir(mod), nil
}

// sessionRecorder wraps the simulators' handler and remembers every session id the DİA simulator hands
// out at login, so the log scan can look for them (ids of sessions never used are otherwise invisible).
type sessionRecorder struct {
	next http.Handler
	mu   sync.Mutex
	ids  map[string]bool
}

func (s *sessionRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/dia/api/v3/sis/json") {
		s.next.ServeHTTP(w, r)
		return
	}
	rec := &teeWriter{ResponseWriter: w}
	s.next.ServeHTTP(rec, r)
	var a struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(rec.buf.Bytes(), &a) == nil && a.Code == "200" && len(a.Msg) >= 8 {
		s.mu.Lock()
		s.ids[a.Msg] = true
		s.mu.Unlock()
	}
}

func (s *sessionRecorder) sessionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ids))
	for id := range s.ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.buf.Len() < 4096 {
		t.buf.Write(b)
	}
	return t.ResponseWriter.Write(b)
}

// readLines calls f for every line of path with its 1-based number.
func readLines(path string, f func(n int, line string)) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	n := 0
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			n++
			f(n, strings.TrimRight(line, "\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
