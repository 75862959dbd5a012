package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/ledger"
	"github.com/kopru/kopru/internal/metrics"
	"github.com/kopru/kopru/internal/worker"
	"github.com/kopru/kopru/schemas"
)

type env struct {
	t  testing.TB
	js jetstream.JetStream
	kv jetstream.KeyValue
	op *Ops
}

func newEnv(t testing.TB, o Options) *env {
	t.Helper()
	s := bustest.Start(t)
	kv, js := s.Ensure(t), s.JS
	ctx := context.Background()
	op, err := New(ctx, js, o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, js: js, kv: kv, op: op}
}

// letter describes a dead letter to seed.
type letter struct {
	route, class, status, errText string
	failedAt                      time.Time
	attempts                      int
}

func exampleEvent(t testing.TB, id string) []byte {
	t.Helper()
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	e := event.New("installation.requested", "test", data)
	if id != "" {
		e.ID = id
	}
	b, _ := e.Marshal()
	return b
}

// seed publishes dead letters as the worker does and returns their ids (stream sequences).
func (e *env) seed(ls ...letter) []uint64 {
	e.t.Helper()
	var ids []uint64
	for i, l := range ls {
		if l.route == "" {
			l.route = "licrus-installation"
		}
		if l.failedAt.IsZero() {
			l.failedAt = time.Now().UTC()
		}
		evID := fmt.Sprintf("ev-%d-%d", time.Now().UnixNano(), i)
		m := nats.NewMsg(event.DLQPrefix + l.route)
		m.Data = exampleEvent(e.t, evID)
		m.Header = deadletter.Letter{Route: l.route, EventID: evID, OriginalSubject: "events.installation.requested",
			Class: deadletter.Class(l.class), Error: l.errText, Attempts: l.attempts, TargetStatus: l.status,
			FailedAt: l.failedAt}.Header()
		m.Header.Set(nats.MsgIdHdr, deadletter.MsgID(l.route, evID, 0, ""))
		ack, err := e.js.PublishMsg(context.Background(), m)
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, ack.Sequence)
	}
	return ids
}

