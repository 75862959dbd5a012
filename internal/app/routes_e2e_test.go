package app_test

// End-to-end tests of the vendor routes (leansoft-customer, dia-customer, dia-service-note,
// licrus-first-start): events go through a real embedded JetStream server and the app's workers, and
// the targets call the project's simulators over real HTTP on loopback (devstack behind httptest).
// Some tests start the app from configuration (buildRoutes wires every route); the others build the
// routes with the real adapters and a fast retry policy, so that retries and timeouts stay short.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/adapter/leansoft"
	"github.com/kopru/kopru/internal/adapter/licrus/firststart"
	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/internal/sim"
	diasim "github.com/kopru/kopru/internal/sim/dia"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/internal/worker"
	"github.com/kopru/kopru/schemas"
)

// e2eEnv is one embedded JetStream server, the simulators on an httptest server, a configuration that
// points at them, and (once started) a Köprü app.
type e2eEnv struct {
	t    testing.TB
	ns   *server.Server
	sims *devstack.Sims
	cfg  config.Config
	js   jetstream.JetStream
	app  *app.App
	logs *observer.ObservedLogs
}

func newE2E(t testing.TB) *e2eEnv {
	t.Helper()
	bs := bustest.Start(t)
	e := &e2eEnv{t: t, ns: bs.Server, js: bs.JS, sims: devstack.New()}
	srv := httptest.NewServer(e.sims)
	t.Cleanup(srv.Close)
	e.cfg.NATS.URL = bs.URL
	devstack.Configure(&e.cfg, srv.URL)
	return e
}

// start starts the app with routes; nil routes means the routes buildRoutes makes from e.cfg.
func (e *e2eEnv) start(routes []worker.Route) {
	e.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	a, err := app.New(app.Options{Config: e.cfg, Logger: zap.New(core), Routes: routes, NoHTTP: true, MemoryStorage: true})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	e.app, e.logs = a, logs
}

// fastPolicy retries quickly and gives each call half a second.
func fastPolicy(maxAttempts int) worker.Policy {
	return worker.Policy{Concurrency: 4, MaxAttempts: maxAttempts, AttemptTimeout: 500 * time.Millisecond,
		InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, AckWait: 5 * time.Second}
}

// route makes the route name of the table with target t and policy p.
func e2eRoute(t testing.TB, name string, tg adapter.Target, p worker.Policy) worker.Route {
	t.Helper()
	spec, ok := routes.Lookup(name)
	if !ok {
		t.Fatalf("route %s is not in the table", name)
	}
	return worker.Route{Name: spec.Name, EventType: spec.EventType, OutcomeType: spec.OutcomeType,
		TargetName: spec.Target, Operation: spec.Operation, Target: tg, Policy: p}
}

func (e *e2eEnv) leanSoftTarget() *leansoft.Target {
	c := e.cfg.LeanSoft
	return leansoft.New(leansoft.Config{BaseURL: c.URL, CompanyID: c.CompanyID, AuthHeader: c.AuthHeader,
		AuthValue: c.AuthValue, DefaultReferenceGroupCode: c.ReferenceGroupCode},
		&adapter.Client{HTTP: adapter.NewHTTPClient(8), Target: "leansoft"})
}

func (e *e2eEnv) diaSession(edit func(*dia.Config)) *dia.Session {
	e.t.Helper()
	c := e.cfg.DIA
	dc := dia.Config{BaseURL: c.URL, Username: c.Username, Password: c.Password, APIKey: c.APIKey,
		FirmaKodu: c.FirmaKodu, DonemKodu: c.DonemKodu, DisconnectSameUser: true}
	if edit != nil {
		edit(&dc)
	}
	s, err := dia.NewSession(dc, &adapter.Client{HTTP: adapter.NewHTTPClient(8), Target: "dia"})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *e2eEnv) firstStartTarget() *firststart.Target {
	e.t.Helper()
	fc := firststart.Default()
	fc.BaseURL, fc.AuthTicket = e.cfg.Licrus.URL, e.cfg.Licrus.AuthTicket
	ft, err := firststart.New(fc, &adapter.Client{HTTP: adapter.NewHTTPClient(8), Target: "licrus"})
	if err != nil {
		e.t.Fatal(err)
	}
	return ft
}

// publish sends env on events.<type> with Nats-Msg-Id msgID ("" means the event id).
func (e *e2eEnv) publish(env *event.Envelope, msgID string) {
	e.t.Helper()
	b, err := env.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	if msgID == "" {
		msgID = env.ID
	}
	if _, err := e.js.Publish(context.Background(), event.EventsPrefix+env.Type, b, jetstream.WithMsgID(msgID)); err != nil {
		e.t.Fatal(err)
	}
}

// sink collects every message of a stream on a subject filter as it arrives (an ordered consumer).
type sink struct {
	t    testing.TB
	mu   sync.Mutex
	msgs []jetstream.Msg
}

func (e *e2eEnv) watch(stream, filter string) *sink {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.js.Stream(ctx, stream)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		e.t.Fatal(err)
	}
	s := &sink{t: e.t}
	cc, err := c.Consume(func(m jetstream.Msg) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cc.Stop)
	return s
}

func (s *sink) all() []jetstream.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]jetstream.Msg(nil), s.msgs...)
}

