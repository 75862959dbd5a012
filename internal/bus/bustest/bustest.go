// Package bustest starts an embedded JetStream server for a test: one place for what every package's
// tests need (a real broker, never a mock), cleaned up with the test.
package bustest

import (
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
)

// Server is an embedded JetStream server with a client connection.
type Server struct {
	*server.Server
	URL string
	NC  *nats.Conn
	JS  jetstream.JetStream
}

// Start runs a JetStream server on a free loopback port with its store in t.TempDir(), and connects
// to it. Both are closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{Server: ns, URL: ns.ClientURL(), NC: nc, JS: js}
}

// Ensure creates Köprü's streams and ledger bucket in memory and returns the bucket.
func (s *Server) Ensure(t testing.TB) jetstream.KeyValue {
	t.Helper()
	kv, err := bus.Ensure(context.Background(), s.JS, bus.StreamConfig{MemoryStorage: true})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}