func (e *env) count(stream string) uint64 {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// events returns every message on EVENTS.
func (e *env) events() []*jetstream.RawStreamMsg {
	e.t.Helper()
	s, _ := e.js.Stream(context.Background(), bus.StreamEvents)
	info, _ := s.Info(context.Background())
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

func ids(items []DeadLetter) []uint64 {
	out := []uint64{}
	for _, d := range items {
		out = append(out, d.ID)
	}
	return out
}

func TestListFilters(t *testing.T) {
	e := newEnv(t, Options{})
	now := time.Now().UTC().Truncate(time.Second)
	seq := e.seed(
		letter{class: "rejected", status: "HasError", errText: "Seri numarası bulunamadı", failedAt: now.Add(-3 * time.Hour), attempts: 1},
		letter{class: "exhausted", status: "503", errText: "gave up after 8 calls; last: 503", failedAt: now.Add(-2 * time.Hour), attempts: 8},
		letter{class: "ambiguous", errText: "outcome unknown after call 1", failedAt: now.Add(-time.Hour), attempts: 1},
		letter{route: "dia-customer", class: "rejected", status: "400", errText: "carikartkodu exists", failedAt: now, attempts: 1},
		letter{route: "dia-customer", class: "invalid", errText: "data breaks schema", failedAt: now, attempts: 0},
	)
	cases := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"everything", Filter{}, seq},
		{"route", Filter{Route: "dia-customer"}, seq[3:]},
		{"class", Filter{Class: "rejected"}, []uint64{seq[0], seq[3]}},
		{"route and class", Filter{Route: "licrus-installation", Class: "rejected"}, seq[:1]},
		{"status", Filter{Status: "503"}, seq[1:2]},
		{"since", Filter{Since: now.Add(-90 * time.Minute)}, seq[2:]},
		{"until", Filter{Until: now.Add(-90 * time.Minute)}, seq[:2]},
		{"since and until", Filter{Since: now.Add(-150 * time.Minute), Until: now.Add(-30 * time.Minute)}, seq[1:3]},
		{"grep is case-insensitive", Filter{Grep: "SERI"}, seq[:1]},
		{"grep matches nothing", Filter{Grep: "zzz"}, []uint64{}},
		{"ids", Filter{IDs: []uint64{seq[4], seq[1]}}, []uint64{seq[4], seq[1]}},
		{"ids and class", Filter{IDs: []uint64{seq[4], seq[1]}, Class: "invalid"}, seq[4:]},
		{"missing id", Filter{IDs: []uint64{999}}, []uint64{}},
		{"limit", Filter{Limit: 2}, seq[:2]},
		{"unknown route", Filter{Route: "nope"}, []uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := e.op.List(context.Background(), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res.Items); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	res, _ := e.op.List(context.Background(), Filter{Limit: 2})
	if !res.More {
		t.Error("a list cut by its limit must say More")
	}
	d := res.Items[0]
	if d.Route != "licrus-installation" || d.Class != "rejected" || d.TargetStatus != "HasError" || d.Attempts != 1 ||
		!d.FailedAt.Equal(now.Add(-3*time.Hour)) || d.OriginalSubject != "events.installation.requested" || d.EventID == "" {
		t.Errorf("item %+v", d)
	}
}

func TestShow(t *testing.T) {
	e := newEnv(t, Options{})
	seq := e.seed(letter{class: "rejected", status: "HasError", errText: "nope", attempts: 1})
	d, err := e.op.Show(context.Background(), seq[0])
	if err != nil {
		t.Fatal(err)
	}
	if !d.Valid || !strings.Contains(string(d.Event), "\n  \"specversion\"") || d.Headers[deadletter.HdrError][0] != "nope" {
		t.Fatalf("detail %+v", d)
	}
	if _, err := e.op.Show(context.Background(), 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v", err)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(letter{class: "rejected"}, letter{class: "exhausted"}, letter{class: "ambiguous"})
	dlq, evs := e.count(bus.StreamDLQ), e.count(bus.StreamEvents)
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{All: true}, DryRun: true, AllowAmbiguous: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[ResultWouldReplay] != 3 || !rep.DryRun {
		t.Fatalf("report %+v", rep)
	}
	prep, err := e.op.Purge(context.Background(), PurgeOptions{Filter: Filter{Class: "rejected"}, DryRun: true})
	if err != nil || prep.Counts[ResultWouldPurge] != 1 {
		t.Fatalf("purge dry run %+v %v", prep, err)
	}
	if e.count(bus.StreamDLQ) != dlq || e.count(bus.StreamEvents) != evs {
		t.Fatalf("dry run changed the streams: DLQ %d→%d EVENTS %d→%d", dlq, e.count(bus.StreamDLQ), evs, e.count(bus.StreamEvents))
	}
}

func TestEmptySelectionIsRefused(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(letter{class: "rejected"})
	if _, err := e.op.Replay(context.Background(), ReplayOptions{}); !errors.Is(err, ErrNoFilter) {
		t.Fatalf("replay without a filter: %v", err)
	}
	if _, err := e.op.Purge(context.Background(), PurgeOptions{}); !errors.Is(err, ErrNoFilter) {
		t.Fatalf("purge without a filter: %v", err)
	}
}

func TestReplayRepublishesAndDeletes(t *testing.T) {
	e := newEnv(t, Options{})
	seq := e.seed(letter{class: "rejected"}, letter{class: "exhausted"})
	dl, _ := e.op.Show(context.Background(), seq[0])
	// The ledger records the dead letter; replay must reset it.
	l := ledger.New(e.kv, nil)
	key := ledger.Key("licrus-installation", dl.EventID)
	if _, err := l.Create(context.Background(), key, ledger.Entry{State: ledger.Dead}); err != nil {
		t.Fatal(err)
	}
	var progress []string
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{Route: "licrus-installation"},
		Progress: func(done, total int, it Item) {
			progress = append(progress, fmt.Sprintf("%d/%d %s", done, total, it.Result))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[ResultReplayed] != 2 || !rep.OK() {
		t.Fatalf("report %+v", rep)
	}
	if fmt.Sprint(progress) != "[1/2 replayed 2/2 replayed]" {
		t.Fatalf("progress %v", progress)
	}
	if got, _, err := l.Get(context.Background(), key); err != nil || got.State != ledger.Retrying || got.Attempts != 0 ||
		len(got.Replays) != 1 || got.Replays[0].DLQID != seq[0] || got.Replays[0].By != "unknown" {
		t.Fatalf("ledger entry not reset to retrying with the replay recorded: %+v %v", got, err)
	}
	if n := e.count(bus.StreamDLQ); n != 0 {
		t.Fatalf("%d dead letters left", n)
	}
	evs := e.events()
	if len(evs) != 2 {
		t.Fatalf("%d events republished, want 2", len(evs))
	}
	m := evs[0]
	if m.Subject != "events.installation.requested" || m.Header.Get(deadletter.HdrReplayRoute) != "licrus-installation" ||
		m.Header.Get(deadletter.HdrReplayOf) != strconv.FormatUint(seq[0], 10) ||
		m.Header.Get(nats.MsgIdHdr) != dl.EventID+"/replay/"+strconv.FormatUint(seq[0], 10) || string(m.Data) != string(dl.Raw) {
		t.Fatalf("republished %s %v %s", m.Subject, m.Header, m.Data)
	}
}

// failingPublisher fails the publishes whose number (1-based) is in fail.
type failingPublisher struct {
	js   jetstream.JetStream
	n    atomic.Int32
	fail map[int32]bool
}

func (p *failingPublisher) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if p.fail[p.n.Add(1)] {
		return nil, errors.New("injected: no PubAck")
	}
	return p.js.PublishMsg(ctx, m, opts...)
}

var _ Publisher = (*failingPublisher)(nil)

func TestReplayFailingMidwayLosesAndDuplicatesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	const n = 6
	ls := make([]letter, n)
	for i := range ls {
		ls[i] = letter{class: "rejected"}
	}
	seq := e.seed(ls...)
	fp := &failingPublisher{js: e.js, fail: map[int32]bool{3: true, 4: true}}
	e.op.pub = fp
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{Route: "licrus-installation"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[ResultReplayed] != 4 || rep.Counts[ResultFailed] != 2 || rep.OK() {
		t.Fatalf("report %+v", rep.Counts)
	}
	left, _ := e.op.List(context.Background(), Filter{})
	if fmt.Sprint(ids(left.Items)) != fmt.Sprint([]uint64{seq[2], seq[3]}) {
		t.Fatalf("dead letters left %v, want the two whose republish failed", ids(left.Items))
	}
	if got := len(e.events()); got != 4 {
		t.Fatalf("%d events republished, want 4", got)
	}

	// Deletes fail now: republished, kept, reported.
	e.op.pub = e.js
	e.op.deleteMsg = func(context.Context, uint64) error { return errors.New("injected: delete failed") }
	rep, _ = e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{Route: "licrus-installation"}})
	if rep.Counts[ResultNotDeleted] != 2 || !strings.Contains(rep.Items[0].Reason, "could not be deleted") {
		t.Fatalf("report %+v", rep)
	}
	if got := len(e.events()); got != n {
		t.Fatalf("%d events, want %d", got, n)
	}
	// The next replay is deduplicated by Nats-Msg-Id and removes the dead letters.
	e.op.deleteMsg = e.op.dlq.DeleteMsg
	rep, _ = e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{Route: "licrus-installation"}})
	if rep.Counts[ResultAlreadyReplay] != 2 || !rep.OK() {
		t.Fatalf("report %+v", rep.Counts)
	}
	evs := e.events()
	if len(evs) != n {
		t.Fatalf("%d events after the second replay, want %d (no duplicate)", len(evs), n)
	}
	seen := map[string]bool{}
	for _, m := range evs {
		seen[m.Header.Get(deadletter.HdrReplayOf)] = true
	}
	for _, s := range seq {
		if !seen[strconv.FormatUint(s, 10)] {
			t.Errorf("dead letter %d was never republished", s)
		}
	}
	if c := e.count(bus.StreamDLQ); c != 0 {
		t.Fatalf("%d dead letters left", c)
	}
}

