package httpapi

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/event"
)

// An id with no ledger entry is looked for among the latest MaxScan dead letters, not the oldest:
// a DLQ longer than MaxScan still shows the newest one, and one lookup reads no more than MaxScan.
func TestFindDeadLettersReadsTheLatest(t *testing.T) {
	bs := bustest.Start(t)
	bs.Ensure(t)
	ctx := context.Background()
	pub := func(id string) uint64 {
		m := nats.NewMsg(event.DLQPrefix + "licrus-installation")
		m.Data = []byte(`{}`)
		m.Header.Set("Kopru-Event-Id", id)
		m.Header.Set("Kopru-Error-Class", "rejected")
		ack, err := bs.JS.PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	pub("old-1")
	for i := range 20 {
		pub("other-" + strconv.Itoa(i))
	}
	newest := pub("new-1")
	ev := &Events{JS: bs.JS, MaxScan: 5}
	got, err := ev.findDeadLetters(ctx, "new-1", []string{"licrus-installation"}, time.Time{})
	if err != nil || got["licrus-installation"].ID != newest {
		t.Fatalf("newest dead letter: %+v %v, want id %d", got, err, newest)
	}
	// The oldest is past the bound now: the lookup does not read the whole DLQ for it.
	if got, err := ev.findDeadLetters(ctx, "old-1", []string{"licrus-installation"}, time.Time{}); err != nil || len(got) != 0 {
		t.Fatalf("a dead letter older than the latest MaxScan: %+v %v", got, err)
	}
}