// wait returns the messages once there are at least want, failing the test after d.
func (s *sink) wait(want int, d time.Duration) []jetstream.Msg {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if got := s.all(); len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d messages after %s, want %d", len(s.all()), d, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stays checks that no more than n messages are there for d.
func (s *sink) stays(n int, d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := len(s.all()); got > n {
			s.t.Fatalf("%d messages, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// byRoute returns the outcome messages whose data names route.
func byRoute(t testing.TB, msgs []jetstream.Msg, route string) []jetstream.Msg {
	t.Helper()
	var out []jetstream.Msg
	for _, m := range msgs {
		env, err := event.Decode(m.Data())
		if err != nil {
			t.Fatalf("outcome does not decode: %v", err)
		}
		var d struct {
			Route string `json:"route"`
		}
		_ = json.Unmarshal(env.Data, &d)
		if d.Route == route {
			out = append(out, m)
		}
	}
	return out
}

// checkOutcome decodes an outcome message, checks the envelope, its id, subject, requestId/route/target
// and its schema, and returns its data.
func (e *e2eEnv) checkOutcome(m jetstream.Msg, route string, req *event.Envelope) map[string]any {
	e.t.Helper()
	spec, _ := routes.Lookup(route)
	env, err := event.Decode(m.Data())
	if err != nil {
		e.t.Fatalf("outcome does not decode: %v", err)
	}
	if m.Subject() != event.OutcomesPrefix+spec.OutcomeType || env.Type != spec.OutcomeType {
		e.t.Fatalf("outcome on %s of type %s, want %s", m.Subject(), env.Type, spec.OutcomeType)
	}
	if want := event.OutcomeID(route, req.ID); env.ID != want || m.Headers().Get(nats.MsgIdHdr) != want {
		e.t.Fatalf("outcome id %s (Nats-Msg-Id %s), want %s", env.ID, m.Headers().Get(nats.MsgIdHdr), want)
	}
	if err := e.app.Schemas.Validate(spec.OutcomeType, env.Data); err != nil {
		e.t.Fatalf("%s outcome breaks its schema: %v\n%s", route, err, env.Data)
	}
	var d map[string]any
	if err := json.Unmarshal(env.Data, &d); err != nil {
		e.t.Fatal(err)
	}
	if d["requestId"] != req.ID || d["route"] != route || d["target"] != spec.Target {
		e.t.Fatalf("outcome data %v: want requestId %s, route %s, target %s", d, req.ID, route, spec.Target)
	}
	return d
}

// checkDeadLetter checks the contract headers of a dead letter and that it carries the event's bytes.
func checkDeadLetter(t testing.TB, m jetstream.Msg, route string, req *event.Envelope, class deadletter.Class, attempts string, errHas ...string) {
	t.Helper()
	spec, _ := routes.Lookup(route)
	h := m.Headers()
	want := map[string]string{deadletter.HdrRoute: route, deadletter.HdrEventID: req.ID, deadletter.HdrErrorClass: string(class),
		deadletter.HdrOriginalSubject: event.EventsPrefix + spec.EventType, deadletter.HdrAttempts: attempts}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q (Kopru-Error %q)", k, got, v, h.Get(deadletter.HdrError))
		}
	}
	if m.Subject() != event.DLQPrefix+route {
		t.Errorf("dead letter on %s", m.Subject())
	}
	msg := h.Get(deadletter.HdrError)
	for _, s := range errHas {
		if !strings.Contains(msg, s) {
			t.Errorf("Kopru-Error %q does not say %q", msg, s)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("Kopru-Error %q is not one line", msg)
	}
	if _, err := time.Parse(time.RFC3339, h.Get(deadletter.HdrFailedAt)); err != nil {
		t.Errorf("Kopru-Failed-At: %v", err)
	}
	if orig, _ := req.Marshal(); !bytes.Equal(m.Data(), orig) {
		t.Errorf("dead letter payload is not the original event")
	}
}

func (e *e2eEnv) events(route, result string) float64 {
	return testutil.ToFloat64(e.app.Metrics.Events.WithLabelValues(route, result))
}

// waitCount polls f until it reaches want, failing after d.
func waitCount(t testing.TB, what string, f func() float64, want float64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for f() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after %s, want %v", what, f(), d, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exampleEvent loads schemas/examples/<typ>.json, lets edit change it and wraps it in an envelope.
func exampleEvent(t testing.TB, typ string, edit func(d map[string]any)) *event.Envelope {
	t.Helper()
	b, err := schemas.FS.ReadFile("examples/" + typ + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(d)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return event.New(typ, "e2e-test", raw)
}

// customerEvent is the customer.created example with customerId id.
func customerEvent(t testing.TB, id string, edit func(d map[string]any)) *event.Envelope {
	return exampleEvent(t, "customer.created", func(d map[string]any) {
		d["customerId"] = id
		if edit != nil {
			edit(d)
		}
	})
}

// cardsWithCode counts the DİA customer cards whose carikartkodu is code, and returns the last key.
func cardsWithCode(s *diasim.Sim, code string) (n int, key string) {
	for _, c := range s.Cards() {
		if fmt.Sprint(c.Fields["carikartkodu"]) == code {
			n, key = n+1, strconv.Itoa(c.Key)
		}
	}
	return n, key
}

// Turkish letters, upper and lower case, that a lossy encoding would break.
const (
	turkishName   = "ÇĞİÖŞÜ çğıöşü Isı Sistemleri Ticaret Limited Şirketi"
	turkishStreet = "Çiğdem Sokak Ğ Blok İç Kapı Öğüş"
	turkishHood   = "Şükrüoğlu Mahallesi"
)

// The leansoft-customer route as the configuration builds it: one CustomerSave with the Turkish bytes
// as sent, the outcome with the simulator's GUID; the same event again (past JetStream's dedup) makes no
// second call and no second outcome.
func TestLeanSoftCustomerRouteFromConfig(t *testing.T) {
	e := newE2E(t)
	e.start(nil) // buildRoutes: every route, pointed at the simulators
	outs := e.watch(bus.StreamOutcomes, "outcomes.customer.synced")
	ls := e.sims.LeanSoft

	env := customerEvent(t, "C-TR-0001", func(d map[string]any) {
		d["name"] = turkishName
		a := d["address"].(map[string]any)
		a["street1"], a["neighborhood"] = turkishStreet, turkishHood
	})
	e.publish(env, "")
	// Both customer routes answer: Lean Soft and DİA.
	msgs := outs.wait(2, 10*time.Second)
	lsOut := byRoute(t, msgs, "leansoft-customer")
	if len(lsOut) != 1 {
		t.Fatalf("%d leansoft-customer outcomes, want 1", len(lsOut))
	}
	d := e.checkOutcome(lsOut[0], "leansoft-customer", env)

	recs := ls.Accepted()
	if len(recs) != 1 {
		t.Fatalf("Lean Soft accepted %d customers, want 1", len(recs))
	}
	rec := recs[0]
	if d["customerId"] != rec.CustomerID || rec.CustomerID == "" {
		t.Errorf("outcome customerId %v, simulator's GUID %q", d["customerId"], rec.CustomerID)
	}
	if d["message"] != "Müşteri Başarıyla Aktarılmıştır." {
		t.Errorf("outcome message %q", d["message"])
	}
	c := rec.Customer
	if c.CustomerName != turkishName || c.CustomerStreet1 != turkishStreet || c.CustomerNeighborhood != turkishHood {
		t.Errorf("Turkish text changed on the way: name %q, street %q, neighbourhood %q", c.CustomerName, c.CustomerStreet1, c.CustomerNeighborhood)
	}
	for _, s := range []string{turkishName, turkishStreet, turkishHood} {
		if !bytes.Contains(rec.Body, []byte(s)) {
			t.Errorf("request body does not hold the UTF-8 bytes of %q:\n%s", s, rec.Body)
		}
	}
	if c.CustomerIntegrationCompanyCode != "C-TR-0001" || rec.CompanyID != devstack.LeanSoftCompany {
		t.Errorf("integration code %q, company %q", c.CustomerIntegrationCompanyCode, rec.CompanyID)
	}
	if got := rec.Header.Get(devstack.LeanSoftHeader); got != devstack.LeanSoftAuthValue {
		t.Errorf("auth header %q", got)
	}

	// The DİA route of the same event, wired by buildRoutes too, keeps the same text.
	diaOut := byRoute(t, msgs, "dia-customer")
	if len(diaOut) != 1 {
		t.Fatalf("%d dia-customer outcomes, want 1", len(diaOut))
	}
	dd := e.checkOutcome(diaOut[0], "dia-customer", env)
	if n, key := cardsWithCode(e.sims.DIA, "C-TR-0001"); n != 1 || dd["key"] != key {
		t.Errorf("%d DİA cards C-TR-0001 (key %s), outcome key %v", n, key, dd["key"])
	}
	for _, card := range e.sims.DIA.Cards() {
		if card.Fields["carikartkodu"] == "C-TR-0001" && card.Fields["unvan"] != turkishName {
			t.Errorf("DİA unvan %q", card.Fields["unvan"])
		}
	}

	// The same event again with another Nats-Msg-Id: only the ledger stops a second CustomerSave.
	e.publish(env, env.ID+"-again")
	waitCount(t, "leansoft-customer duplicates", func() float64 { return e.events("leansoft-customer", "duplicate") }, 1, 10*time.Second)
	waitCount(t, "dia-customer duplicates", func() float64 { return e.events("dia-customer", "duplicate") }, 1, 10*time.Second)
	outs.stays(2, 300*time.Millisecond) // re-emitted outcomes carry the same id: JetStream drops them
	if ls.Count() != 1 || ls.Requests() != 1 {
		t.Fatalf("Lean Soft saw %d requests and accepted %d customers, want 1 and 1", ls.Requests(), ls.Count())
	}
	if n, _ := cardsWithCode(e.sims.DIA, "C-TR-0001"); n != 1 || e.sims.DIA.EkleCalls() != 1 {
		t.Fatalf("%d DİA cards after %d ekle calls, want 1 and 1", n, e.sims.DIA.EkleCalls())
	}
	if got := e.events("leansoft-customer", "succeeded"); got != 1 {
		t.Fatalf("succeeded counter %v, want 1", got)
	}
}

// A Lean Soft rule broken in the event is an `invalid` dead letter naming the field, with no call; a
// Result:false answer is a `rejected` dead letter with Lean Soft's message, after one call.
func TestLeanSoftInvalidAndRejectedFromConfig(t *testing.T) {
	e := newE2E(t)
	e.cfg.Routes = map[string]config.Route{"dia-customer": {Enabled: new(false)}}
	e.cfg.LeanSoft.Checksums.UserIdentityNumber = "enforce" // the default is warn (RULES.md)
	e.start(nil)
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	ls := e.sims.LeanSoft

	const badTCKN = "10000000147" // the example's 10000000146 with a wrong last check digit
	bad := customerEvent(t, "C-BAD-1", func(d map[string]any) {
		d["users"].([]any)[0].(map[string]any)["identityNumber"] = badTCKN
	})
	e.publish(bad, "")
	dl := dlq.wait(1, 10*time.Second)
	checkDeadLetter(t, dl[0], "leansoft-customer", bad, deadletter.Invalid, "0",
		"users[0].identityNumber", "CustomerUserIdentityCardNumber", "TCKN checksum")
	if msg := dl[0].Headers().Get(deadletter.HdrError); strings.Contains(msg, badTCKN) {
		t.Errorf("Kopru-Error %q shows the identity number unmasked", msg)
	}
	if ls.Requests() != 0 {
		t.Fatalf("Lean Soft saw %d requests for an invalid event, want 0", ls.Requests())
	}

	const vendorMsg = "Bu vergi numarasıyla kayıtlı bir müşteri zaten var."
	ls.Faults.Push(sim.Fault{VendorError: vendorMsg})
	rej := customerEvent(t, "C-REJ-1", nil)
	e.publish(rej, "")
	dl = dlq.wait(2, 10*time.Second)
	checkDeadLetter(t, dl[1], "leansoft-customer", rej, deadletter.Rejected, "1", vendorMsg)
	if got := dl[1].Headers().Get(deadletter.HdrTargetStatus); got != "200" {
		t.Errorf("Kopru-Target-Status %q, want 200", got)
	}
	time.Sleep(200 * time.Millisecond)
	if ls.Requests() != 1 || ls.Count() != 0 {
		t.Fatalf("Lean Soft saw %d requests and accepted %d, want 1 and 0", ls.Requests(), ls.Count())
	}
	if n := len(outs.all()); n != 0 {
		t.Fatalf("%d outcomes, want 0", n)
	}
	if e.events("leansoft-customer", "invalid") != 1 || e.events("leansoft-customer", "rejected") != 1 {
		t.Fatalf("invalid %v, rejected %v, want 1 and 1", e.events("leansoft-customer", "invalid"), e.events("leansoft-customer", "rejected"))
	}
}

// An expired DİA session is renewed once: the event after the expiry makes one more login and one
// card, through one worker attempt.
func TestDIAExpiredSessionIsRenewedOnce(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	ds := e.sims.DIA

	first := customerEvent(t, "C-SESS-1", nil)
	e.publish(first, "")
	outs.wait(1, 10*time.Second)
	if ds.Logins() != 1 {
		t.Fatalf("%d logins for the first event, want 1", ds.Logins())
	}
	ds.ExpireSessions()
	second := customerEvent(t, "C-SESS-2", nil)
	e.publish(second, "")
	msgs := outs.wait(2, 10*time.Second)
	d := e.checkOutcome(msgs[1], "dia-customer", second)
	if ds.Logins() != 2 {
		t.Errorf("%d logins, want 2 (one renewal)", ds.Logins())
	}
	n, key := cardsWithCode(ds, "C-SESS-2")
	if n != 1 || d["key"] != key {
		t.Errorf("%d cards C-SESS-2 (key %s), outcome key %v; want one card, its key in the outcome", n, key, d["key"])
	}
	if ds.EkleCalls() != 3 { // first; second refused (419); second again
		t.Errorf("%d scf_carikart_ekle requests, want 3", ds.EkleCalls())
	}
	if got := testutil.ToFloat64(e.app.Metrics.Attempts.WithLabelValues("dia-customer")); got != 2 {
		t.Errorf("worker attempts %v, want 2: the renewal is the session's, not a worker retry", got)
	}
}

// Wrong DİA credentials: every event is a `rejected` dead letter at once, and the refused login is
// not repeated per event during the cool-down.
func TestDIAWrongCredentialsRejectWithoutLoginStorm(t *testing.T) {
	e := newE2E(t)
	const wrong = "wrong-password-s3cr3t"
	s := e.diaSession(func(c *dia.Config) { c.Password = wrong })
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(s), fastPolicy(3))})
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ds := e.sims.DIA

	const n = 6
	evs := map[string]*event.Envelope{}
	for i := range n {
		env := customerEvent(t, fmt.Sprintf("C-CRED-%d", i), nil)
		evs[env.ID] = env
		e.publish(env, "")
	}
	for _, m := range dlq.wait(n, 10*time.Second) {
		env := evs[m.Headers().Get(deadletter.HdrEventID)]
		if env == nil {
			t.Fatalf("dead letter for an unknown event %q", m.Headers().Get(deadletter.HdrEventID))
		}
		checkDeadLetter(t, m, "dia-customer", env, deadletter.Rejected, "1", "refused the login", "KOPRU_DIA_PASSWORD")
		if strings.Contains(m.Headers().Get(deadletter.HdrError), wrong) {
			t.Fatalf("the password is in Kopru-Error")
		}
	}
	if got := ds.Logins(); got > 1 {
		t.Errorf("%d logins for %d events in the cool-down, want 1", got, n)
	}
	if ds.EkleCalls() != 0 {
		t.Errorf("%d ekle calls without a session", ds.EkleCalls())
	}
	for _, l := range e.logs.All() {
		if line := l.Message + fmt.Sprint(l.ContextMap()); strings.Contains(line, wrong) {
			t.Fatalf("the password is in a log line: %s", line)
		}
	}
}

// A customer create whose answer never comes (DİA acted, then hung past AttemptTimeout) is an unknown
// outcome; the route's Finder (scf_carikart_listele by carikartkodu) finds the card, so the event
// succeeds with its key and no second card is made.
func TestDIAAmbiguousCustomerCreateFindsTheCard(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ds := e.sims.DIA
	ds.Faults.Push(sim.Fault{HangAfterAct: true}) // the next ekle/listele: the create

	env := customerEvent(t, "C-AMB-1", nil)
	start := time.Now()
	e.publish(env, "")
	msgs := outs.wait(1, 10*time.Second)
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Errorf("outcome after %s, before the attempt could time out", el)
	}
	d := e.checkOutcome(msgs[0], "dia-customer", env)
	n, key := cardsWithCode(ds, "C-AMB-1")
	if n != 1 {
		t.Fatalf("%d cards C-AMB-1, want exactly 1", n)
	}
	if d["key"] != key {
		t.Errorf("outcome key %v, the card's key %s", d["key"], key)
	}
	outs.stays(1, 300*time.Millisecond)
	if len(dlq.all()) != 0 {
		t.Fatalf("%d dead letters, want 0", len(dlq.all()))
	}
	if ds.EkleCalls() != 1 || ds.ListCalls() != 1 {
		t.Errorf("%d ekle and %d listele calls, want 1 and 1", ds.EkleCalls(), ds.ListCalls())
	}
	if got := len(ds.Cards()); got != 2 { // the seeded 0000008 and this one
		t.Errorf("%d cards in all, want 2", got)
	}
}

// A service note has no natural key: the same hang is an `ambiguous` dead letter telling the operator
// what to check, with exactly one note in DİA and no second call.
func TestDIAAmbiguousServiceNoteIsDeadLettered(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-service-note", dia.NewServiceNoteTarget(e.diaSession(nil)), fastPolicy(3))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ds := e.sims.DIA
	ds.Faults.Push(sim.Fault{HangAfterAct: true})

	env := exampleEvent(t, "service-note.created", nil)
	e.publish(env, "")
	dl := dlq.wait(1, 10*time.Second)
	checkDeadLetter(t, dl[0], "dia-service-note", env, deadletter.Ambiguous, "1", "look in dia", env.ID, "--allow-ambiguous")
	time.Sleep(300 * time.Millisecond)
	if got := len(ds.Notes()); got != 1 {
		t.Fatalf("%d notes, want exactly 1", got)
	}
	if ds.EkleCalls() != 1 || ds.ListCalls() != 0 {
		t.Errorf("%d ekle and %d listele calls, want 1 and 0", ds.EkleCalls(), ds.ListCalls())
	}
	if n := len(outs.all()); n != 0 {
		t.Fatalf("%d outcomes, want 0", n)
	}

	// The route still works: the next note goes through, and its outcome fits the schema.
	next := exampleEvent(t, "service-note.created", nil)
	e.publish(next, "")
	d := e.checkOutcome(outs.wait(1, 10*time.Second)[0], "dia-service-note", next)
	if notes := ds.Notes(); len(notes) != 2 || d["key"] != strconv.Itoa(notes[1].Key) {
		t.Errorf("%d notes, outcome key %v", len(notes), d["key"])
	}
}

// One customer.created event feeds both customer routes. With Lean Soft answering 503, DİA's outcome
// comes at once; Lean Soft's comes once it recovers. Each simulator accepts one customer and there are
// two outcomes with different ids.
func TestCustomerFanOutSlowTargetDoesNotHoldUpTheOther(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{
		e2eRoute(t, "leansoft-customer", e.leanSoftTarget(), fastPolicy(10000)),
		e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3)),
	})
	outs := e.watch(bus.StreamOutcomes, "outcomes.customer.synced")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ls, ds := e.sims.LeanSoft, e.sims.DIA
	ls.Faults.Always(&sim.Fault{Status: 503})

	env := customerEvent(t, "C-FAN-1", nil)
	start := time.Now()
	e.publish(env, "")
	first := outs.wait(1, 5*time.Second)
	diaAt := time.Since(start)
	if ls.Count() != 0 {
		t.Fatalf("Lean Soft accepted a customer while answering 503")
	}
	if len(byRoute(t, first, "dia-customer")) != 1 {
		t.Fatalf("the first outcome is not DİA's")
	}
	// Lean Soft is being retried meanwhile, not given up on.
	waitCount(t, "Lean Soft requests", func() float64 { return float64(ls.Requests()) }, 5, 10*time.Second)
	if n := len(outs.all()); n != 1 {
		t.Fatalf("%d outcomes while Lean Soft is down, want 1", n)
	}
	ls.Faults.Reset()
	msgs := outs.wait(2, 10*time.Second)
	t.Logf("DİA outcome after %s; Lean Soft recovered after %d requests", diaAt, ls.Requests())

	ld := e.checkOutcome(byRoute(t, msgs, "leansoft-customer")[0], "leansoft-customer", env)
	dd := e.checkOutcome(byRoute(t, msgs, "dia-customer")[0], "dia-customer", env)
	e1, _ := event.Decode(msgs[0].Data())
	e2, _ := event.Decode(msgs[1].Data())
	if e1.ID == e2.ID {
		t.Fatalf("both outcomes have id %s", e1.ID)
	}
	if ls.Count() != 1 || ld["customerId"] != ls.Accepted()[0].CustomerID {
		t.Errorf("Lean Soft accepted %d; outcome customerId %v", ls.Count(), ld["customerId"])
	}
	if n, key := cardsWithCode(ds, "C-FAN-1"); n != 1 || dd["key"] != key {
		t.Errorf("%d DİA cards (key %s); outcome key %v", n, key, dd["key"])
	}
	outs.stays(2, 200*time.Millisecond)
	if len(dlq.all()) != 0 {
		t.Fatalf("%d dead letters, want 0", len(dlq.all()))
	}
}

