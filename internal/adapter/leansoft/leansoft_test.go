package leansoft

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim"
	leansoftsim "github.com/kopru/kopru/internal/sim/leansoft"
)

const (
	testCompany    = "7f3c"
	testAuthHeader = "X-Lean-Token"
	testSecret     = "s3cr3t-Ünlü-token-4711"
)

// setup starts the simulator behind a real HTTP server and returns an adapter pointed at it.
func setup(t testing.TB) (*Target, *leansoftsim.Sim, Config) {
	t.Helper()
	s := leansoftsim.New(testCompany, testAuthHeader, testSecret)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + "/api/", CompanyID: testCompany, AuthHeader: testAuthHeader, AuthValue: testSecret}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(cfg, &adapter.Client{HTTP: srv.Client(), Target: Name}), s, cfg
}

func request(data []byte) adapter.Request {
	return adapter.Request{EventID: "01JBQ5Z8M3V7K2R4T6W8Y0A1C3", Type: "customer.created", Data: data}
}

// traced is a call's context carrying the event's traceparent, as the worker makes it.
func traced() context.Context {
	return adapter.WithTraceparent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
}

func asTargetError(t testing.TB, err error) *adapter.Error {
	t.Helper()
	var te *adapter.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *adapter.Error", err, err)
	}
	return te
}

func TestCallDocExample(t *testing.T) {
	tg, s, _ := setup(t)
	res, err := tg.Call(traced(), request(readFile(t, "doc-example.event.json")))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	recs := s.Accepted()
	if len(recs) != 1 {
		t.Fatalf("simulator accepted %d", len(recs))
	}
	want := map[string]any{"customerId": recs[0].CustomerID, "message": leansoftsim.SuccessMessage}
	if !reflect.DeepEqual(res.Fields, want) {
		t.Errorf("fields = %v, want %v", res.Fields, want)
	}
	// What went over the wire is the golden body.
	var sent, golden any
	if err := json.Unmarshal(recs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFile(t, "doc-example.golden"), &golden); err != nil {
		t.Fatal(err)
	}
	if d := diff("", golden, sent); len(d) > 0 {
		t.Errorf("sent body differs from the golden file: %v", d)
	}
	h := recs[0].Header
	if h.Get(testAuthHeader) != testSecret || h.Get("Traceparent") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", h)
	}
}

