package firststart

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim"
	"github.com/kopru/kopru/internal/sim/licrus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// docBody is the doc's "Create JSON Request Modeli", verbatim except for two things the doc redacts or
// leaves empty: Content "999...." (a redaction; a real number has 7 digits: "9999999") and
// ProductSerialNumber1 "" (the doc's table says the serial number is required; Köprü's event requires it).
const docBody = `{
	"AutoClose": false,
	"Form": {
		"RequestReason": {"Id": 1},
		"ServiceType": {"Id": 32},
		"Description": "İlk çalıştırma,eksik yoktur",
		"AppointmentDateTimeAsString": "11.2.2025 09:00",
		"Customer": {
			"FirstName": "İSİM",
			"LastName": "SOYİSİM",
			"ContactInfos": [{"Prefix": "533", "Content": "9999999", "IsPrimary": true, "ContactInfoType": {"Id": 4}}],
			"Addresses": [{
				"IsPrimary": true,
				"City": {"Id": "35"},
				"District": {"Id": "511"},
				"NeighborhoodName": "Fevzi çakmak",
				"MainStreet": "20 sk",
				"StreetName": "20 sk",
				"Building": "Yok",
				"ApartmentNo": "3",
				"Number": "54",
				"Latitude": null,
				"Longitude": null
			}]
		},
		"ProductMainGroup": {"Id": 220},
		"ProductSerialNumber1": "SN2025021100017",
		"GasSafeCertificateNumber": "."
	},
	"AuthTicket": "DEMODEMODEMODEMO",
	"AppSource": "66292",
	"AppPlatform": 2,
	"AppCulture": "TR",
	"Culture": "TR"
}`

