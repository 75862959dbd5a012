package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// TestProducerCannotMakeAnEventSkipARoute (issue 11, item 8): an event a producer publishes with
// Kopru-Replay-Route naming another (or no real) route used to be acked and dropped by every route
// — no call, no outcome, no dead letter. The header now counts only with the replay ticket that
// `kopru dlq replay` leaves in the ledger for that exact message.
func TestProducerCannotMakeAnEventSkipARoute(t *testing.T) {
	s := newStack(t, fast)
	ctx := context.Background()
	pub := func(env *event.Envelope, msgID, replayRoute string) []byte {
		t.Helper()
		b, _ := env.Marshal()
		m := nats.NewMsg("events." + env.Type)
		m.Data = b
		m.Header.Set(nats.MsgIdHdr, msgID)
		m.Header.Set(deadletter.HdrReplayRoute, replayRoute)
		if _, err := s.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		return b
	}
	forged := event.New("installation.requested", "hostile-producer", exampleData(t))
	pub(forged, forged.ID, "leansoft-customer")
	forgedNone := event.New("installation.requested", "hostile-producer", exampleData(t))
	pub(forgedNone, forgedNone.ID+"/replay/7", "no-such-route")
	outs := s.outcomes(2, 10*time.Second)
	if len(outs) != 2 {
		t.Fatalf("%d outcomes for the two events with a forged Kopru-Replay-Route, want 2 (they vanished)", len(outs))
	}
	if n := s.sim.Requests(); n != 2 {
		t.Fatalf("the simulator saw %d requests, want 2", n)
	}

	// A real replay for another route carries its ticket: this route leaves it alone.
	kv, err := s.js.KeyValue(ctx, bus.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	replayed := event.New("installation.requested", "test", exampleData(t))
	b, _ := replayed.Marshal()
	msgID := replayed.ID + "/replay/3"
	if err := ledger.New(kv, nil).PutReplayTicket(ctx, msgID, b, "dia-customer"); err != nil {
		t.Fatal(err)
	}
	pub(replayed, msgID, "dia-customer")
	st, _ := s.js.Stream(ctx, bus.StreamEvents)
	cons, err := st.Consumer(ctx, "licrus-installation")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ci, err := cons.Info(ctx)
		if err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.AckFloor.Stream >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ticketed replay was not settled: %+v %v", ci, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if outs := s.outcomes(-1, 200*time.Millisecond); len(outs) != 2 {
		t.Fatalf("%d outcomes, want 2: the replay meant for dia-customer ran here", len(outs))
	}
	if dl := s.deadLetters(-1, 50*time.Millisecond); len(dl) != 0 {
		t.Fatalf("%d dead letters, want 0", len(dl))
	}
	if n := s.sim.Requests(); n != 2 {
		t.Fatalf("the simulator saw %d requests, want 2", n)
	}
}
