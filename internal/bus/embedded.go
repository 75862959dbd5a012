package bus

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	Dir        string // JetStream file store; required
	Host       string // default 127.0.0.1
	Port       int    // 0 or -1 picks a free port
	SyncAlways bool   // fsync every write (production durability; see README "Durability")
}

// ErrPortTaken is wrapped by StartEmbedded's error when its client port is in use already (another
// kopru or nats-server listens there).
var ErrPortTaken = errors.New("the port is taken")

// StartEmbedded starts a JetStream-enabled nats-server in this process and waits until it accepts
// connections. The caller owns it: Shutdown and WaitForShutdown when done.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded nats-server: a store directory is required")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := cfg.Port
	if port <= 0 {
		port = server.RANDOM_PORT
	}
	if port > 0 {
		// nats-server only logs a failed listen and never becomes ready: find out here, at once.
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("embedded nats-server: %w: %s is in use by another process", ErrPortTaken, addr)
			}
			return nil, fmt.Errorf("embedded nats-server: listen on %s: %w", addr, err)
		}
		_ = ln.Close()
	}
	opts := &server.Options{
		ServerName: "kopru-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		SyncAlways: cfg.SyncAlways,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats-server did not become ready within 10s")
	}
	return ns, nil
}