func TestAmbiguousNeedsTheFlag(t *testing.T) {
	e := newEnv(t, Options{})
	seq := e.seed(letter{class: "ambiguous"}, letter{class: "rejected"})
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[ResultSkipped] != 1 || rep.Counts[ResultReplayed] != 1 || rep.Items[0].ID != seq[0] ||
		!strings.Contains(rep.Items[0].Reason, "ambiguous") {
		t.Fatalf("report %+v", rep)
	}
	if got := len(e.events()); got != 1 {
		t.Fatalf("%d events, want 1", got)
	}
	rep, _ = e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{IDs: seq[:1]}, AllowAmbiguous: true})
	if rep.Counts[ResultReplayed] != 1 {
		t.Fatalf("with the flag: %+v", rep)
	}
}

func TestReplayRateLimit(t *testing.T) {
	e := newEnv(t, Options{})
	e.seed(letter{class: "rejected"}, letter{class: "rejected"}, letter{class: "rejected"}, letter{class: "rejected"})
	start := time.Now()
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{All: true}, Rate: 10})
	if err != nil || rep.Counts[ResultReplayed] != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("4 replays at 10/s took %s", el)
	}
}

func TestEditBeforeReplay(t *testing.T) {
	e := newEnv(t, Options{Now: func() time.Time { return time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC) }})
	seq := e.seed(letter{class: "rejected", errText: "serial unknown"})
	d, _ := e.op.Show(context.Background(), seq[0])
	var doc map[string]any
	_ = json.Unmarshal(d.Raw, &doc)
	edit := func(f func(map[string]any)) []byte {
		var c map[string]any
		_ = json.Unmarshal(d.Raw, &c)
		f(c)
		b, _ := json.MarshalIndent(c, "", "  ")
		return b
	}
	bad := []struct {
		name, want string
		b          []byte
	}{
		{"other id", "must stay", edit(func(c map[string]any) { c["id"] = "other" })},
		{"schema", "deviceCount", edit(func(c map[string]any) { c["data"].(map[string]any)["deviceCount"] = 0 })},
		{"not json", "not a JSON", []byte("{")},
		{"unchanged", "nothing was changed", d.Raw},
		{"other type", "does not match", edit(func(c map[string]any) { c["type"] = "customer.created" })},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{IDs: seq}, Edit: &Edit{Event: c.b, By: "ayse"}})
			if !errors.Is(err, ErrEdit) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrEdit saying %q", err, c.want)
			}
		})
	}
	if got := len(e.events()); got != 0 {
		t.Fatalf("refused edits published %d events", got)
	}
	good := edit(func(c map[string]any) {
		c["data"].(map[string]any)["product"].(map[string]any)["serialNumbers"] = []any{"SN-FIXED-1"}
	})
	rep, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{IDs: seq}, Edit: &Edit{Event: good, By: "ayse"}})
	if err != nil || rep.Counts[ResultReplayed] != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	m := e.events()[0]
	if !strings.Contains(string(m.Data), "SN-FIXED-1") || m.Header.Get(deadletter.HdrEditedBy) != "ayse" ||
		m.Header.Get(deadletter.HdrEditedAt) != "2026-11-03T10:00:00Z" || m.Header.Get(deadletter.HdrEditedFields) != "/data/product/serialNumbers" {
		t.Fatalf("republished %v %s", m.Header, m.Data)
	}
	if _, err := e.op.Replay(context.Background(), ReplayOptions{Filter: Filter{All: true}, Edit: &Edit{Event: good}}); !errors.Is(err, ErrEdit) {
		t.Fatalf("an edit over many: %v", err)
	}
}

