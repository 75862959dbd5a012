package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

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

// buildKopru compiles cmd/kopru (by import path, so the test's working directory does not matter)
// into bin, a file in the run's temporary directory.
func buildKopru(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kopru/kopru/cmd/kopru")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/kopru: %w\n%s", err, out)
	}
	return nil
}
