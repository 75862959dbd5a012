package chaos

import (
	"fmt"
	"net"
	"sync"
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