// firstStartEvent is the first-start example with names instead of ids.
func firstStartEvent(t testing.TB, city, district, group string) *event.Envelope {
	return exampleEvent(t, "first-start.requested", func(d map[string]any) {
		a := d["customer"].(map[string]any)["address"].(map[string]any)
		a["city"], a["district"] = city, district
		delete(d, "productMainGroupId")
		d["productMainGroup"] = group
	})
}

// path walks decoded JSON: string keys into objects, ints into arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// The licrus-first-start route resolves names to ids through Licrus's lookups, caches them, and
// refuses a name Licrus does not know.
func TestFirstStartResolvesNamesAndCaches(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "licrus-first-start", e.firstStartTarget(), fastPolicy(3))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	lc := e.sims.Licrus

	env := firstStartEvent(t, "İstanbul", "Kadıköy", "Kombiler")
	e.publish(env, "")
	d := e.checkOutcome(outs.wait(1, 10*time.Second)[0], "licrus-first-start", env)
	forms := lc.Forms()
	if len(forms) != 1 {
		t.Fatalf("%d forms, want 1", len(forms))
	}
	f := forms[0].Body
	addr := path(f, "Form", "Customer", "Addresses", 0)
	if got := path(addr, "City", "Id"); got != "34" {
		t.Errorf("City.Id %#v, want \"34\"", got)
	}
	if got := path(addr, "District", "Id"); got != "446" { // KADIKÖY in the simulator's list
		t.Errorf("District.Id %#v, want \"446\"", got)
	}
	if got := path(f, "Form", "ProductMainGroup", "Id"); got != float64(220) { // KOMBİLER, a number
		t.Errorf("ProductMainGroup.Id %#v, want 220", got)
	}
	if want := strconv.Itoa(forms[0].Number); d["formNumber"] != want {
		t.Errorf("outcome formNumber %v, want %s", d["formNumber"], want)
	}
	if !strings.Contains(fmt.Sprint(d["message"]), strconv.Itoa(forms[0].Number)) {
		t.Errorf("outcome message %q", d["message"])
	}
	lookups := func() [3]int {
		return [3]int{lc.LookupCalls(licrussim.LookupCities), lc.LookupCalls(licrussim.LookupDistricts), lc.LookupCalls(licrussim.LookupMainGroups)}
	}
	if got := lookups(); got != [3]int{0, 1, 1} {
		t.Fatalf("lookups (cities, districts, main groups) %v, want [0 1 1]", got)
	}

	// Same city and district, other spelling: served from the cache.
	again := firstStartEvent(t, "ISTANBUL", "KADIKÖY", "KOMBİLER")
	e.publish(again, "")
	d2 := e.checkOutcome(outs.wait(2, 10*time.Second)[1], "licrus-first-start", again)
	if got := lookups(); got != [3]int{0, 1, 1} {
		t.Errorf("lookups after a second event %v, want [0 1 1] (cache hits)", got)
	}
	if forms = lc.Forms(); len(forms) != 2 || d2["formNumber"] != strconv.Itoa(forms[1].Number) {
		t.Errorf("%d forms; second outcome formNumber %v", len(forms), d2["formNumber"])
	}

	// A district İstanbul does not have: invalid, naming it; nothing created.
	unknown := firstStartEvent(t, "İstanbul", "Atlantis", "Kombiler")
	e.publish(unknown, "")
	checkDeadLetter(t, dlq.wait(1, 10*time.Second)[0], "licrus-first-start", unknown, deadletter.Invalid, "0",
		"district", "Atlantis")
	if n := len(lc.Forms()); n != 2 {
		t.Errorf("%d forms after an invalid event, want 2", n)
	}
	if n := lc.Requests(); n != 4 { // 2 lookups + 2 forms
		t.Errorf("Licrus saw %d requests, want 4", n)
	}
}

