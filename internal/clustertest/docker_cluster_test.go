package clustertest

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnet "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kopru/kopru/internal/bus"
)

// dockerNode is one nats-server container of the cluster. Its client port is published on a fixed
// 127.0.0.1 port, which it also advertises, so clients on the host can follow the cluster's gossip and
// the port survives a restart.
type dockerNode struct {
	name     string // server name and network alias
	hostPort int
	c        *testcontainers.DockerContainer
}

// dockerCluster is three nats-server containers of deploy/docker's image on one user-defined network,
// routed to each other by alias, JetStream on file storage with sync_interval always.
type dockerCluster struct {
	t     *testing.T
	p     *testcontainers.DockerProvider
	nw    *testcontainers.DockerNetwork
	nodes []*dockerNode
}

const natsClusterConf = `# written by internal/clustertest
server_name: %[1]s
listen: 0.0.0.0:4222
client_advertise: "127.0.0.1:%[2]d"
http: 0.0.0.0:8222
jetstream {
  store_dir: /data
  sync_interval: always
}
cluster {
  name: kopru-clustertest
  listen: 0.0.0.0:6222
  routes: [nats://nats-1:6222, nats://nats-2:6222, nats://nats-3:6222]
}
`

func startDockerCluster(t *testing.T) *dockerCluster {
	t.Helper()
	c := &dockerCluster{t: t, p: requireDocker(t)}
	img := image(t, natsImage)
	c.nw = newNetwork(t)
	ports := freePorts(t, 3)
	for i := range 3 {
		n := &dockerNode{name: fmt.Sprintf("nats-%d", i+1), hostPort: ports[i]}
		conf := fmt.Sprintf(natsClusterConf, n.name, n.hostPort)
		n.c = runContainer(t, img, n.name, tcnet.WithNetwork([]string{n.name}, c.nw),
			testcontainers.WithFiles(testcontainers.ContainerFile{Reader: strings.NewReader(conf),
				ContainerFilePath: "/etc/nats/cluster.conf", FileMode: 0o644}),
			testcontainers.WithCmd("--config", "/etc/nats/cluster.conf"),
			testcontainers.WithExposedPorts("4222/tcp"),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{network.MustParsePort("4222/tcp"): {
					{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(n.hostPort)}}}
			}),
			testcontainers.WithWaitStrategy(wait.ForLog("Server is ready").WithStartupTimeout(30*time.Second)))
		c.nodes = append(c.nodes, n)
	}
	return c
}

func (c *dockerCluster) urls() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", n.hostPort))
	}
	return out
}

func (c *dockerCluster) node(name string) *dockerNode {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.t.Fatalf("no container runs server %q", name)
	return nil
}

func (c *dockerCluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// stop stops n's container (SIGTERM, SIGKILL after 2 s); start starts it again with its store.
func (c *dockerCluster) stop(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	grace := 2 * time.Second
	if err := n.c.Stop(ctx, &grace); err != nil {
		c.t.Fatalf("docker stop %s: %v", n.name, err)
	}
}

func (c *dockerCluster) start(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if err := n.c.Start(ctx); err != nil {
		c.t.Fatalf("docker start %s: %v", n.name, err)
	}
}

// pause freezes every process of n (docker pause): connections stay open, nothing answers.
func (c *dockerCluster) pause(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := c.p.Client().ContainerPause(ctx, n.c.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		c.t.Fatalf("docker pause %s: %v", n.name, err)
	}
}

func (c *dockerCluster) unpause(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := c.p.Client().ContainerUnpause(ctx, n.c.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		c.t.Fatalf("docker unpause %s: %v", n.name, err)
	}
}

// disconnect takes n off the network (its peers and its published port go away); connect puts it back
// under the same alias.
func (c *dockerCluster) disconnect(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := c.p.Client().NetworkDisconnect(ctx, c.nw.ID, client.NetworkDisconnectOptions{Container: n.c.GetContainerID(), Force: true}); err != nil {
		c.t.Fatalf("docker network disconnect %s: %v", n.name, err)
	}
}

func (c *dockerCluster) connect(n *dockerNode) {
	c.t.Helper()
	ctx, cancel := c.ctx()
	defer cancel()
	if _, err := c.p.Client().NetworkConnect(ctx, c.nw.ID, client.NetworkConnectOptions{Container: n.c.GetContainerID(),
		EndpointConfig: &network.EndpointSettings{Aliases: []string{n.name}}}); err != nil {
		c.t.Fatalf("docker network connect %s: %v", n.name, err)
	}
}

// TestDockerClusterInvariants runs Köprü's workers in this process against a 3-node nats-server cluster
// in containers (R3 streams and ledger) and, while events flow, stops the leader of EVENTS, pauses the
// leader of the ledger, and disconnects the (new) leader of EVENTS from the network, restoring each.
func TestDockerClusterInvariants(t *testing.T) {
	requireDocker(t)
	start := time.Now()
	image(t, natsImage) // built before the clock of the run starts
	built := time.Now()
	c := startDockerCluster(t)
	r := startChaosRun(t, c.urls(), runConfig{Events: 300, Over: 30 * time.Second, Settle: 90 * time.Second})
	r.note("3 nats-server containers up (%s), streams and ledger R3, %d workers running; took %.1fs",
		c.urls(), len(r.workers), time.Since(built).Seconds())
	r.publish()

	time.Sleep(3 * time.Second)
	leader := r.leader(bus.StreamEvents)
	n := c.node(leader)
	r.note("docker stop %s, leader of %s", leader, bus.StreamEvents)
	c.stop(n)
	r.note("%s stopped; %s is now led by %s", leader, bus.StreamEvents, r.leader(bus.StreamEvents))
	time.Sleep(4 * time.Second)
	c.start(n)
	r.note("docker start %s", leader)
	r.waitHealthy(30 * time.Second)

	leader = r.leader(ledgerStream)
	n = c.node(leader)
	r.note("docker pause %s, leader of %s", leader, ledgerStream)
	c.pause(n)
	time.Sleep(6 * time.Second)
	r.note("while paused, %s is led by %s", ledgerStream, r.leader(ledgerStream))
	c.unpause(n)
	r.note("docker unpause %s", leader)
	r.waitHealthy(30 * time.Second)

	leader = r.leader(bus.StreamEvents)
	n = c.node(leader)
	r.note("docker network disconnect %s, leader of %s", leader, bus.StreamEvents)
	c.disconnect(n)
	time.Sleep(6 * time.Second)
	r.note("while disconnected, %s is led by %s", bus.StreamEvents, r.leader(bus.StreamEvents))
	c.connect(n)
	r.note("docker network connect %s", leader)
	r.waitHealthy(30 * time.Second)

	r.settle()
	r.check()
	t.Logf("TIMING: image %.1fs, run %.1fs, whole test %.1fs", built.Sub(start).Seconds(), time.Since(built).Seconds(),
		time.Since(start).Seconds())
}
