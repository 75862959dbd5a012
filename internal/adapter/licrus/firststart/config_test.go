package firststart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestConfig(t *testing.T) {
	d := Default()
	if d.AppSource != "66292" || d.AppPlatform != 2 || d.AppCulture != "TR" || d.Culture != "TR" || d.RequestReasonID != 1 ||
		d.ServiceTypeID != 32 || d.AutoClose || d.ContactTypeIDs[PhoneMobile] != 4 || d.TimeZone != "Europe/Istanbul" ||
		d.LookupRefresh != 24*time.Hour {
		t.Errorf("Default() = %v", d)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"minimal", Config{BaseURL: "https://test.licrus.com/api", AuthTicket: "t"}, ""},
		{"no url", Config{AuthTicket: "t"}, "BaseURL is required"},
		{"relative url", Config{BaseURL: "licrus/api", AuthTicket: "t"}, "absolute"},
		{"no ticket", Config{BaseURL: "http://x/api"}, "AuthTicket"},
		{"bad zone", Config{BaseURL: "http://x/api", AuthTicket: "t", TimeZone: "Mars/Olympus"}, "TimeZone"},
		{"bad phone type", Config{BaseURL: "http://x/api", AuthTicket: "t", ContactTypeIDs: map[string]int{"fax": 9}}, "fax"},
		{"zero phone id", Config{BaseURL: "http://x/api", AuthTicket: "t", ContactTypeIDs: map[string]int{"work": 0}}, "work"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate() = %v, want %q", err, tc.wantErr)
			}
			if _, err := New(tc.cfg, nil); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	c := Config{BaseURL: "http://x/api", AuthTicket: testTicket}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(s, testTicket) || !strings.Contains(s, "****") {
			t.Errorf("config prints the ticket: %s", s)
		}
	}
}

// TestSchemas compiles the two schemas, checks the examples against them and a few events the route
// must refuse.
func TestSchemas(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "schemas")
	compile := func(name string) *jsonschema.Schema {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("mem:///"+name, doc); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile("mem:///" + name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	load := func(raw []byte) any {
		t.Helper()
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	req := compile("first-start.requested.v1.json")
	out := compile("first-start.form-created.v1.json")
	for name, s := range map[string]*jsonschema.Schema{"first-start.requested.json": req, "first-start.form-created.json": out} {
		raw, err := os.ReadFile(filepath.Join(dir, "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(load(raw)); err != nil {
			t.Errorf("example %s: %v", name, err)
		}
	}
	tests := []struct {
		name string
		data string
		ok   bool
	}{
		{"by ids, unknown field", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroupId":220,"extra":1,
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999"}],"address":{"cityId":"35","districtId":511}}}`, true},
		{"by names", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR","appointment":"",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999","type":"home"}],"address":{"city":"İzmir","district":"Buca"}}}`, true},
		{"no district", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999"}],"address":{"city":"İzmir","district":" "}}}`, false},
		{"no group", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroupId":"",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999"}],"address":{"city":"İzmir","district":"Buca"}}}`, false},
		{"no phones", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[],"address":{"city":"İzmir","district":"Buca"}}}`, false},
		{"bad phone type", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533","type":"fax"}],"address":{"city":"İzmir","district":"Buca"}}}`, false},
		{"the doc's phone type id", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533","type":4}],"address":{"city":"İzmir","district":"Buca"}}}`, true},
		{"phone type in upper case, id as text", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533","type":"MOBILE"},{"number":"0212","type":"4"}],"address":{"city":"İzmir","district":"Buca"}}}`, true},
		{"the doc's request reason and service type", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"requestReason":1,"serviceType":"32",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533"}],"address":{"city":"İzmir","district":"Buca"}}}`, true},
		{"request reason by name", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"requestReason":"İlk Çalıştırma",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533"}],"address":{"city":"İzmir","district":"Buca"}}}`, true},
		{"request reason other name", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR",
			"requestReason":"repair",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"0533"}],"address":{"city":"İzmir","district":"Buca"}}}`, false},
		{"bad appointment", `{"serialNumber":"S","description":"d","gasSafeCertificateNumber":"g","productMainGroup":"KAZANLAR","appointment":"11.2.2025 09:00",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999"}],"address":{"city":"İzmir","district":"Buca"}}}`, false},
		{"no certificate", `{"serialNumber":"S","description":"d","productMainGroup":"KAZANLAR",
			"customer":{"firstName":"a","lastName":"b","phones":[{"number":"05339999999"}],"address":{"city":"İzmir","district":"Buca"}}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := req.Validate(load([]byte(tc.data)))
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if err := out.Validate(load([]byte(`{"requestId":"x","route":"licrus-first-start","target":"licrus","message":"m"}`))); err == nil {
		t.Error("outcome without formNumber and callNumber accepted")
	}
}
