package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/internal/worker"
	"github.com/kopru/kopru/schemas"
)

// ceStack is Köprü (worker, ingest, admin API) with the Licrus simulator on an embedded server, for
// the CloudEvents interop tests: producers and consumers are the CloudEvents Go SDK.
type ceStack struct {
	t    *testing.T
	sim  *licrussim.Sim
	base string // Köprü's HTTP root
	nc   *nats.Conn
	js   jetstream.JetStream
}

func newCEStack(t *testing.T) *ceStack {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	lsim := licrussim.New(ticket)
	simSrv := httptest.NewServer(lsim)
	t.Cleanup(simSrv.Close)
	c := &adapter.Client{HTTP: adapter.NewHTTPClient(8), Target: "licrus"}
	route := worker.Route{Name: "licrus-installation", EventType: "installation.requested",
		OutcomeType: "installation.call-created", TargetName: "licrus", Operation: licrus.Operation,
		Target: licrus.New(licrus.Config{BaseURL: simSrv.URL + "/api", AuthTicket: ticket}, c)}
	route.Policy.InitialInterval, route.Policy.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
	cfg := config.Config{NATS: config.NATS{URL: ns.ClientURL()}, HTTPAddr: "127.0.0.1:0",
		Ingest: config.Tokens{Tokens: []string{"in-tok"}}, Admin: config.Tokens{Tokens: []string{"ad-tok"}}}
	a, err := app.New(app.Options{Config: cfg, Routes: []worker.Route{route}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return &ceStack{t: t, sim: lsim, base: "http://" + a.Addr(), nc: nc, js: js}
}

// sdkEvent is an installation request as the SDK builds it, with subject, dataschema and an extension.
func sdkEvent(t *testing.T, id string) ce.Event {
	t.Helper()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("urn:shop:eu")
	e.SetType("installation.requested")
	e.SetTime(time.Now())
	e.SetSubject("order/" + id)
	e.SetDataSchema("https://kopru.dev/schemas/installation.requested.v1.json")
	e.SetExtension("tenant", "acme")
	if err := e.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

// stored returns every message on subject of stream, oldest first.
func (s *ceStack) stored(stream, subject string) []*jetstream.RawStreamMsg {
	s.t.Helper()
	st, err := s.js.Stream(context.Background(), stream)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			info, _ := st.Info(context.Background())
			if seq > info.State.LastSeq {
				return out
			}
			continue
		}
		if err != nil {
			s.t.Fatal(err)
		}
		if m.Subject == subject {
			out = append(out, m)
		}
	}
}

// parse reads a stored message with the SDK's NATS binding (structured or binary, as it finds it)
// and fails unless it is a valid CloudEvent.
func parse(t *testing.T, m *jetstream.RawStreamMsg) *ce.Event {
	t.Helper()
	e, err := binding.ToEvent(context.Background(), cejs.NewMessage(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}))
	if err != nil {
		t.Fatalf("the SDK cannot read %s: %v\n%v %s", m.Subject, err, m.Header, m.Data)
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("%s is not a valid CloudEvent: %v", m.Subject, err)
	}
	return e
}

func checkAttributes(t *testing.T, what string, got *ce.Event, want ce.Event) {
	t.Helper()
	if got.ID() != want.ID() || got.Source() != want.Source() || got.Subject() != want.Subject() ||
		got.DataSchema() != want.DataSchema() || got.Extensions()["tenant"] != "acme" || !got.Time().Equal(want.Time()) {
		t.Fatalf("%s lost attributes:\n got %s\nwant %s", what, got, want)
	}
}