// A Licrus lookup that answers 503 is retried (nothing was created, so it is safe), not
// dead-lettered, and the event succeeds once the lookup is back.
func TestFirstStartLookupDownIsRetried(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "licrus-first-start", e.firstStartTarget(), fastPolicy(10000))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	lc := e.sims.Licrus
	lc.Faults.Always(&sim.Fault{Status: 503})

	env := firstStartEvent(t, "İzmir", "Karabağlar", "Kazanlar")
	e.publish(env, "")
	waitCount(t, "district lookups", func() float64 { return float64(lc.LookupCalls(licrussim.LookupDistricts)) }, 3, 10*time.Second)
	if len(outs.all()) != 0 || len(dlq.all()) != 0 || len(lc.Forms()) != 0 {
		t.Fatalf("while the lookup is down: %d outcomes, %d dead letters, %d forms; want none",
			len(outs.all()), len(dlq.all()), len(lc.Forms()))
	}
	lc.Faults.Reset()
	d := e.checkOutcome(outs.wait(1, 10*time.Second)[0], "licrus-first-start", env)
	forms := lc.Forms()
	if len(forms) != 1 {
		t.Fatalf("%d forms, want 1", len(forms))
	}
	addr := path(forms[0].Body, "Form", "Customer", "Addresses", 0)
	if path(addr, "City", "Id") != "35" || path(addr, "District", "Id") != "511" ||
		path(forms[0].Body, "Form", "ProductMainGroup", "Id") != float64(224) {
		t.Errorf("resolved ids: city %v, district %v, group %v; want 35, 511, 224", path(addr, "City", "Id"),
			path(addr, "District", "Id"), path(forms[0].Body, "Form", "ProductMainGroup", "Id"))
	}
	if d["formNumber"] != strconv.Itoa(forms[0].Number) {
		t.Errorf("formNumber %v", d["formNumber"])
	}
	if got := testutil.ToFloat64(e.app.Metrics.Retries.WithLabelValues("licrus-first-start", "retryable")); got < 2 {
		t.Errorf("retryable retries %v, want at least 2", got)
	}
	dlq.stays(0, 200*time.Millisecond)
}

