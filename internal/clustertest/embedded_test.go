package clustertest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/kopru/kopru/internal/bus"
)

// embeddedNode is one in-process nats-server of a 3-node cluster. It can be shut down and started again
// on the same ports, name and store, as a restarted server would be.
type embeddedNode struct {
	name        string
	dir         string
	port, cport int // client and cluster ports on 127.0.0.1
	ns          *server.Server
}

// embeddedCluster is three in-process nats-servers with JetStream, routed to each other on 127.0.0.1.
type embeddedCluster struct {
	t      *testing.T
	nodes  []*embeddedNode
	routes []*url.URL
}

func startEmbeddedCluster(t *testing.T) *embeddedCluster {
	t.Helper()
	c := newEmbeddedCluster(t)
	for _, n := range c.nodes {
		c.start(n)
	}
	return c
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func (c *embeddedCluster) start(n *embeddedNode) {
	c.t.Helper()
	opts := &server.Options{
		ServerName: n.name,
		Host:       "127.0.0.1",
		Port:       n.port,
		JetStream:  true,
		StoreDir:   n.dir,
		NoLog:      true,
		NoSigs:     true,
		Cluster:    server.ClusterOpts{Name: "kopru-embedded", Host: "127.0.0.1", Port: n.cport},
		Routes:     c.routes,
	}
	// A restarted node recovers its JetStream store before it listens; under -race on a busy 2-core
	// machine that has taken over 10 s. A start that failed outright (its port not yet free) is tried
	// again; the whole wait is bounded.
	deadline := time.Now().Add(45 * time.Second)
	for {
		ns, err := server.NewServer(opts)
		if err != nil {
			c.t.Fatalf("nats-server %s: %v", n.name, err)
		}
		go ns.Start()
		if ns.ReadyForConnections(15 * time.Second) {
			n.ns = ns
			return
		}
		ns.Shutdown()
		ns.WaitForShutdown()
		if time.Now().After(deadline) {
			c.t.Fatalf("nats-server %s not ready within 45s", n.name)
		}
		c.t.Logf("nats-server %s not ready within 15s; starting it again", n.name)
	}
}

func (n *embeddedNode) stop() {
	if n.ns != nil {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
		n.ns = nil
	}
}

func (c *embeddedCluster) urls() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return out
}

func (c *embeddedCluster) node(name string) *embeddedNode {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.t.Fatalf("no server named %q", name)
	return nil
}

// TestEmbeddedClusterInvariants runs Köprü on three in-process nats-servers (R3 streams and ledger) and,
// while events flow, shuts down the leader of EVENTS and later the leader of the ledger, restarting each
// a few seconds later. Needs no Docker.
func TestEmbeddedClusterInvariants(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP in -short: a one-minute cluster run")
	}
	start := time.Now()
	c := startEmbeddedCluster(t)
	r := startChaosRun(t, c.urls(), runConfig{Events: 300, Over: 20 * time.Second, Settle: 90 * time.Second})
	r.note("3 servers up (%s), streams and ledger R3, %d workers running; took %.1fs", c.urls(), len(r.workers), time.Since(start).Seconds())
	r.publish()

	for _, stream := range []string{bus.StreamEvents, ledgerStream} {
		time.Sleep(3 * time.Second)
		leader := r.leader(stream)
		n := c.node(leader)
		r.note("shutting down %s, leader of %s", leader, stream)
		n.stop()
		r.note("%s is down; %s is now led by %s", leader, stream, r.leader(stream))
		time.Sleep(4 * time.Second)
		c.start(n)
		r.note("%s restarted", leader)
		r.waitHealthy(30 * time.Second)
	}

	r.settle()
	r.check()
	t.Logf("TIMING: whole test %.1fs", time.Since(start).Seconds())
}