func TestPurge(t *testing.T) {
	e := newEnv(t, Options{})
	seq := e.seed(letter{class: "rejected"}, letter{class: "exhausted"}, letter{class: "rejected", route: "dia-customer"})
	rep, err := e.op.Purge(context.Background(), PurgeOptions{Filter: Filter{Class: "rejected"}})
	if err != nil || rep.Counts[ResultPurged] != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	left, _ := e.op.List(context.Background(), Filter{})
	if fmt.Sprint(ids(left.Items)) != fmt.Sprint(seq[1:2]) {
		t.Fatalf("left %v", ids(left.Items))
	}
	if e.count(bus.StreamEvents) != 0 {
		t.Fatal("purge published events")
	}
}

func TestStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Circuit.WithLabelValues("licrus").Set(2)
	e := newEnv(t, Options{Routes: []Route{{Name: "licrus-installation", EventType: "installation.requested", Target: "licrus"},
		{Name: "dia-customer", EventType: "customer.created", Target: "dia"}}, Circuit: CircuitFromGatherer(reg)})
	ctx := context.Background()
	cons, err := e.js.CreateOrUpdateConsumer(ctx, bus.StreamEvents, worker.ConsumerConfig(worker.Route{Name: "licrus-installation", EventType: "installation.requested"}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.js.Publish(ctx, "events.installation.requested", exampleEvent(t, "")); err != nil {
			t.Fatal(err)
		}
	}
	// The server updates a consumer's pending count asynchronously after a publish; wait for it, so
	// Status is judged on a settled consumer.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ci, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ci.NumPending == 3 || time.Now().After(end) {
			break
		}
	}
	e.seed(letter{class: "rejected", errText: "first", failedAt: time.Now().Add(-time.Hour)}, letter{class: "rejected", errText: "last one"})
	st, err := e.op.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Routes[0]
	if !r.Consumer || r.Pending != 3 || r.AckPending != 0 || r.OldestPending.IsZero() || r.DLQDepth != 2 ||
		r.LastError != "last one" {
		t.Fatalf("route status %+v", r)
	}
	// The oldest dead letter's age is stream time (as kopru_dlq_oldest_age_seconds), not its
	// Kopru-Failed-At (an hour ago): both were stored just now.
	if r.DLQOldestAge < 0 || r.DLQOldestAge > time.Minute || time.Since(r.DLQOldest) > time.Minute {
		t.Fatalf("oldest dead letter %v, age %v: want its stream time", r.DLQOldest, r.DLQOldestAge)
	}
	if st.Routes[1].Consumer || st.Routes[1].Problem == "" {
		t.Fatalf("a route without a consumer: %+v", st.Routes[1])
	}
	if fmt.Sprint(st.Targets) != "[{dia closed/unknown} {licrus open}]" {
		t.Fatalf("targets %v", st.Targets)
	}
}