// Every route of the table, as buildRoutes wires it from a configuration pointed at the simulators,
// turns its doc example event into one outcome that fits its schema.
func TestEveryRouteFromConfigEmitsValidOutcomes(t *testing.T) {
	e := newE2E(t)
	e.start(nil)
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")

	byType := map[string]*event.Envelope{}
	for _, spec := range routes.Builtin() {
		if byType[spec.EventType] == nil {
			byType[spec.EventType] = exampleEvent(t, spec.EventType, nil)
			e.publish(byType[spec.EventType], "")
		}
	}
	msgs := outs.wait(len(routes.Builtin()), 10*time.Second)
	for _, spec := range routes.Builtin() {
		got := byRoute(t, msgs, spec.Name)
		if len(got) != 1 {
			t.Errorf("route %s: %d outcomes, want 1", spec.Name, len(got))
			continue
		}
		e.checkOutcome(got[0], spec.Name, byType[spec.EventType])
	}
	outs.stays(len(routes.Builtin()), 200*time.Millisecond)
	if n := len(dlq.all()); n != 0 {
		t.Fatalf("%d dead letters, want 0: %v", n, dlq.all()[0].Headers())
	}
	if e.sims.Licrus.CallCount() != 1 || len(e.sims.Licrus.Forms()) != 1 || e.sims.LeanSoft.Count() != 1 ||
		len(e.sims.DIA.Notes()) != 1 || len(e.sims.DIA.Cards()) != 2 {
		t.Errorf("simulators: %d calls, %d forms, %d Lean Soft customers, %d notes, %d cards; want 1, 1, 1, 1, 2",
			e.sims.Licrus.CallCount(), len(e.sims.Licrus.Forms()), e.sims.LeanSoft.Count(), len(e.sims.DIA.Notes()), len(e.sims.DIA.Cards()))
	}
}

