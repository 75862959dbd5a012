package bus

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is an in-process JetStream cluster on loopback, for benchmarks and tests that need R3
// streams without containers.
type Cluster struct {
	Servers []*server.Server
	opts    []*server.Options
}

// StartCluster starts n JetStream servers named kopru-0…n-1 that route to each other on 127.0.0.1,
// each with its own store under dir, and waits until JetStream has a meta leader.
func StartCluster(n int, dir string, syncAlways bool) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("a cluster needs at least one server")
	}
	clientPorts, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	routePorts, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &Cluster{}
	for i := 0; i < n; i++ {
		o := &server.Options{
			ServerName: fmt.Sprintf("kopru-%d", i),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i)),
			SyncAlways: syncAlways,
			NoLog:      true,
			NoSigs:     true,
			MaxPayload: 8 << 20,
			Cluster:    server.ClusterOpts{Name: "kopru", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     routes,
		}
		c.opts = append(c.opts, o)
		if err := c.start(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	// Ready when a meta leader sees every server online with JetStream: before that, creating an R3
	// stream fails with "no suitable peers for placement".
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range c.Servers {
			if s != nil && s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) == n {
				return c, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Shutdown()
	return nil, fmt.Errorf("in-process cluster: no JetStream meta leader seeing all %d servers within 20s", n)
}

func (c *Cluster) start(i int) error {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		return err
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("server %d not ready", i)
	}
	if i < len(c.Servers) {
		c.Servers[i] = s
	} else {
		c.Servers = append(c.Servers, s)
	}
	return nil
}

// URLs is the comma-separated client URL list of every server.
func (c *Cluster) URLs() string {
	var u []string
	for _, o := range c.opts {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(u, ",")
}

// Restart stops server i and starts it again on the same ports and store.
func (c *Cluster) Restart(i int) error {
	c.Servers[i].Shutdown()
	c.Servers[i].WaitForShutdown()
	return c.start(i)
}

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for _, s := range c.Servers {
		if s != nil {
			s.Shutdown()
			s.WaitForShutdown()
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
