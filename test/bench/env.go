package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/schemas"
)

// ticket is the Licrus simulator's AuthTicket in every phase.
const ticket = "bench-ticket"

// env is one phase's world: an embedded server, streams, the simulator.
type env struct {
	ns  interface{ Shutdown() }
	nc  *nats.Conn
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	sim *licrussim.Sim
	url string
	dir string
	srv *httptest.Server

	open, maxOpen atomic.Int64 // requests the simulator has open, and the most it had at once
}

func setup(latency time.Duration) (*env, error) { return setupWith(latency, 1, false) }

// setupWith starts one embedded server (replicas 1) or an in-process cluster of three (replicas 3).
func setupWith(latency time.Duration, replicas int, syncAlways bool) (*env, error) {
	dir, err := os.MkdirTemp("", "kopru-bench-")
	if err != nil {
		return nil, err
	}
	var ns interface{ Shutdown() }
	var url string
	if replicas == 3 {
		c, err := bus.StartCluster(3, dir, syncAlways)
		if err != nil {
			return nil, err
		}
		ns, url = c, c.URLs()
	} else {
		s, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: dir, Port: -1, SyncAlways: syncAlways})
		if err != nil {
			return nil, err
		}
		ns, url = s, s.ClientURL()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, _ := jetstream.New(nc)
	kv, err := bus.Ensure(context.Background(), js, bus.StreamConfig{Replicas: replicas})
	if err != nil {
		return nil, err
	}
	s := licrussim.New(ticket)
	if latency > 0 {
		s.Faults.Always(&sim.Fault{Delay: latency})
	}
	e := &env{ns: ns, nc: nc, js: js, kv: kv, sim: s, dir: dir}
	// Count the requests the vendor has open at once: "in flight" is what the vendor sees.
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.open.Add(1)
		for m := e.maxOpen.Load(); n > m && !e.maxOpen.CompareAndSwap(m, n); m = e.maxOpen.Load() {
		}
		defer e.open.Add(-1)
		s.ServeHTTP(w, r)
	}))
	e.srv.Config.SetKeepAlivesEnabled(true)
	e.url = e.srv.URL + "/api"
	return e, nil
}

func (e *env) close() {
	e.srv.Close()
	e.nc.Close()
	e.ns.Shutdown()
	_ = os.RemoveAll(e.dir)
}

// preload publishes n events asynchronously and returns their ids.
func (e *env) preload(n int) ([]string, error) {
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		ev := event.New("installation.requested", "bench", data)
		ids[i] = ev.ID
		b, _ := ev.Marshal()
		if _, err := e.js.PublishAsync("events.installation.requested", b, jetstream.WithMsgID(ev.ID)); err != nil {
			return nil, err
		}
		if i%2000 == 1999 {
			<-e.js.PublishAsyncComplete()
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("preload timed out")
	}
	return ids, nil
}

// waitOutcomes counts messages on outcomes.> until n arrived.
func (e *env) outcomeWatcher(n int) (done chan struct{}, arrivals func() map[string]time.Time, err error) {
	done = make(chan struct{})
	var mu sync.Mutex
	seen := map[string]time.Time{}
	var count atomic.Int64
	_, err = e.nc.Subscribe("outcomes.>", func(m *nats.Msg) {
		now := time.Now()
		var o struct {
			Data struct {
				RequestID string `json:"requestId"`
			} `json:"data"`
		}
		_ = json.Unmarshal(m.Data, &o)
		mu.Lock()
		if _, dup := seen[o.Data.RequestID]; !dup {
			seen[o.Data.RequestID] = now
			if count.Add(1) == int64(n) {
				close(done)
			}
		}
		mu.Unlock()
	})
	return done, func() map[string]time.Time { mu.Lock(); defer mu.Unlock(); return seen }, err
}
