package leansoft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

const (
	company = "42"
	hdr     = "X-Api-Key"
	secret  = "sim-secret"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func start(t testing.TB, s *Sim) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/Definitions/CustomerSave/"
}

// docExample is the doc's example request, verbatim. Its CustomerUserIdentityCardNumber fails the TCKN
// checksum: the simulator accepts it anyway, since the doc does not say Lean Soft checks checksums.
func docExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/doc-example.request.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type reply struct {
	Result  bool
	Message string
	Item    *struct{ CustomerID string }
}

func post(t testing.TB, url string, header http.Header, body []byte) (int, http.Header, reply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r reply
	if resp.StatusCode != http.StatusServiceUnavailable {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("answer %d is not the envelope: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, r
}

func auth() http.Header { return http.Header{hdr: {secret}} }

func TestAcceptsDocExample(t *testing.T) {
	s := New(company, hdr, secret)
	url := start(t, s)
	body := docExample(t)
	status, h, r := post(t, url+company, auth(), body)
	if status != http.StatusOK || !r.Result || r.Message != SuccessMessage || r.Item == nil || !guid.MatchString(r.Item.CustomerID) {
		t.Fatalf("answer %d %+v", status, r)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	recs := s.Accepted()
	if len(recs) != 1 || s.Count() != 1 || s.Requests() != 1 {
		t.Fatalf("accepted %d, count %d, requests %d", len(recs), s.Count(), s.Requests())
	}
	rec := recs[0]
	if !bytes.Equal(rec.Body, body) {
		t.Error("recorded body differs from the bytes sent")
	}
	if rec.CustomerID != r.Item.CustomerID || rec.CompanyID != company {
		t.Errorf("record %s/%s, answered %s", rec.CompanyID, rec.CustomerID, r.Item.CustomerID)
	}
	c := rec.Customer
	if c.CustomerOrganizationType == nil || *c.CustomerOrganizationType != 0 || c.CustomerRecordType == nil || *c.CustomerRecordType != 3 {
		t.Errorf("integer fields: org %v record %v", c.CustomerOrganizationType, c.CustomerRecordType)
	}
	if c.CustomerBuildingName != "Bina Adı" || len(c.CustomerUsers) != 1 || c.CustomerUsers[0].CustomerUserExplanation != "Test Açıklama" {
		t.Errorf("decoded customer %+v", c)
	}
}

func TestAuthCompanyAndMethod(t *testing.T) {
	s := New(company, hdr, secret)
	url := start(t, s)
	tests := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"missing auth", company, nil, http.StatusUnauthorized},
		{"wrong auth", company, http.Header{hdr: {"nope"}}, http.StatusUnauthorized},
		{"auth in another header", company, http.Header{"Authorization": {secret}}, http.StatusUnauthorized},
		{"unknown company", "43", auth(), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, r := post(t, url+tt.path, tt.header, docExample(t))
			if status != tt.status || r.Result || r.Message == "" {
				t.Errorf("answer %d %+v, want %d with Result:false", status, r, tt.status)
			}
		})
	}
	resp, err := http.Get(url + company)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d", resp.StatusCode)
	}
	if s.Count() != 0 {
		t.Errorf("accepted %d", s.Count())
	}
}

func TestNoAuthConfigured(t *testing.T) {
	s := New(company, "", "")
	status, _, r := post(t, start(t, s)+company, nil, docExample(t))
	if status != http.StatusOK || !r.Result {
		t.Errorf("answer %d %+v", status, r)
	}
}

