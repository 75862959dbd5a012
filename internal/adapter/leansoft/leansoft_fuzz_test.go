package leansoft

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
)

// FuzzCustomerSaveAnswer: whatever Lean Soft answers CustomerSave (status and body), Call never panics;
// a failure is a classified *adapter.Error with a one-line message without the auth value, and a success
// carries a non-empty customerId.
func FuzzCustomerSaveAnswer(f *testing.F) {
	for _, b := range []string{
		`{"Result":true,"Message":"Müşteri Başarıyla Aktarılmıştır.","Item":{"CustomerID":"e5502ff6-396a-4ed9-b5e9-cc3f4212a2af"}}`,
		`{"Result":false,"Message":"Vergi numarası hatalı.","Item":null}`,
		`{"Result":true,"Message":"ok","Item":null}`, `{"Result":true,"Item":{"CustomerID":42}}`,
		`{"Result":true,"Item":"e5502ff6"}`, `{"Result":"true"}`, `{"Result":null}`, `{"Message":"x"}`,
		`{"Result":false,"Message":"line1\nline2"}`,
		`{}`, `null`, `[]`, ``, `<html>502</html>`, `{"Result":true,"Item":{"CustomerID":"  "}}`,
	} {
		for _, st := range []int{200, 400, 401, 500, 503} {
			f.Add(st, []byte(b))
		}
	}
	data, err := os.ReadFile("testdata/doc-example.event.json")
	if err != nil {
		f.Fatal(err)
	}
	const secret = "lean-fuzz-s3cret"
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	tg := New(Config{BaseURL: srv.URL + "/api", CompanyID: "42", AuthHeader: "X-Api-Key", AuthValue: secret,
		DefaultReferenceGroupCode: "PYTY"}, &adapter.Client{HTTP: srv.Client(), Target: Name})
	if _, err := Map(data, tg.cfg); err != nil {
		f.Fatalf("the doc example does not map: %v", err)
	}
	f.Fuzz(func(t *testing.T, st int, b []byte) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		status, body = st, b
		res, err := tg.Call(context.Background(), adapter.Request{EventID: "e1", Type: "customer.created", Data: data})
		if err != nil {
			var te *adapter.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a *adapter.Error", err, err)
			}
			if te.Class < adapter.ClassNotSent || te.Class > adapter.ClassUnknown {
				t.Fatalf("error %v has no class", err)
			}
			if strings.ContainsAny(te.Msg, "\r\n") {
				t.Fatalf("message is not one line: %q", te.Msg)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the auth value: %v", err)
			}
			return
		}
		if st > 299 {
			t.Fatalf("status %d taken as success", st)
		}
		if id, _ := res.Fields["customerId"].(string); strings.TrimSpace(id) == "" {
			t.Fatalf("success without a customerId: %v", res.Fields)
		}
	})
}
