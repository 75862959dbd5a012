package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/schemas"
)

// These tests drive run and settle through a real embedded JetStream: what lands on the outcome and
// dead-letter subjects, in the ledger and in the metrics, for a scripted target.

// script is a target that answers its calls in order (the last answer repeats) and counts them.
type script struct {
	mu      sync.Mutex
	answers []error
	calls   int
	finds   []bool // Find's answers, in order, when wrapped in findingScript
	hang    chan struct{}
}

func (s *script) Call(ctx context.Context, _ adapter.Request) (adapter.Result, error) {
	s.mu.Lock()
	n := s.calls
	s.calls++
	s.mu.Unlock()
	if s.hang != nil {
		select {
		case <-s.hang:
		case <-ctx.Done():
			return adapter.Result{}, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonCanceled, Msg: "canceled mid-call"}
		}
	}
	if err := s.answers[min(n, len(s.answers)-1)]; err != nil {
		return adapter.Result{}, err
	}
	return adapter.Result{Fields: map[string]any{"callNumber": "C-1"}}, nil
}

func (s *script) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

type findingScript struct{ *script }

func (f findingScript) Find(context.Context, adapter.Request) (adapter.Result, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := f.finds[0]
	f.finds = f.finds[1:]
	return adapter.Result{Fields: map[string]any{"callNumber": "C-found"}}, found, nil
}

type rig struct {
	t    *testing.T
	js   jetstream.JetStream
	nc   *nats.Conn
	kv   jetstream.KeyValue
	m    *metrics.Metrics
	w    *Worker
	out  chan *nats.Msg
	dlq  chan *nats.Msg
	logs *observer.ObservedLogs
}

func newRig(t *testing.T, target adapter.Target) *rig {
	t.Helper()
	s := bustest.Start(t)
	kv := s.Ensure(t)
	m := metrics.New(prometheus.NewRegistry())
	sch, err := event.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, js: s.JS, nc: s.NC, kv: kv, m: m, out: make(chan *nats.Msg, 16), dlq: make(chan *nats.Msg, 16)}
	for subj, ch := range map[string]chan *nats.Msg{event.OutcomesPrefix + ">": r.out, event.DLQPrefix + ">": r.dlq} {
		if _, err := s.NC.ChanSubscribe(subj, ch); err != nil {
			t.Fatal(err)
		}
	}
	route := Route{Name: "licrus-installation", EventType: "installation.requested", OutcomeType: "installation.call-created",
		TargetName: "licrus", Operation: "ExternalCall/Create", Target: target, Guard: NewGuard("licrus", GuardConfig{}),
		Policy: Policy{Concurrency: 2, MaxAttempts: 3, InitialInterval: 10 * time.Millisecond, AttemptTimeout: 2 * time.Second}}
	core, logs := observer.New(zap.InfoLevel)
	r.logs = logs
	r.w, err = New(s.JS, ledger.New(kv, nil), sch, m, zap.New(core), []Route{route})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.w.Stop(context.Background()) })
	return r
}

func (r *rig) publish(id string) {
	r.t.Helper()
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		r.t.Fatal(err)
	}
	env := event.New("installation.requested", "test", data)
	env.ID = id
	b, _ := env.Marshal()
	m := nats.NewMsg(event.EventsPrefix + "installation.requested")
	m.Data = b
	m.Header.Set(nats.MsgIdHdr, id+"-"+time.Now().String()) // each publish is a new delivery
	if _, err := r.js.PublishMsg(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) next(ch chan *nats.Msg, what string) *nats.Msg {
	r.t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no %s within 10s", what)
	}
	return nil
}

func (r *rig) entry(id string) ledger.Entry {
	r.t.Helper()
	e, _, err := ledger.New(r.kv, nil).Get(context.Background(), ledger.Key("licrus-installation", id))
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *rig) result(res string) float64 {
	return testutil.ToFloat64(r.m.Events.WithLabelValues("licrus-installation", res))
}

