package licrus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The doc's example event (schemas/examples) must produce the doc's example request, field for field
// and in the doc's order. The golden file is the doc's own body, copied verbatim from api-docs.
func TestMapProducesTheDocsRequest(t *testing.T) {
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := Map(data, "aa1c99300ccd452aa518a52aa565****")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(body, "", "    ")
	golden := "testdata/doc-request.json"
	if *update {
		_ = os.WriteFile(golden, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatalf("body differs from the doc's example:\n got %s\nwant %s", got, want)
	}
}

func TestMapRules(t *testing.T) {
	cases := []struct {
		name, data string
		check      func(t *testing.T, b ExternalCall, err error)
	}{
		{"serials comma-joined, blanks dropped", `{"customer":{"fullName":" Ali ","mobilePhone":"5301231212","city":"İzmir","district":"Konak","address":"A"},"product":{"group":"G","serialNumbers":[" 1 ","","2"],"names":["A","B"]},"deviceCount":2}`,
			func(t *testing.T, b ExternalCall, err error) {
				if err != nil || b.ProductSerialNumberList != "1,2" || b.ProductNameList != "A,B" || b.DeviceCount != 2 {
					t.Fatalf("%+v %v", b, err)
				}
			}},
		{"serial with a comma", `{"product":{"serialNumbers":["1,2"]}}`, func(t *testing.T, _ ExternalCall, err error) {
			if adapter.AsError(err).Class != adapter.ClassInvalid || !strings.Contains(err.Error(), "comma") {
				t.Fatalf("%v", err)
			}
		}},
		{"no serials", `{"product":{"serialNumbers":[" "]}}`, func(t *testing.T, _ ExternalCall, err error) {
			if adapter.AsError(err).Class != adapter.ClassInvalid {
				t.Fatalf("%v", err)
			}
		}},
		{"required field of Unicode spaces", `{"customer":{"fullName":"\u00a0\u3000","mobilePhone":"5","city":"c","district":"d","address":"a"},"product":{"group":"G","serialNumbers":["9"]},"deviceCount":1}`,
			func(t *testing.T, _ ExternalCall, err error) {
				if adapter.AsError(err).Class != adapter.ClassInvalid || !strings.Contains(err.Error(), "customer.fullName") {
					t.Fatalf("%v", err)
				}
			}},
		{"dealer optional", `{"customer":{"fullName":" Ali ","mobilePhone":"5301231212","city":"İzmir","district":"Konak","address":"A"},"product":{"group":"G","serialNumbers":["9"]},"deviceCount":1}`, func(t *testing.T, b ExternalCall, err error) {
			if err != nil || b.DealerCompanyName != "" || b.CustomerFullName != "Ali" {
				t.Fatalf("%+v %v", b, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Map(json.RawMessage(tc.data), "T")
			tc.check(t, b, err)
		})
	}
}

func TestParseCallNumber(t *testing.T) {
	doc := "Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090"
	cases := []struct {
		name, msg, want string
		ok              bool
	}{
		{"doc NFC", doc, "43090", true},
		{"NFD", norm.NFD.String(doc), "43090", true},
		{"upper case Turkish", "ÇAĞRI NUMARASI: 43090", "43090", true},
		{"upper case NFD", norm.NFD.String("ÇAĞRI NUMARASI:43090"), "43090", true},
		{"no colon, extra spaces", "Çağrı   numarası    43090 .", "43090", true},
		{"ASCII only", "Cagri numarasi: 7", "7", true},
		{"dotless upper I", "CAGRI NUMARASI : 12", "12", true},
		{"abbreviation", "Çağrı No: 555", "555", true},
		{"line break", "Çağrı\nnumarası:\n99", "99", true},
		{"first mention without a number", "Çağrı numarası henüz yok. Çağrı numarası: 8", "8", true},
		{"no number", "Verdiğiniz bilgilere göre çağrı oluşturulmuştur.", "", false},
		{"other number only", "Kayıt 123 oluşturuldu", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseCallNumber(tc.msg)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("ParseCallNumber(%q) = %q, %v; want %q, %v", tc.msg, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func newTarget(t *testing.T, s *licrussim.Sim) *Target {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return New(Config{BaseURL: srv.URL + "/api/", AuthTicket: "TICKET-1234"}, &adapter.Client{Target: "licrus"})
}

func call(t *testing.T, tg *Target) (adapter.Result, error) {
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	return tg.Call(context.Background(), adapter.Request{EventID: "e1", Type: "installation.requested", Data: data})
}

func TestCallAgainstTheSimulator(t *testing.T) {
	s := licrussim.New("TICKET-1234")
	tg := newTarget(t, s)
	parseFailures := 0
	tg.ParseFailed = func() { parseFailures++ }

	res, err := call(t, tg)
	if err != nil || res.Fields["callNumber"] != "43090" {
		t.Fatalf("%v %v", res, err)
	}
	if got := s.Calls()[0].Body["ProductSerialNumberList"]; got != "99958,99959" {
		t.Fatalf("simulator got serials %v", got)
	}

	s.SetMessage(func(int) string { return "Talebiniz alınmıştır." })
	res, err = call(t, tg)
	if err != nil || res.Fields["callNumber"] != "" || res.Fields["message"] != "Talebiniz alınmıştır." || parseFailures != 1 {
		t.Fatalf("unparseable success: %v %v (parse failures %d)", res, err, parseFailures)
	}

	cases := []struct {
		name  string
		fault sim.Fault
		class adapter.Class
	}{
		{"HasError", sim.Fault{VendorError: "Seri numarası bulunamadı"}, adapter.ClassRejected},
		{"503", sim.Fault{Status: http.StatusServiceUnavailable}, adapter.ClassRetryable},
		{"429", sim.Fault{Status: http.StatusTooManyRequests}, adapter.ClassRetryable},
		{"500", sim.Fault{Status: http.StatusInternalServerError}, adapter.ClassUnknown},
		{"500 with Retry-After", sim.Fault{Status: http.StatusInternalServerError, RetryAfter: 2e9}, adapter.ClassRetryable},
		{"401", sim.Fault{Status: http.StatusUnauthorized}, adapter.ClassRejected},
		{"reset after act", sim.Fault{ResetAfterAct: true}, adapter.ClassUnknown},
		{"not JSON", sim.Fault{Status: 200, Body: "<html>ok</html>"}, adapter.ClassUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.Faults.Push(tc.fault)
			_, err := call(t, tg)
			var te *adapter.Error
			if !errors.As(err, &te) || te.Class != tc.class {
				t.Fatalf("error %v, want class %v", err, tc.class)
			}
			if strings.Contains(err.Error(), "TICKET-1234") {
				t.Fatalf("the AuthTicket leaked: %v", err)
			}
		})
	}
}

func TestCallNotSentWhenNobodyListens(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	tg := New(Config{BaseURL: url + "/api", AuthTicket: "TICKET-1234"}, &adapter.Client{Target: "licrus"})
	_, err := call(t, tg)
	if te := adapter.AsError(err); te.Class != adapter.ClassNotSent {
		t.Fatalf("%v, want not-sent", err)
	}
}

func TestConfigStringMasksTheTicket(t *testing.T) {
	c := Config{BaseURL: "https://x/api", AuthTicket: "TICKET-1234"}
	if strings.Contains(c.String(), "TICKET") || c.Validate() != nil {
		t.Fatalf("%s", c)
	}
	if err := (Config{BaseURL: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "KOPRU_LICRUS_AUTH_TICKET") {
		t.Fatalf("%v", err)
	}
}

// The doc's own response carries the call number only in its message.
func TestDocResponse(t *testing.T) {
	b, err := os.ReadFile("testdata/doc-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if n, ok := ParseCallNumber(r.Messages()); r.HasError || !ok || n != "43090" {
		t.Fatalf("HasError %v, number %q (%v)", r.HasError, n, ok)
	}
}