// The other two ways the DİA customer route meets an unknown outcome: a bare HTTP 500 before DİA acted
// (the Finder finds nothing, so the create is made again, once), and a card that already exists (DİA
// answers its duplicate code 501, which says nothing certain; the Finder finds the card and the event
// succeeds with its key, no second card).
func TestDIAUnknownOutcomeResolvedByFinder(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), fastPolicy(3))})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ds := e.sims.DIA

	t.Run("500 before acting: created again", func(t *testing.T) {
		ds.Faults.Push(sim.Fault{Status: 500})
		env := customerEvent(t, "C-500-1", nil)
		e.publish(env, "")
		d := e.checkOutcome(outs.wait(1, 10*time.Second)[0], "dia-customer", env)
		if n, key := cardsWithCode(ds, "C-500-1"); n != 1 || d["key"] != key {
			t.Errorf("%d cards (key %s), outcome key %v", n, key, d["key"])
		}
		if ds.EkleCalls() != 2 || ds.ListCalls() != 1 {
			t.Errorf("%d ekle and %d listele calls, want 2 and 1", ds.EkleCalls(), ds.ListCalls())
		}
	})
	t.Run("card exists already: adopted", func(t *testing.T) {
		key := strconv.Itoa(ds.AddRecord(diasim.TableCariKart, map[string]any{"carikartkodu": "C-OLD-1", "unvan": "Eski Kayıt"}))
		ekles, lists := ds.EkleCalls(), ds.ListCalls()
		env := customerEvent(t, "C-OLD-1", nil)
		e.publish(env, "")
		d := e.checkOutcome(outs.wait(2, 10*time.Second)[1], "dia-customer", env)
		if d["key"] != key {
			t.Errorf("outcome key %v, the existing card's %s", d["key"], key)
		}
		if n, _ := cardsWithCode(ds, "C-OLD-1"); n != 1 {
			t.Errorf("%d cards C-OLD-1, want 1", n)
		}
		if ds.EkleCalls()-ekles != 1 || ds.ListCalls()-lists != 1 {
			t.Errorf("%d ekle and %d listele calls, want 1 and 1", ds.EkleCalls()-ekles, ds.ListCalls()-lists)
		}
	})
	if n := len(dlq.all()); n != 0 {
		t.Fatalf("%d dead letters, want 0: %v", n, dlq.all()[0].Headers())
	}
}