// TestDocExample sends the project's example event (schemas/examples/first-start.requested.json, the
// doc's example written as an event, with the city and district by name) through a real HTTP round
// trip and checks that Licrus receives the doc's body, field for field.
func TestDocExample(t *testing.T) {
	e := newEnv(t, "DEMODEMODEMODEMO")
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "schemas", "examples", "first-start.requested.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.call(t, data)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	forms := e.sim.Forms()
	if len(forms) != 1 {
		t.Fatalf("forms = %d, want 1", len(forms))
	}
	var got, want any
	if err := json.Unmarshal(forms[0].Raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(docBody), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body differs from the doc's:\n got %s\nwant %s", forms[0].Raw, docBody)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, forms[0].Raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden(t, "doc-example.golden.json", pretty.Bytes())

	if res.Fields["formNumber"] != "100001" || res.Fields["callNumber"] != "" {
		t.Errorf("fields = %v", res.Fields)
	}
	if msgs, _ := res.Fields["messages"].([]string); len(msgs) != 1 || res.Fields["message"] != licrus.FormMessage(100001) {
		t.Errorf("messages = %v, message = %v", res.Fields["messages"], res.Fields["message"])
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", path, got, want)
	}
}

func TestMapping(t *testing.T) {
	lat, lon := 38.39, 27.13
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		check func(t *testing.T, f map[string]any)
	}{
		{"appointment in Turkish time without zero padding", func(m map[string]any) { m["appointment"] = "2025-03-05T21:30:00Z" },
			func(t *testing.T, f map[string]any) {
				wantAt(t, f, "6.3.2025 00:30", "Form", "AppointmentDateTimeAsString")
			}},
		{"no appointment is null", func(m map[string]any) { delete(m, "appointment") },
			func(t *testing.T, f map[string]any) { wantAt(t, f, nil, "Form", "AppointmentDateTimeAsString") }},
		{"ids by id skip lookups", func(m map[string]any) {
			a := addr(m)
			delete(a, "city")
			delete(a, "district")
			a["cityId"], a["districtId"] = 34, "451"
			delete(m, "productMainGroup")
			m["productMainGroupId"] = "224"
		}, func(t *testing.T, f map[string]any) {
			wantAt(t, f, "34", "Form", "Customer", "Addresses", 0, "City", "Id")
			wantAt(t, f, "451", "Form", "Customer", "Addresses", 0, "District", "Id")
			wantAt(t, f, 224.0, "Form", "ProductMainGroup", "Id")
		}},
		{"plate code as the city name", func(m map[string]any) { addr(m)["city"] = "34" },
			func(t *testing.T, f map[string]any) {
				wantAt(t, f, "34", "Form", "Customer", "Addresses", 0, "City", "Id")
			}},
		{"coordinates are numbers", func(m map[string]any) { addr(m)["latitude"], addr(m)["longitude"] = lat, lon },
			func(t *testing.T, f map[string]any) {
				wantAt(t, f, lat, "Form", "Customer", "Addresses", 0, "Latitude")
				wantAt(t, f, lon, "Form", "Customer", "Addresses", 0, "Longitude")
			}},
		{"group by code", func(m map[string]any) { m["productMainGroup"] = "ua002" },
			func(t *testing.T, f map[string]any) { wantAt(t, f, 224.0, "Form", "ProductMainGroup", "Id") }},
		{"phones: first marked primary wins, types map to ids", func(m map[string]any) {
			m["customer"].(map[string]any)["phones"] = []any{
				map[string]any{"number": "0212 555 12 34", "type": "work"},
				map[string]any{"number": "+90 533 111 2233", "primary": true},
				map[string]any{"number": "0216 444 55 66", "type": "home", "primary": true},
			}
		}, func(t *testing.T, f map[string]any) {
			want := []any{
				map[string]any{"Prefix": "212", "Content": "5551234", "IsPrimary": false, "ContactInfoType": map[string]any{"Id": 2.0}},
				map[string]any{"Prefix": "533", "Content": "1112233", "IsPrimary": true, "ContactInfoType": map[string]any{"Id": 4.0}},
				map[string]any{"Prefix": "216", "Content": "4445566", "IsPrimary": false, "ContactInfoType": map[string]any{"Id": 3.0}},
			}
			wantAt(t, f, want, "Form", "Customer", "ContactInfos")
		}},
		{"no phone marked primary: the first is", func(m map[string]any) {
			m["customer"].(map[string]any)["phones"] = []any{
				map[string]any{"number": "05321234567"}, map[string]any{"number": "05339876543"}}
		}, func(t *testing.T, f map[string]any) {
			wantAt(t, f, true, "Form", "Customer", "ContactInfos", 0, "IsPrimary")
			wantAt(t, f, false, "Form", "Customer", "ContactInfos", 1, "IsPrimary")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testTicket)
			if _, err := e.call(t, event(tc.edit)); err != nil {
				t.Fatalf("Call: %v", err)
			}
			forms := e.sim.Forms()
			if len(forms) != 1 {
				t.Fatalf("forms = %d", len(forms))
			}
			var body map[string]any
			if err := json.Unmarshal(forms[0].Raw, &body); err != nil {
				t.Fatal(err)
			}
			tc.check(t, body)
		})
	}
}

func wantAt(t *testing.T, v any, want any, path ...any) {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			var ok bool
			if v, ok = m[k]; !ok {
				t.Errorf("%v: no key %q", path, k)
				return
			}
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				t.Errorf("%v: no index %d", path, k)
				return
			}
			v = a[k]
		}
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("%v = %#v, want %#v", path, v, want)
	}
}

