package ops

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/worker"
)

// Show and replay take a dead letter's event id as the worker did: the exact "id" member of a
// structured event (never "ID", which encoding/json would match), a binary-mode event's ce-id
// (never an "id" field of its business data, decoded or not).
func TestDeadLetterIDIsTheWorkersID(t *testing.T) {
	e := newEnv(t, Options{})
	bin := map[string]string{"ce-specversion": "1.0", "ce-id": "bin-1", "ce-source": "shop",
		"ce-type": "installation.requested", "content-type": "application/json"}
	badBin := map[string]string{"ce-time": "yesterday"}
	for k, v := range bin {
		badBin[k] = v
	}
	if _, err := event.DecodeMessage(nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"x"}, "ce-source": {"s"},
		"ce-type": {"t"}, "ce-time": {"yesterday"}}, []byte(`{}`)); err == nil {
		t.Fatal("a bad ce-time decodes: pick another fault")
	}
	for _, tc := range []struct {
		name, headerID, want string
		ce                   map[string]string
		data                 string
	}{
		{"structured ID in capitals", "own-1", "own-1", nil,
			`{"specversion":"1.0","ID":"victim-42","source":"s","type":"installation.requested","data":{}}`},
		{"binary with an id in its data", "bin-1", "bin-1", bin, `{"id":"victim-43","a":1}`},
		{"binary that did not decode", "bin-1", "bin-1", badBin, `{"id":"victim-44"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := nats.NewMsg(event.DLQPrefix + "licrus-installation")
			m.Data = []byte(tc.data)
			for k, v := range tc.ce {
				m.Header.Set(k, v)
			}
			for k, v := range map[string]string{worker.HdrRoute: "licrus-installation", worker.HdrEventID: tc.headerID,
				worker.HdrOriginalSubject: "events.installation.requested", worker.HdrErrorClass: "invalid",
				worker.HdrAttempts: "0", worker.HdrFailedAt: time.Now().UTC().Format(time.RFC3339)} {
				m.Header.Set(k, v)
			}
			ack, err := e.js.PublishMsg(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.op.Show(context.Background(), ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			if d.EventID != tc.want {
				t.Fatalf("show: event id %q, want %q", d.EventID, tc.want)
			}
			rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{IDs: []uint64{ack.Sequence}}, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			wantMsgID := tc.want + "/replay/" + strconv.FormatUint(ack.Sequence, 10)
			if len(rep.Items) != 1 || rep.Items[0].EventID != tc.want || rep.Items[0].ReplayMsgID != wantMsgID {
				t.Fatalf("replay items %+v, want event id %q", rep.Items, tc.want)
			}
		})
	}
}

// A binary-mode dead letter's plain traceparent and tracestate headers go back with its replay.
func TestReplayKeepsBinaryTraceContext(t *testing.T) {
	e := newEnv(t, Options{})
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	m := nats.NewMsg(event.DLQPrefix + "licrus-installation")
	m.Data = []byte(`{"a":1}`)
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "bin-tp", "ce-source": "shop",
		"ce-type": "installation.requested", "content-type": "application/json", "traceparent": tp, "tracestate": "v=1",
		worker.HdrRoute: "licrus-installation", worker.HdrEventID: "bin-tp", worker.HdrOriginalSubject: "events.installation.requested",
		worker.HdrErrorClass: "rejected", worker.HdrAttempts: "1", worker.HdrFailedAt: time.Now().UTC().Format(time.RFC3339)} {
		m.Header[k] = []string{v}
	}
	ack, err := e.js.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{IDs: []uint64{ack.Sequence}}}); err != nil || rep.Counts[ResultReplayed] != 1 {
		t.Fatalf("replay %+v %v", rep, err)
	}
	evs := e.events()
	if len(evs) != 1 || event.Header(evs[0].Header, "traceparent") != tp || event.Header(evs[0].Header, "tracestate") != "v=1" {
		t.Fatalf("replayed event lost its trace context: %v", evs)
	}
	if env, err := event.DecodeMessage(evs[0].Header, evs[0].Data); err != nil || env.ID != "bin-tp" || env.Traceparent != tp {
		t.Fatalf("replayed event decodes to %+v %v", env, err)
	}
}