func TestRunRetriesThenSucceedsAndReemitsOnRedelivery(t *testing.T) {
	s := &script{answers: []error{&adapter.Error{Class: adapter.ClassRetryable, Reason: "http_5xx", Msg: "busy"}, nil}}
	r := newRig(t, s)
	r.publish("evt-ok")
	out := r.next(r.out, "outcome")
	var o struct {
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out.Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.ID != event.OutcomeID("licrus-installation", "evt-ok") || o.Data["callNumber"] != "C-1" || o.Data["requestId"] != "evt-ok" {
		t.Fatalf("outcome %s", out.Data)
	}
	if e := r.entry("evt-ok"); e.State != ledger.Succeeded || e.Attempts != 2 || len(e.History) != 2 || e.History[0].Class != "retryable" {
		t.Fatalf("entry %+v", e)
	}
	r.publish("evt-ok") // the producer sends it again: no second call, the same outcome again
	again := r.next(r.out, "re-emitted outcome")
	if string(again.Data) != string(out.Data) || s.count() != 2 {
		t.Fatalf("re-emit %s after %d calls", again.Data, s.count())
	}
	waitFor(t, func() bool { return r.result(metrics.ResultDuplicate) == 1 && r.result(metrics.ResultSucceeded) == 1 })
	if n := testutil.ToFloat64(r.m.Retries.WithLabelValues("licrus-installation", "retryable")); n != 1 {
		t.Fatalf("retries %v", n)
	}
	if n := testutil.ToFloat64(r.m.Attempts.WithLabelValues("licrus-installation")); n != 2 {
		t.Fatalf("attempts %v, want the 2 calls made", n)
	}
	if n := testutil.ToFloat64(r.m.CallFailures.WithLabelValues("licrus-installation", "retryable", "http_5xx")); n != 1 {
		t.Fatalf("call failures{retryable,http_5xx} %v", n)
	}
}

func TestRunDeadLettersRejectedAndAmbiguous(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   error
		class deadletter.Class
	}{
		{"rejected", &adapter.Error{Class: adapter.ClassRejected, Reason: "vendor_rejected", Status: "400", Msg: "serial unknown"}, deadletter.Rejected},
		{"ambiguous", &adapter.Error{Class: adapter.ClassUnknown, Reason: "reset", Msg: "connection reset"}, deadletter.Ambiguous},
		{"exhausted", &adapter.Error{Class: adapter.ClassNotSent, Reason: "dial", Msg: "refused"}, deadletter.Exhausted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{answers: []error{tt.err}}
			r := newRig(t, s)
			r.publish("evt-" + tt.name)
			d := r.next(r.dlq, "dead letter")
			l := deadletter.Parse(d.Subject, d.Header, time.Now())
			if l.Class != tt.class || l.EventID != "evt-"+tt.name || l.Error == "" || d.Subject != deadletter.Subject("licrus-installation") {
				t.Fatalf("dead letter %+v on %s", l, d.Subject)
			}
			if e := r.entry("evt-" + tt.name); e.State != ledger.Dead || e.DLQ[deadletter.HdrErrorClass] != string(tt.class) {
				t.Fatalf("entry %+v", e)
			}
			waitFor(t, func() bool { return r.result(string(tt.class)) == 1 })
		})
	}
}

func TestRunLooksUpAnUnknownOutcome(t *testing.T) {
	s := &script{answers: []error{&adapter.Error{Class: adapter.ClassUnknown, Reason: "timeout", Msg: "no answer"}}, finds: []bool{true}}
	r := newRig(t, findingScript{s})
	r.publish("evt-find")
	out := r.next(r.out, "outcome")
	if !json.Valid(out.Data) || s.count() != 1 {
		t.Fatalf("outcome %s after %d calls", out.Data, s.count())
	}
	var o struct{ Data map[string]any }
	_ = json.Unmarshal(out.Data, &o)
	if o.Data["callNumber"] != "C-found" {
		t.Fatalf("outcome %s is not the record found", out.Data)
	}
}

// TestStopCancelsAHangingCall: Stop waits for a call in flight until its context ends, then cancels
// it; the event is left unsettled (no dead letter, no outcome), its entry `started`, for the next
// delivery to resolve as after a crash.
func TestStopCancelsAHangingCall(t *testing.T) {
	s := &script{answers: []error{nil}, hang: make(chan struct{})}
	r := newRig(t, s)
	r.publish("evt-hang")
	waitFor(t, func() bool { return s.count() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.w.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v", err)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(r.m.Inflight.WithLabelValues("licrus-installation")) == 0 })
	select {
	case m := <-r.dlq:
		t.Fatalf("dead letter on stop: %v", m.Header)
	case m := <-r.out:
		t.Fatalf("outcome on stop: %s", m.Data)
	case <-time.After(300 * time.Millisecond):
	}
	if e := r.entry("evt-hang"); e.State != ledger.Started || e.Attempts != 1 {
		t.Fatalf("entry %+v", e)
	}
	// Left unsettled, not handed back: no nak, no retry, the call counted.
	if n := r.logs.FilterMessage("stopping mid-event: left for redelivery").Len(); n != 1 {
		t.Fatalf("%d 'left for redelivery' lines; logs: %v", n, r.logs.All())
	}
	for _, l := range r.logs.All() {
		if strings.Contains(l.Message, "retrying later") || strings.Contains(l.Message, "will retry") {
			t.Fatalf("the cut-off call was handed back: %q", l.Message)
		}
	}
	if n := testutil.ToFloat64(r.m.Attempts.WithLabelValues("licrus-installation")); n != 1 {
		t.Fatalf("attempts %v, want the call cut off counted", n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