func TestInvalidEvents(t *testing.T) {
	tests := []struct {
		name    string
		data    any
		wantMsg string
	}{
		{"not json", []byte(`{`), "event data"},
		{"missing serial", event(func(m map[string]any) { m["serialNumber"] = " " }), "serialNumber"},
		{"missing phones", event(func(m map[string]any) { m["customer"].(map[string]any)["phones"] = []any{} }), "customer.phones"},
		{"missing city", event(func(m map[string]any) { delete(addr(m), "city") }), "city|cityId"},
		{"missing group", event(func(m map[string]any) { delete(m, "productMainGroup") }), "productMainGroup|productMainGroupId"},
		{"missing certificate", event(func(m map[string]any) { delete(m, "gasSafeCertificateNumber") }), "gasSafeCertificateNumber"},
		{"bad appointment", event(func(m map[string]any) { m["appointment"] = "11.2.2025 09:00" }), "RFC 3339"},
		{"bad phone type", event(func(m map[string]any) {
			m["customer"].(map[string]any)["phones"] = []any{map[string]any{"number": "05321234567", "type": "fax"}}
		}), "customer.phones[0].type"},
		{"unusable phone", event(func(m map[string]any) {
			m["customer"].(map[string]any)["phones"] = []any{map[string]any{"number": "0533 999 99"}}
		}), "customer.phones[0].number"},
		{"unknown city", event(func(m map[string]any) { addr(m)["city"] = "Atlantis" }), "unknown city 'Atlantis'"},
		{"unknown city id", event(func(m map[string]any) { delete(addr(m), "city"); addr(m)["cityId"] = "99" }), "unknown city id '99'"},
		{"unknown district", event(func(m map[string]any) { addr(m)["district"] = "Kızılay" }), "unknown district 'Kızılay' in city 34 (İstanbul)"},
		{"unknown group", event(func(m map[string]any) { m["productMainGroup"] = "Buzdolapları" }), "unknown product main group 'Buzdolapları'"},
		{"bad group id", event(func(m map[string]any) { m["productMainGroupId"] = "x1" }), "productMainGroupId \"x1\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testTicket)
			_, err := e.call(t, tc.data)
			if err == nil {
				t.Fatal("Call succeeded")
			}
			if c := classOf(t, err); c != adapter.ClassInvalid {
				t.Errorf("class = %v, want invalid (%v)", c, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if n := len(e.sim.Forms()); n != 0 {
				t.Errorf("%d forms created", n)
			}
		})
	}
}

func TestVendorAnswers(t *testing.T) {
	byID := func(m map[string]any) {
		a := addr(m)
		delete(a, "city")
		delete(a, "district")
		a["cityId"], a["districtId"] = "34", "451"
		delete(m, "productMainGroup")
		m["productMainGroupId"] = 220
	}
	tests := []struct {
		name      string
		ticket    string // the target's; the simulator's is testTicket
		edit      func(m map[string]any)
		script    func(s *licrus.Sim)
		wantClass adapter.Class
		wantMsg   string
		wantForms int
	}{
		{name: "HasError from the vendor", edit: byID,
			script: func(s *licrus.Sim) {
				s.Faults.Push(sim.Fault{VendorError: "Seri numarası sistemde kayıtlı değil."})
			},
			wantClass: adapter.ClassRejected, wantMsg: "Seri numarası sistemde kayıtlı değil."},
		{name: "unknown district id refused by Licrus", edit: func(m map[string]any) { byID(m); addr(m)["districtId"] = "99999" },
			wantClass: adapter.ClassRejected, wantMsg: "İlçe bulunamadı: 99999"},
		{name: "wrong ticket", ticket: testTicket + "-old", edit: byID,
			wantClass: adapter.ClassRejected, wantMsg: "Geçersiz AuthTicket"},
		{name: "503 on create", edit: byID,
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{Status: 503, RetryAfter: time.Second}) },
			wantClass: adapter.ClassRetryable},
		{name: "500 on create is an unknown outcome", edit: byID,
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{Status: 500}) },
			wantClass: adapter.ClassUnknown},
		{name: "reset after the form was made", edit: byID,
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{ResetAfterAct: true}) },
			wantClass: adapter.ClassUnknown, wantForms: 1},
		{name: "district lookup down (503)",
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{Status: 503}) },
			wantClass: adapter.ClassRetryable, wantMsg: "District/GetByCityId"},
		{name: "district lookup 500 is retryable, not unknown",
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{Status: 500}) },
			wantClass: adapter.ClassRetryable, wantMsg: "District/GetByCityId"},
		{name: "group lookup down",
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{}, sim.Fault{Status: 503}) },
			wantClass: adapter.ClassRetryable, wantMsg: "ProductGroup/GetMainGroups"},
		{name: "lookup refused (HasError)",
			script:    func(s *licrus.Sim) { s.Faults.Push(sim.Fault{VendorError: "Yetkiniz yok."}) },
			wantClass: adapter.ClassRejected, wantMsg: "Yetkiniz yok."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testTicket, func(c *Config) {
				if tc.ticket != "" {
					c.AuthTicket = tc.ticket
				}
			})
			if tc.script != nil {
				tc.script(e.sim)
			}
			edit := tc.edit
			if edit == nil {
				edit = func(map[string]any) {}
			}
			_, err := e.call(t, event(edit))
			if err == nil {
				t.Fatal("Call succeeded")
			}
			if c := classOf(t, err); c != tc.wantClass {
				t.Errorf("class = %v, want %v (%v)", c, tc.wantClass, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if tc.wantClass == adapter.ClassRejected && strings.Contains(tc.wantMsg, "Seri") {
				if te := adapter.AsError(err); te.Reason != "vendor_rejected" {
					t.Errorf("reason = %q", te.Reason)
				}
			}
			if n := len(e.sim.Forms()); n != tc.wantForms {
				t.Errorf("forms = %d, want %d", n, tc.wantForms)
			}
			if tc.ticket != "" && strings.Contains(err.Error(), tc.ticket) {
				t.Errorf("error leaks the ticket: %v", err)
			}
		})
	}
}