// Many events at once meet an expired DİA session: one renewal for all of them (a second login would
// also end the first session, since Köprü logs in with disconnect_same_user), one card each.
func TestDIAExpiredSessionConcurrentEventsOneRenewal(t *testing.T) {
	e := newE2E(t)
	p := fastPolicy(3)
	p.Concurrency = 8
	e.start([]worker.Route{e2eRoute(t, "dia-customer", dia.NewCustomerTarget(e.diaSession(nil)), p)})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	ds := e.sims.DIA

	e.publish(customerEvent(t, "C-CONC-WARM", nil), "")
	outs.wait(1, 10*time.Second)
	ds.ExpireSessions()
	const n = 8
	for i := range n {
		e.publish(customerEvent(t, fmt.Sprintf("C-CONC-%d", i), nil), "")
	}
	outs.wait(1+n, 10*time.Second)
	if got := ds.Logins(); got != 2 {
		t.Errorf("%d logins, want 2 (one renewal shared by %d events)", got, n)
	}
	for i := range n {
		if c, _ := cardsWithCode(ds, fmt.Sprintf("C-CONC-%d", i)); c != 1 {
			t.Errorf("%d cards C-CONC-%d, want 1", c, i)
		}
	}
	if got := e.events("dia-customer", "succeeded"); got != 1+n {
		t.Errorf("succeeded %v, want %d", got, 1+n)
	}
}