func TestUndecodableBody(t *testing.T) {
	s := New(company, "", "")
	url := start(t, s) + company
	tests := map[string]string{
		"not JSON":            `{"Customer":`,
		"text field a number": `{"Customer":{"CustomerName":5}}`,
		"integer field text":  `{"Customer":{"CustomerRecordType":"üç"}}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			status, _, r := post(t, url, nil, []byte(body))
			if status != http.StatusBadRequest || r.Result || r.Message == "" {
				t.Errorf("answer %d %+v", status, r)
			}
		})
	}
}

// mutate applies f to the doc example's Customer object.
func mutate(t testing.TB, f func(c map[string]any)) []byte {
	t.Helper()
	var m map[string]map[string]any
	if err := json.Unmarshal(docExample(t), &m); err != nil {
		t.Fatal(err)
	}
	f(m["Customer"])
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func user(c map[string]any) map[string]any { return c["CustomerUsers"].([]any)[0].(map[string]any) }

func TestDocRules(t *testing.T) {
	long := strings.Repeat("ğ", 251)
	tests := []struct {
		name   string
		change func(c map[string]any)
		want   string // in the message
	}{
		{"no Customer", nil, "Customer alanı zorunludur"},
		{"name required", func(c map[string]any) { delete(c, "CustomerName") }, "CustomerName alanı zorunludur"},
		{"name at most 250", func(c map[string]any) { c["CustomerName"] = long }, "CustomerName alanı en fazla 250"},
		{"record type required", func(c map[string]any) { delete(c, "CustomerRecordType") }, "CustomerRecordType alanı zorunludur"},
		{"record type 1-3", func(c map[string]any) { c["CustomerRecordType"] = 4 }, "CustomerRecordType 1"},
		{"organization type 0-8", func(c map[string]any) { c["CustomerOrganizationType"] = "9" }, "CustomerOrganizationType 0 ile 8"},
		{"reference group required", func(c map[string]any) { c["CustomerReferenceGroupCode"] = "" }, "CustomerReferenceGroupCode alanı zorunludur"},
		{"currency required", func(c map[string]any) { delete(c, "CustomerCurrencyCode") }, "CustomerCurrencyCode alanı zorunludur"},
		{"country required", func(c map[string]any) { delete(c, "CustomerCountryName") }, "CustomerCountryName alanı zorunludur"},
		{"city required", func(c map[string]any) { delete(c, "CustomerCityName") }, "CustomerCityName alanı zorunludur"},
		{"district required", func(c map[string]any) { delete(c, "CustomerDistrictName") }, "CustomerDistrictName alanı zorunludur"},
		{"neighborhood required", func(c map[string]any) { c["CustomerNeighborhood"] = " " }, "CustomerNeighborhood alanı zorunludur"},
		{"email at most 250", func(c map[string]any) { c["CustomerEmail"] = long }, "CustomerEmail alanı en fazla 250"},
		{"tax number required", func(c map[string]any) { delete(c, "CustomerTaxNo") }, "CustomerTaxNo alanı zorunludur"},
		{"tax number at most 11", func(c map[string]any) { c["CustomerTaxNo"] = "123456789012" }, "CustomerTaxNo alanı en fazla 11"},
		{"tax number special character", func(c map[string]any) { c["CustomerTaxNo"] = "1234567/890" }, "CustomerTaxNo alanında"},
		{"tax number space", func(c map[string]any) { c["CustomerTaxNo"] = "1234567 890" }, "CustomerTaxNo alanında"},
		{"placeholder needs e-archive e-mail", func(c map[string]any) { delete(c, "CustomerElectronicArchiveBillEmail") }, "CustomerElectronicArchiveBillEmail alanı zorunludur"},
		{"e-archive e-mail at most 250", func(c map[string]any) { c["CustomerElectronicArchiveBillEmail"] = long }, "CustomerElectronicArchiveBillEmail alanı en fazla 250"},
		{"user text 1 at most 250", func(c map[string]any) { c["CustomerUserText1"] = long }, "CustomerUserText1 alanı en fazla 250"},
		{"user text 2 at most 250", func(c map[string]any) { c["CustomerUserText2"] = long }, "CustomerUserText2 alanı en fazla 250"},
		{"user text 3 at most 250", func(c map[string]any) { c["CustomerUserText3"] = long }, "CustomerUserText3 alanı en fazla 250"},
		{"user name required", func(c map[string]any) { delete(user(c), "CustomerUserName") }, "CustomerUsers[0].CustomerUserName alanı zorunludur"},
		{"user name at most 250", func(c map[string]any) { user(c)["CustomerUserName"] = long }, "CustomerUsers[0].CustomerUserName alanı en fazla 250"},
		{"user surname required", func(c map[string]any) { user(c)["CustomerUserSurname"] = "" }, "CustomerUsers[0].CustomerUserSurname alanı zorunludur"},
		{"user surname at most 250", func(c map[string]any) { user(c)["CustomerUserSurname"] = long }, "CustomerUsers[0].CustomerUserSurname alanı en fazla 250"},
		{"user position at most 250", func(c map[string]any) { user(c)["CustomerUserPosition"] = long }, "CustomerUsers[0].CustomerUserPosition alanı en fazla 250"},
		{"user identity required", func(c map[string]any) { delete(user(c), "CustomerUserIdentityCardNumber") }, "CustomerUsers[0].CustomerUserIdentityCardNumber alanı zorunludur"},
		{"user identity at most 11", func(c map[string]any) { user(c)["CustomerUserIdentityCardNumber"] = "123456789012" }, "CustomerUsers[0].CustomerUserIdentityCardNumber alanı en fazla 11"},
		{"user identity special character", func(c map[string]any) { user(c)["CustomerUserIdentityCardNumber"] = "1234567890_" }, "CustomerUsers[0].CustomerUserIdentityCardNumber alanında"},
	}
	s := New(company, "", "")
	url := start(t, s) + company
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"Kunde":{}}`)
			if tt.change != nil {
				body = mutate(t, tt.change)
			}
			status, _, r := post(t, url, nil, body)
			if status != http.StatusOK || r.Result || !strings.Contains(r.Message, tt.want) || r.Item != nil {
				t.Errorf("answer %d %+v, want 200 Result:false with %q", status, r, tt.want)
			}
		})
	}
	if s.Count() != 0 {
		t.Errorf("accepted %d refused customers", s.Count())
	}
}