func TestLookupServerGone(t *testing.T) {
	e := newEnv(t, testTicket)
	e.srv.Close()
	_, err := e.call(t, event())
	if err == nil {
		t.Fatal("Call succeeded")
	}
	if c := classOf(t, err); c != adapter.ClassNotSent {
		t.Errorf("class = %v, want not-sent (%v)", c, err)
	}
	if IsInvalid(err) {
		t.Error("a lookup that is down must not make the event invalid")
	}
}

func TestLookupCache(t *testing.T) {
	e := newEnv(t, testTicket)
	for i := range 3 {
		if _, err := e.call(t, event(func(m map[string]any) { addr(m)["district"] = []string{"Ümraniye", "Kadıköy", "UMRANIYE"}[i] })); err != nil {
			t.Fatalf("Call %d: %v", i, err)
		}
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts); n != 1 {
		t.Errorf("district lookups = %d, want 1", n)
	}
	if n := e.sim.LookupCalls(licrus.LookupMainGroups); n != 1 {
		t.Errorf("group lookups = %d, want 1", n)
	}
	if n := e.sim.LookupCalls(licrus.LookupCities); n != 0 {
		t.Errorf("city lookups = %d, want 0 (built-in provinces)", n)
	}
	// Another city is another list.
	if _, err := e.call(t, event(func(m map[string]any) { addr(m)["city"], addr(m)["district"] = "izmir", "Karşıyaka" })); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts); n != 2 {
		t.Errorf("district lookups = %d, want 2", n)
	}
	// After LookupRefresh the list is fetched again.
	r := e.t.Resolver()
	r.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	if _, err := r.District(context.Background(), "34", "Ümraniye"); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts); n != 3 {
		t.Errorf("district lookups after expiry = %d, want 3", n)
	}
}

func TestLookupSingleFlight(t *testing.T) {
	e := newEnv(t, testTicket)
	e.sim.Faults.Push(sim.Fault{Delay: 150 * time.Millisecond})
	r := e.t.Resolver()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			id, err := r.District(context.Background(), "35", "Karabağlar")
			if err == nil && id != "511" {
				err = adapter.Invalid("id %s", id)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts); n != 1 {
		t.Errorf("district lookups = %d, want 1", n)
	}
}

func TestStaleListServedWhenRefreshFails(t *testing.T) {
	e := newEnv(t, testTicket)
	r := e.t.Resolver()
	ctx := context.Background()
	if _, err := r.MainGroup(ctx, "Kazanlar"); err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	e.sim.Faults.Push(sim.Fault{Status: 503})
	if id, err := r.MainGroup(ctx, "Kazanlar"); err != nil || id != 224 {
		t.Fatalf("MainGroup = %d, %v; want the stale 224", id, err)
	}
	if n := e.sim.LookupCalls(licrus.LookupMainGroups); n != 2 {
		t.Errorf("group lookups = %d, want 2", n)
	}
}

