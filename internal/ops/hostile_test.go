package ops

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
)

// TestReplayTakesTheIDFromTheStoredEvent: NATS trims header values, so a dead letter stored before ids
// were checked can carry Kopru-Event-Id "x" for the event " x\r\n". Replay must reset the ledger entry
// the worker wrote (under the real id) and publish a message id that survives a header.
func TestReplayTakesTheIDFromTheStoredEvent(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	realID := " hostile-trimmed\r\n"
	m := nats.NewMsg(event.DLQPrefix + "licrus-installation")
	m.Data = exampleEvent(t, realID)
	for k, v := range map[string]string{deadletter.HdrRoute: "licrus-installation", deadletter.HdrEventID: strings.TrimSpace(realID),
		deadletter.HdrOriginalSubject: "events.installation.requested", deadletter.HdrErrorClass: string(deadletter.Exhausted),
		deadletter.HdrError: "gave up", deadletter.HdrAttempts: "8", deadletter.HdrFailedAt: time.Now().UTC().Format(time.RFC3339)} {
		m.Header.Set(k, v)
	}
	ack, err := e.js.PublishMsg(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(e.kv, nil)
	key := ledger.Key("licrus-installation", realID)
	if _, err := led.Create(ctx, key, ledger.Entry{State: ledger.Dead, Attempts: 8}); err != nil {
		t.Fatal(err)
	}
	d, err := e.op.Show(ctx, ack.Sequence)
	if err != nil || d.EventID != realID {
		t.Fatalf("show: event id %q, want the stored %q (%v)", d.EventID, realID, err)
	}
	rep, err := e.op.Replay(ctx, ReplayOptions{Filter: Filter{IDs: []uint64{ack.Sequence}}})
	if err != nil || rep.Counts[ResultReplayed] != 1 {
		t.Fatalf("replay: %v %+v", err, rep)
	}
	if it := rep.Items[0]; it.EventID != realID || strings.ContainsAny(it.ReplayMsgID, " \r\n") {
		t.Fatalf("item %+v", it)
	}
	if got, _, err := led.Get(ctx, key); err != nil || got.State != ledger.Retrying || got.Attempts != 0 || len(got.Replays) != 1 {
		t.Fatalf("the ledger entry of the stored id was not reset: %+v %v", got, err)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Header.Get(nats.MsgIdHdr) != rep.Items[0].ReplayMsgID {
		t.Fatalf("republished %d messages; msg id %q, want %q", len(evs), evs[0].Header.Get(nats.MsgIdHdr), rep.Items[0].ReplayMsgID)
	}
	if e.count(bus.StreamDLQ) != 0 {
		t.Fatal("dead letter kept")
	}
}

// TestReplayRateIsValidated: a rate the ticker cannot take (2e9/s rounds to a zero interval and
// panicked; 1e-300 overflows) is refused as ErrOption before anything changes.
func TestReplayRateIsValidated(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(letter{class: "rejected"})
	for _, rate := range []float64{2e9, -1, 1e-300, MaxRate + 1} {
		rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{All: true}, Rate: rate})
		if !errors.Is(err, ErrOption) || rep != nil {
			t.Errorf("rate %v: %v %+v", rate, err, rep)
		}
	}
	if e.count(bus.StreamDLQ) != 1 || len(e.events()) != 0 {
		t.Fatal("a refused replay changed something")
	}
	if err := CheckRate(MaxRate); err != nil {
		t.Fatal(err)
	}
}

// TestMalformedSelectionsAreTheCallersMistake: a route name that cannot be a subject token is
// ErrOption (the admin API answers 400), and id 0 is simply not found (404), not a server failure.
func TestMalformedSelectionsAreTheCallersMistake(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(letter{class: "rejected"})
	ctx := context.Background()
	for _, r := range []string{"licrus installation", "a.b", "dlq.*", ">", "x\x1b"} {
		if _, err := e.op.List(ctx, Filter{Route: r}); !errors.Is(err, ErrOption) {
			t.Errorf("route %q: %v", r, err)
		}
		if _, err := e.op.Purge(ctx, PurgeOptions{Filter: Filter{Route: r}}); !errors.Is(err, ErrOption) {
			t.Errorf("purge route %q: %v", r, err)
		}
	}
	if _, err := e.op.Show(ctx, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("show 0: %v", err)
	}
	if e.count(bus.StreamDLQ) != 1 {
		t.Fatal("a refused selection changed the DLQ")
	}
}

// TestChangedComparesNumbersAsWritten: the mapping refuses deviceCount 2.0 and accepts 2, so the edit
// from one to the other is a change; re-spacing the document is not.
func TestChangedComparesNumbersAsWritten(t *testing.T) {
	a := []byte(`{"id":"x","data":{"deviceCount":2.0,"n":[1e3]}}`)
	if got := Changed(a, []byte(`{"id":"x","data":{"deviceCount":2,"n":[1e3]}}`)); !reflect.DeepEqual(got, []string{"/data/deviceCount"}) {
		t.Errorf("2.0 -> 2: %v", got)
	}
	if got := Changed(a, []byte(`{"id":"x","data":{"deviceCount":2.0,"n":[1000]}}`)); !reflect.DeepEqual(got, []string{"/data/n"}) {
		t.Errorf("1e3 -> 1000: %v", got)
	}
	if got := Changed(a, []byte("{ \"data\" : {\"n\":[1e3], \"deviceCount\":2.0}, \"id\":\"x\" }")); len(got) != 0 {
		t.Errorf("re-spaced: %v", got)
	}
}