func TestNoChecksumRules(t *testing.T) {
	s := New(company, "", "")
	body := mutate(t, func(c map[string]any) { c["CustomerTaxNo"] = "4540536921" }) // a VKN with a wrong check digit
	if status, _, r := post(t, start(t, s)+company, nil, body); status != http.StatusOK || !r.Result {
		t.Errorf("answer %d %+v: the simulator must not check checksums", status, r)
	}
}

func TestFaults(t *testing.T) {
	t.Run("vendor error", func(t *testing.T) {
		s := New(company, "", "")
		s.Faults.Push(sim.Fault{VendorError: "Referans grup kodu bulunamadı."})
		status, _, r := post(t, start(t, s)+company, nil, docExample(t))
		if status != http.StatusOK || r.Result || r.Message != "Referans grup kodu bulunamadı." || s.Count() != 0 {
			t.Errorf("answer %d %+v, count %d", status, r, s.Count())
		}
	})
	t.Run("503 then success", func(t *testing.T) {
		s := New(company, "", "")
		s.Faults.Push(sim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 2 * time.Second})
		url := start(t, s) + company
		status, h, _ := post(t, url, nil, docExample(t))
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "2" || s.Count() != 0 {
			t.Errorf("first answer %d Retry-After %q count %d", status, h.Get("Retry-After"), s.Count())
		}
		if status, _, r := post(t, url, nil, docExample(t)); status != http.StatusOK || !r.Result || s.Count() != 1 {
			t.Errorf("second answer %d %+v count %d", status, r, s.Count())
		}
		if s.Requests() != 2 {
			t.Errorf("requests %d", s.Requests())
		}
	})
	t.Run("reset after acting", func(t *testing.T) {
		s := New(company, "", "")
		s.Faults.Push(sim.Fault{ResetAfterAct: true})
		resp, err := http.Post(start(t, s)+company, "application/json", bytes.NewReader(docExample(t)))
		if err == nil {
			resp.Body.Close()
			t.Fatal("got an answer")
		}
		if s.Count() != 1 {
			t.Errorf("count %d: the customer must exist", s.Count())
		}
	})
	t.Run("hang after acting", func(t *testing.T) {
		s := New(company, "", "")
		s.Faults.Push(sim.Fault{HangAfterAct: true})
		url := start(t, s) + company
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(docExample(t)))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want a timeout", err)
		}
		if s.Count() != 1 {
			t.Errorf("count %d: the customer must exist", s.Count())
		}
	})
}

func TestConcurrent(t *testing.T) {
	s := New(company, hdr, secret)
	url := start(t, s) + company
	const n = 40
	body := docExample(t)
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { // no t.Fatal off the test goroutine
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header = auth()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r reply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Item == nil {
				t.Errorf("answer %d %+v %v", resp.StatusCode, r, err)
				return
			}
			ids <- r.Item.CustomerID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != n || s.Count() != n || len(s.Accepted()) != n {
		t.Errorf("distinct ids %d, count %d, want %d", len(seen), s.Count(), n)
	}
}
