package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/devstack"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
)

// kopruPermissions are the NATS permissions README "NATS account and permissions" documents for
// Köprü's user; TestREADMEPermissionsAreEnough runs kopru with exactly these.
var kopruPermissions = &server.Permissions{
	Publish: &server.SubjectPermission{Allow: []string{"events.>", "outcomes.>", "dlq.>", "$JS.API.>",
		"$JS.ACK.EVENTS.>", "$KV.KOPRU_LEDGER.>"}},
	Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", "outcomes.>", "dlq.>"}},
}

// TestREADMEPermissionsAreEnough: kopru run (creating streams, ledger and consumer from nothing),
// publish, status and dlq list work for a user holding only the documented permissions, and an event
// goes all the way to its outcome.
func TestREADMEPermissionsAreEnough(t *testing.T) {
	ns := bustest.StartServer(t, false, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "kopru", Password: "kopru-pw-7d1e", Permissions: kopruPermissions},
			{Username: "admin", Password: "admin-pw-2b9c"},
		}
	})
	url := ns.ClientURL()
	sim := licrussim.New(devstack.LicrusTicket)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	off := false
	cfg := config.Config{NATS: config.NATS{URL: url, User: "kopru", Password: "kopru-pw-7d1e"}, HTTPAddr: "127.0.0.1:0",
		Licrus: config.Licrus{URL: srv.URL + "/api", AuthTicket: devstack.LicrusTicket},
		Routes: map[string]config.Route{"licrus-first-start": {Enabled: &off}}}
	a, err := app.New(app.Options{Config: cfg, MemoryStorage: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("run with the documented permissions: %v", err)
	}
	defer func() { _ = a.Stop(context.Background()) }()

	t.Setenv("KOPRU_CONFIG", "")
	t.Setenv("KOPRU_NATS_CREDS", "")
	t.Setenv("KOPRU_NATS_URL", url)
	t.Setenv("KOPRU_NATS_USER", "kopru")
	t.Setenv("KOPRU_NATS_PASSWORD", "kopru-pw-7d1e")
	example := filepath.Join("..", "..", "schemas", "examples", "installation.requested.json")
	code, out, stderr := runCLI(t, "", "publish", "installation.requested", example)
	if code != 0 {
		t.Fatalf("publish: %d %s", code, stderr)
	}
	id := strings.TrimSpace(out)
	for _, args := range [][]string{{"status"}, {"dlq", "list"}} {
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}

	nc, err := nats.Connect(url, nats.UserInfo("admin", "admin-pw-2b9c"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := js.Stream(ctx, bus.StreamOutcomes)
		if err == nil && s.CachedInfo().State.Msgs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outcome for event %s within 15s (vendor calls %d)", id, len(sim.Calls()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(sim.Calls()); n != 1 {
		t.Fatalf("%d vendor calls, want 1", n)
	}
	// The ack reached the server ($JS.ACK.EVENTS.>): nothing is left pending for redelivery.
	for {
		c, err := js.Consumer(ctx, bus.StreamEvents, "licrus-installation")
		if err != nil {
			t.Fatal(err)
		}
		if info := c.CachedInfo(); info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s still unacknowledged", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