// Events that miss the same district list at once make one lookup between them.
func TestFirstStartConcurrentMissesOneLookup(t *testing.T) {
	e := newE2E(t)
	p := fastPolicy(3)
	p.Concurrency = 8
	e.start([]worker.Route{e2eRoute(t, "licrus-first-start", e.firstStartTarget(), p)})
	outs := e.watch(bus.StreamOutcomes, "outcomes.>")
	lc := e.sims.Licrus
	lc.Faults.Push(sim.Fault{Delay: 200 * time.Millisecond}) // a slow first lookup, so the others wait for it

	const n = 6
	for range n {
		e.publish(firstStartEvent(t, "Ankara", "Çankaya", "Klimalar"), "")
	}
	for _, m := range outs.wait(n, 10*time.Second) {
		env, _ := event.Decode(m.Data())
		if err := e.app.Schemas.Validate("first-start.form-created", env.Data); err != nil {
			t.Fatal(err)
		}
	}
	if d, g := lc.LookupCalls(licrussim.LookupDistricts), lc.LookupCalls(licrussim.LookupMainGroups); d != 1 || g != 1 {
		t.Errorf("%d district and %d main-group lookups for %d concurrent events, want 1 and 1", d, g, n)
	}
	for _, f := range lc.Forms() {
		addr := path(f.Body, "Form", "Customer", "Addresses", 0)
		if path(addr, "City", "Id") != "6" || path(addr, "District", "Id") != "601" || path(f.Body, "Form", "ProductMainGroup", "Id") != float64(223) {
			t.Errorf("form %d: city %v, district %v, group %v; want 6, 601, 223", f.Number, path(addr, "City", "Id"),
				path(addr, "District", "Id"), path(f.Body, "Form", "ProductMainGroup", "Id"))
		}
	}
}

// A note for a customer card DİA does not have is refused (body code 400): a `rejected` dead letter
// with DİA's message, after one call, and no note.
func TestDIAServiceNoteForUnknownCardIsRejected(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "dia-service-note", dia.NewServiceNoteTarget(e.diaSession(nil)), fastPolicy(3))})
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	env := exampleEvent(t, "service-note.created", func(d map[string]any) { d["customerCode"] = "9999999" })
	e.publish(env, "")
	m := dlq.wait(1, 10*time.Second)[0]
	checkDeadLetter(t, m, "dia-service-note", env, deadletter.Rejected, "1", "gts_notlar_ekle", "Kayıt bulunamadı", "9999999")
	if got := m.Headers().Get(deadletter.HdrTargetStatus); got != "400" {
		t.Errorf("Kopru-Target-Status %q, want 400", got)
	}
	if n := len(e.sims.DIA.Notes()); n != 0 || e.sims.DIA.EkleCalls() != 1 {
		t.Errorf("%d notes after %d ekle calls, want 0 and 1", n, e.sims.DIA.EkleCalls())
	}
}

// Lean Soft has no look-up by natural key in Köprü: a CustomerSave that acted and then hung is an
// `ambiguous` dead letter, never a second CustomerSave.
func TestLeanSoftHangAfterActIsAmbiguous(t *testing.T) {
	e := newE2E(t)
	e.start([]worker.Route{e2eRoute(t, "leansoft-customer", e.leanSoftTarget(), fastPolicy(3))})
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	ls := e.sims.LeanSoft
	ls.Faults.Push(sim.Fault{HangAfterAct: true})
	env := customerEvent(t, "C-HANG-1", nil)
	e.publish(env, "")
	checkDeadLetter(t, dlq.wait(1, 10*time.Second)[0], "leansoft-customer", env, deadletter.Ambiguous, "1",
		"look in leansoft", env.ID, "--allow-ambiguous")
	time.Sleep(300 * time.Millisecond)
	if ls.Count() != 1 || ls.Requests() != 1 {
		t.Fatalf("Lean Soft saw %d requests and accepted %d, want exactly 1 and 1", ls.Requests(), ls.Count())
	}
}