func TestNewNameRefetches(t *testing.T) {
	e := newEnv(t, testTicket)
	r := e.t.Resolver()
	ctx := context.Background()
	if _, err := r.District(ctx, "6", "Çankaya"); err != nil {
		t.Fatal(err)
	}
	e.sim.SetDistricts(6, []licrus.Item{{ID: 601, Text: "ÇANKAYA", IsActive: true}, {ID: 699, Text: "GÖLBAŞI", IsActive: true}})
	if _, err := r.District(ctx, "6", "Gölbaşı"); !IsInvalid(err) {
		t.Fatalf("fresh list: err = %v, want invalid without a refetch", err)
	}
	r.now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	if id, err := r.District(ctx, "6", "Gölbaşı"); err != nil || id != "699" {
		t.Fatalf("District = %q, %v", id, err)
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts); n != 2 {
		t.Errorf("district lookups = %d, want 2", n)
	}
}

func TestLookupFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lookups.json")
	file := `{"districts": {"35": [{"Id": 511, "Text": "KARABAĞLAR"}]},
	          "productMainGroups": [{"Id": "220", "Text": "KOMBİLER", "Code": "UA001", "IsActive": true}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testTicket, func(c *Config) { c.LookupFile = path })
	r := e.t.Resolver()
	r.now = func() time.Time { return time.Now().Add(1000 * time.Hour) } // pinned lists never expire
	ctx := context.Background()
	if id, err := r.District(ctx, "35", "karabağlar"); err != nil || id != "511" {
		t.Errorf("District = %q, %v", id, err)
	}
	if id, err := r.MainGroup(ctx, "kombiler"); err != nil || id != 220 {
		t.Errorf("MainGroup = %d, %v", id, err)
	}
	if _, err := r.District(ctx, "35", "Bornova"); !IsInvalid(err) {
		t.Errorf("a name missing from the file: %v, want invalid", err)
	}
	if n := e.sim.LookupCalls(licrus.LookupDistricts) + e.sim.LookupCalls(licrus.LookupMainGroups); n != 0 {
		t.Errorf("lookups = %d, want 0", n)
	}
	// A list the file lacks is fetched.
	if id, err := r.District(ctx, "34", "Umraniye"); err != nil || id != "451" {
		t.Errorf("District = %q, %v", id, err)
	}

	if _, err := New(Config{BaseURL: "http://x/api", AuthTicket: "t", LookupFile: filepath.Join(t.TempDir(), "none.json")}, nil); err == nil {
		t.Error("New accepted a missing lookup file")
	}
}

func TestSuccessMessages(t *testing.T) {
	tests := []struct {
		name       string
		msgs       []licrus.Message
		form, call string
		message    string
	}{
		{"info and warning", []licrus.Message{
			{Type: licrus.TypeInfo, Message: "İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001"},
			{Type: licrus.TypeWarning, Message: "Randevu tarihi geçmişte."},
		}, "100001", "", "İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001 | Randevu tarihi geçmişte."},
		{"call number too", []licrus.Message{{Type: licrus.TypeInfo, Message: "Form oluşturuldu. Belge No: İÇ-2025/7, Çağrı numarası: 43090"}},
			"İÇ-2025/7", "43090", "Form oluşturuldu. Belge No: İÇ-2025/7, Çağrı numarası: 43090"},
		{"no number is still success", []licrus.Message{{Type: licrus.TypeInfo, Message: "İşlem başarılı."}}, "", "", "İşlem başarılı."},
		{"no message at all", nil, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testTicket)
			e.sim.SetFormMessages(func(int) []licrus.Message { return tc.msgs })
			res, err := e.call(t, event())
			if err != nil {
				t.Fatal(err)
			}
			if res.Fields["formNumber"] != tc.form || res.Fields["callNumber"] != tc.call || res.Fields["message"] != tc.message {
				t.Errorf("fields = %#v", res.Fields)
			}
			if msgs, ok := res.Fields["messages"].([]string); !ok || len(msgs) != len(tc.msgs) {
				t.Errorf("messages = %#v", res.Fields["messages"])
			}
		})
	}
}