func TestCallTurkishTextArrivesByteExact(t *testing.T) {
	tg, s, _ := setup(t)
	m := valid()
	texts := map[string]string{
		"name":         "ÇĞİÖŞÜ çğıöşü Isıtma Soğutma Şirketi",
		"city":         "Muğla",
		"district":     "Fethiye",
		"neighborhood": "Ölüdeniz Mahallesi",
		"street1":      "Çarşı Caddesi",
		"firstName":    "Işıl",
		"lastName":     "Çağlayan-Öztürk",
	}
	m["name"] = texts["name"]
	address(m)["city"] = texts["city"]
	address(m)["district"] = texts["district"]
	address(m)["neighborhood"] = texts["neighborhood"]
	address(m)["street1"] = texts["street1"]
	user0(m)["firstName"] = texts["firstName"]
	user0(m)["lastName"] = texts["lastName"]
	if _, err := tg.Call(context.Background(), request(encode(t, m))); err != nil {
		t.Fatalf("Call: %v", err)
	}
	rec := s.Accepted()[0]
	for field, text := range texts {
		if !strings.Contains(string(rec.Body), `"`+text+`"`) {
			t.Errorf("%s: the bytes of %q are not in the body as sent: %s", field, text, rec.Body)
		}
	}
	c := rec.Customer
	got := []string{c.CustomerName, c.CustomerCityName, c.CustomerNeighborhood, c.CustomerStreet1, c.CustomerUsers[0].CustomerUserName, c.CustomerUsers[0].CustomerUserSurname}
	want := []string{texts["name"], texts["city"], texts["neighborhood"], texts["street1"], texts["firstName"], texts["lastName"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %q, want %q", got, want)
	}
}

func TestCallVendorRejected(t *testing.T) {
	tg, s, _ := setup(t)
	const msg = "Referans grup kodu (PYTY) bulunamadı."
	s.Faults.Push(sim.Fault{VendorError: msg})
	_, err := tg.Call(context.Background(), request(encode(t, valid())))
	te := asTargetError(t, err)
	if te.Class != adapter.ClassRejected || te.Reason != "vendor_rejected" || te.Status != "200" || !strings.Contains(te.Msg, msg) {
		t.Errorf("error %#v", te)
	}
	if s.Count() != 0 {
		t.Errorf("accepted %d", s.Count())
	}
}

func TestCall503Then200(t *testing.T) {
	tg, s, _ := setup(t)
	s.Faults.Push(sim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
	req := request(encode(t, valid()))

	_, err := tg.Call(context.Background(), req)
	te := asTargetError(t, err)
	if te.Class != adapter.ClassRetryable || te.Status != "503" || te.RetryAfter != time.Second {
		t.Fatalf("first call: %#v", te)
	}
	if s.Count() != 0 {
		t.Fatalf("the 503 created a customer")
	}
	res, err := tg.Call(context.Background(), req)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if s.Count() != 1 || res.Fields["customerId"] != s.Accepted()[0].CustomerID {
		t.Errorf("count %d, fields %v", s.Count(), res.Fields)
	}
}

func TestCallClassification(t *testing.T) {
	tests := []struct {
		name    string
		fault   *sim.Fault
		timeout time.Duration
		mutate  func(cfg *Config)
		data    func(t testing.TB) []byte
		class   adapter.Class
		reason  adapter.Reason
		status  string
		msg     string // in the message
		created int    // customers the simulator holds afterwards
	}{
		{name: "500 may have acted", fault: &sim.Fault{Status: 500}, class: adapter.ClassUnknown, status: "500"},
		{name: "429 retryable", fault: &sim.Fault{Status: 429, RetryAfter: 3 * time.Second}, class: adapter.ClassRetryable, status: "429"},
		{name: "200 that is not the envelope", fault: &sim.Fault{Status: 200, Body: "<html>bakım</html>"}, class: adapter.ClassUnknown, reason: "undecodable", status: "200"},
		{name: "200 envelope without Result", fault: &sim.Fault{Status: 200, Body: `{"Message":"?"}`}, class: adapter.ClassUnknown, reason: "undecodable"},
		{name: "Result true without CustomerID", fault: &sim.Fault{Status: 200, Body: `{"Result":true,"Message":"Müşteri Başarıyla Aktarılmıştır.","Item":null}`}, class: adapter.ClassUnknown, reason: "undecodable", msg: "integration code"},
		{name: "400 with vendor message", fault: &sim.Fault{Status: 400, Body: `{"Result":false,"Message":"Geçersiz model.","Item":null}`}, class: adapter.ClassRejected, status: "400", msg: "Geçersiz model."},
		{name: "reset after acting", fault: &sim.Fault{ResetAfterAct: true}, class: adapter.ClassUnknown, created: 1},
		{name: "timeout after acting", fault: &sim.Fault{HangAfterAct: true}, timeout: 300 * time.Millisecond, class: adapter.ClassUnknown, reason: "timeout", created: 1},
		{name: "wrong auth value", mutate: func(c *Config) { c.AuthValue = "wrong" }, class: adapter.ClassRejected, status: "401", msg: "auth header"},
		{name: "no auth", mutate: func(c *Config) { c.AuthHeader, c.AuthValue = "", "" }, class: adapter.ClassRejected, status: "401"},
		{name: "unknown company", mutate: func(c *Config) { c.CompanyID = "other" }, class: adapter.ClassRejected, status: "404", msg: "Firma bulunamadı"},
		{name: "invalid event sends nothing", data: func(testing.TB) []byte { return []byte(`{"name":"x"}`) }, class: adapter.ClassInvalid, msg: "customerId"},
		{name: "invalid config sends nothing", mutate: func(c *Config) { c.BaseURL = "ftp://x" }, class: adapter.ClassNotSent, reason: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, s, cfg := setup(t)
			if tt.mutate != nil {
				tt.mutate(&cfg)
				tg = New(cfg, tg.client)
			}
			if tt.fault != nil {
				s.Faults.Push(*tt.fault)
			}
			data := encode(t, valid())
			if tt.data != nil {
				data = tt.data(t)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := tg.Call(ctx, request(data))
			te := asTargetError(t, err)
			if te.Class != tt.class || (tt.reason != "" && te.Reason != tt.reason) || (tt.status != "" && te.Status != tt.status) || !strings.Contains(te.Msg, tt.msg) {
				t.Errorf("got %s/%s/%s %q; want %s/%s/%s containing %q", te.Class, te.Reason, te.Status, te.Msg, tt.class, tt.reason, tt.status, tt.msg)
			}
			if s.Count() != tt.created {
				t.Errorf("simulator holds %d customers, want %d", s.Count(), tt.created)
			}
			if tt.class == adapter.ClassInvalid && s.Requests() != 0 {
				t.Errorf("an invalid event reached the simulator")
			}
		})
	}
}

func TestCallNotSent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/api"
	srv.Close() // nothing listens any more
	tg := New(Config{BaseURL: base, CompanyID: testCompany, AuthHeader: testAuthHeader, AuthValue: testSecret}, nil)
	_, err := tg.Call(context.Background(), request(encode(t, valid())))
	if te := asTargetError(t, err); te.Class != adapter.ClassNotSent {
		t.Errorf("got %#v, want not-sent", te)
	}
}