// The SDK's HTTP client, in binary mode (its default) and structured mode, into ingest: ce-id is the
// event id and dedup key (a retried send makes no second event or call), and every attribute is kept
// in the stored event. Outcomes parse with the SDK and carry the correlation as attributes.
func TestCloudEventsSDKHTTPIntoIngest(t *testing.T) {
	s := newCEStack(t)
	p, err := cloudevents.NewHTTP(cehttp.WithTarget(s.base+"/v1/events/installation.requested"),
		cehttp.WithHeader("Authorization", "Bearer in-tok"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	send := func(ctx context.Context, e ce.Event) int {
		t.Helper()
		res := client.Send(ctx, e)
		var hr *cehttp.Result
		if !errors.As(res, &hr) {
			t.Fatalf("send %s: %v", e.ID(), res)
		}
		return hr.StatusCode
	}
	bin, str := sdkEvent(t, "sdk-http-binary-1"), sdkEvent(t, "sdk-http-structured-1")
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second send is an SDK retry
		if code := send(binding.WithForceBinary(ctx), bin); code != http.StatusAccepted {
			t.Fatalf("binary send %d: %d", i, code)
		}
		if code := send(binding.WithForceStructured(ctx), str); code != http.StatusAccepted {
			t.Fatalf("structured send %d: %d", i, code)
		}
	}
	wrong := sdkEvent(t, "sdk-http-wrong-type")
	wrong.SetType("customer.created")
	if code := send(binding.WithForceBinary(ctx), wrong); code != http.StatusBadRequest {
		t.Fatalf("ce-type against the path: %d, want 400", code)
	}

	waitFor(t, 10*time.Second, "two outcomes", func() bool {
		return msgs(t, s.js, bus.StreamOutcomes, "outcomes.installation.call-created") == 2
	})
	stored := s.stored(bus.StreamEvents, "events.installation.requested")
	if len(stored) != 2 {
		t.Fatalf("%d events stored, want 2 (a retry is the same event)", len(stored))
	}
	for i, want := range []ce.Event{bin, str} {
		if got := stored[i].Header.Get(nats.MsgIdHdr); got != want.ID() {
			t.Fatalf("stored event %d has Nats-Msg-Id %q, want %q", i, got, want.ID())
		}
		checkAttributes(t, "stored event", parse(t, stored[i]), want)
	}
	time.Sleep(100 * time.Millisecond)
	if n := s.sim.CallCount(); n != 2 {
		t.Fatalf("the simulator took %d calls, want 2", n)
	}
	for _, m := range s.stored(bus.StreamOutcomes, "outcomes.installation.call-created") {
		out := parse(t, m)
		req, _ := out.Extensions()["requestid"].(string)
		var data map[string]any
		_ = json.Unmarshal(out.Data(), &data)
		if (req != bin.ID() && req != str.ID()) || data["requestId"] != req || out.Subject() != req ||
			out.Extensions()["route"] != "licrus-installation" || out.Extensions()["target"] != "licrus" ||
			out.DataSchema() != "https://kopru.dev/schemas/installation.call-created.v1.json" {
			t.Fatalf("outcome attributes: %s", out)
		}
	}

	// Batch mode is refused with a 415 that says what to send.
	req, _ := http.NewRequest("POST", s.base+"/v1/events/installation.requested", bytes.NewReader([]byte("[]")))
	req.Header.Set("Authorization", "Bearer in-tok")
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var prob struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&prob)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !bytes.Contains([]byte(prob.Error), []byte("one event per request")) {
		t.Fatalf("batch: %d %q", resp.StatusCode, prob.Error)
	}
}

// The SDK's JetStream sender publishes on events.<type> in binary mode and in structured mode: both
// are processed. A rejected binary-mode event's dead letter has its ce-id as Kopru-Event-Id, keeps
// its ce-* headers (the SDK reads it back as the same event), and its replay runs as the original.
func TestCloudEventsSDKNATSSenderBinaryDeadLetterReplays(t *testing.T) {
	s := newCEStack(t)
	sender, err := cejs.NewSenderFromConn(s.nc, bus.StreamEvents, "events.installation.requested", nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.sim.Faults.Push(sim.Fault{VendorError: "Seri numarası sistemde bulunamadı."}) // the first call is rejected
	bin := sdkEvent(t, "sdk-nats-binary-1")
	if res := client.Send(binding.WithForceBinary(ctx), bin); !cloudevents.IsACK(res) {
		t.Fatalf("binary send: %v", res)
	}
	waitFor(t, 10*time.Second, "the dead letter", func() bool { return msgs(t, s.js, bus.StreamDLQ, "dlq.licrus-installation") == 1 })
	str := sdkEvent(t, "sdk-nats-structured-1")
	if res := client.Send(binding.WithForceStructured(ctx), str); !cloudevents.IsACK(res) {
		t.Fatalf("structured send: %v", res)
	}
	waitFor(t, 10*time.Second, "the structured event's outcome", func() bool {
		return msgs(t, s.js, bus.StreamOutcomes, "outcomes.installation.call-created") == 1
	})

	dl := s.stored(bus.StreamDLQ, "dlq.licrus-installation")[0]
	if got := dl.Header.Get(deadletter.HdrEventID); got != bin.ID() {
		t.Fatalf("dead letter Kopru-Event-Id %q, want %q", got, bin.ID())
	}
	if deadletter.Class(dl.Header.Get(deadletter.HdrErrorClass)) != deadletter.Rejected {
		t.Fatalf("dead letter class %q", dl.Header.Get(deadletter.HdrErrorClass))
	}
	checkAttributes(t, "dead letter", parse(t, dl), bin)

	body := []byte(`{"ids":[` + strconv.FormatUint(dl.Sequence, 10) + `]}`)
	req, _ := http.NewRequest("POST", s.base+"/v1/admin/dlq/replay", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer ad-tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep ops.Report
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != 200 || rep.Counts[ops.ResultReplayed] != 1 {
		t.Fatalf("replay: %d %+v", resp.StatusCode, rep)
	}
	waitFor(t, 10*time.Second, "the replayed event's outcome", func() bool {
		return msgs(t, s.js, bus.StreamOutcomes, "outcomes.installation.call-created") == 2
	})
	if n := msgs(t, s.js, bus.StreamDLQ, "dlq.licrus-installation"); n != 0 {
		t.Fatalf("%d dead letters after the replay (the replay dead-lettered again?)", n)
	}
	seen := map[string]bool{}
	for _, m := range s.stored(bus.StreamOutcomes, "outcomes.installation.call-created") {
		out := parse(t, m)
		seen[out.Subject()] = true
	}
	if !seen[bin.ID()] || !seen[str.ID()] {
		t.Fatalf("outcomes for %v, want both events", seen)
	}
	if n := s.sim.CallCount(); n != 2 {
		t.Fatalf("the simulator accepted %d calls, want 2", n)
	}
}

// A binary-mode event that breaks the envelope rules is dead-lettered as invalid under its ce-id,
// with its ce-* headers, and no call is made.
func TestCloudEventsBinaryInvalidDeadLetterHasItsID(t *testing.T) {
	s := newCEStack(t)
	m := nats.NewMsg("events.installation.requested")
	m.Data, _ = schemas.FS.ReadFile("examples/installation.requested.json")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "bad-time-1", "ce-source": "urn:shop",
		"ce-type": "installation.requested", "ce-time": "yesterday", "ce-tenant": "acme", "content-type": "application/json"} {
		m.Header.Set(k, v)
	}
	if _, err := s.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the dead letter", func() bool { return msgs(t, s.js, bus.StreamDLQ, "dlq.licrus-installation") == 1 })
	dl := s.stored(bus.StreamDLQ, "dlq.licrus-installation")[0]
	if dl.Header.Get(deadletter.HdrEventID) != "bad-time-1" || deadletter.Class(dl.Header.Get(deadletter.HdrErrorClass)) != deadletter.Invalid ||
		dl.Header.Get("ce-tenant") != "acme" || dl.Header.Get("ce-time") != "yesterday" {
		t.Fatalf("dead letter headers %v", dl.Header)
	}
	if n := s.sim.CallCount(); n != 0 {
		t.Fatalf("%d calls for an invalid event", n)
	}
}

// A structured event's dead letter is the same CloudEvent to the SDK, every attribute kept.
func TestCloudEventsStructuredDeadLetterReadsBack(t *testing.T) {
	s := newCEStack(t)
	p, err := cloudevents.NewHTTP(cehttp.WithTarget(s.base+"/v1/events/installation.requested"),
		cehttp.WithHeader("Authorization", "Bearer in-tok"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	s.sim.Faults.Push(sim.Fault{VendorError: "Seri numarası sistemde bulunamadı."})
	e := sdkEvent(t, "sdk-http-rejected-1")
	if res := client.Send(binding.WithForceStructured(context.Background()), e); !cloudevents.IsACK(res) {
		t.Fatalf("send: %v", res)
	}
	waitFor(t, 10*time.Second, "the dead letter", func() bool { return msgs(t, s.js, bus.StreamDLQ, "dlq.licrus-installation") == 1 })
	dl := s.stored(bus.StreamDLQ, "dlq.licrus-installation")[0]
	if dl.Header.Get(deadletter.HdrEventID) != e.ID() {
		t.Fatalf("Kopru-Event-Id %q", dl.Header.Get(deadletter.HdrEventID))
	}
	checkAttributes(t, "dead letter", parse(t, dl), e)
}
