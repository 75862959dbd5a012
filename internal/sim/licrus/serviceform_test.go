package licrus

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/sim"
)

const ticket = "SIM-TICKET"

func post(t *testing.T, srv *httptest.Server, path string, body any) (int, Response) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Response
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, r
}

func app(extra map[string]any) map[string]any {
	m := map[string]any{"AuthTicket": ticket, "AppSource": "66292", "AppPlatform": 2, "AppCulture": "TR", "Culture": "TR"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func validForm() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(`{"AutoClose":false,"Form":{"RequestReason":{"Id":1},"ServiceType":{"Id":32},"Description":"d",
	"AppointmentDateTimeAsString":"11.2.2025 09:00","Customer":{"FirstName":"A","LastName":"B","ContactInfos":[{"Prefix":"533",
	"Content":"9999999","IsPrimary":true,"ContactInfoType":{"Id":4}}],"Addresses":[{"IsPrimary":true,"City":{"Id":"35"},
	"District":{"Id":"511"}}]},"ProductMainGroup":{"Id":220},"ProductSerialNumber1":"S1","GasSafeCertificateNumber":"."},
	"AuthTicket":"SIM-TICKET","AppSource":"66292","AppPlatform":2,"AppCulture":"TR","Culture":"TR"}`), &m)
	return m
}

func TestLookups(t *testing.T) {
	s := New(ticket)
	srv := httptest.NewServer(s)
	defer srv.Close()
	tests := []struct {
		name, path, service string
		body                map[string]any
		want                map[int]string // some ids and texts that must be present
		wantErr             string
	}{
		{"cities", "/api/address/City/GetAll", LookupCities, app(nil), map[int]string{1: "ADANA", 35: "IZMIR", 81: "DUZCE", 82: "BILINMEYEN"}, ""},
		{"districts of İstanbul", "/api/address/District/GetByCityId", LookupDistricts, app(map[string]any{"CityId": 34}), map[int]string{451: "ÜMRANİYE"}, ""},
		{"districts by string id", "/api/address/District/GetByCityId", LookupDistricts, app(map[string]any{"CityId": "35"}), map[int]string{511: "KARABAĞLAR"}, ""},
		{"no CityId", "/api/address/District/GetByCityId", LookupDistricts, app(nil), nil, "CityId"},
		{"groups", "/api/ProductCatalog/ProductGroup/GetMainGroups", LookupMainGroups, app(nil), map[int]string{220: "KOMBİLER", 224: "KAZANLAR"}, ""},
		{"bad ticket", "/api/ProductCatalog/ProductGroup/GetMainGroups", LookupMainGroups, app(map[string]any{"AuthTicket": "x"}), nil, "AuthTicket"},
		{"no AppSource", "/api/address/City/GetAll", LookupCities, app(map[string]any{"AppSource": ""}), nil, "AppSource"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.LookupCalls(tc.service)
			_, r := post(t, srv, tc.path, tc.body)
			if s.LookupCalls(tc.service) != before+1 {
				t.Errorf("counter of %s did not move", tc.service)
			}
			if tc.wantErr != "" {
				if !r.HasError || !strings.Contains(r.MessageList[0].Message, tc.wantErr) {
					t.Errorf("answer = %+v, want error about %s", r, tc.wantErr)
				}
				return
			}
			got := map[int]string{}
			for _, x := range r.Results {
				it := x.(map[string]any)
				got[int(it["Id"].(float64))] = it["Text"].(string)
			}
			for id, text := range tc.want {
				if got[id] != text {
					t.Errorf("Results[%d] = %q, want %q", id, got[id], text)
				}
			}
		})
	}
	s.SetMainGroups([]Item{{ID: 1, Text: "X", IsActive: true}})
	if _, r := post(t, srv, "/api/ProductCatalog/ProductGroup/GetMainGroups", app(nil)); len(r.Results) != 1 {
		t.Errorf("SetMainGroups: %+v", r.Results)
	}
}

func TestServiceFormCreate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		fault   *sim.Fault
		wantErr string
		status  int
	}{
		{name: "valid"},
		{name: "bad ticket", edit: func(m map[string]any) { m["AuthTicket"] = "nope" }, wantErr: "AuthTicket"},
		{name: "wrong reason", edit: func(m map[string]any) { form(m)["RequestReason"] = map[string]any{"Id": 2} }, wantErr: "RequestReason"},
		{name: "no serial", edit: func(m map[string]any) { form(m)["ProductSerialNumber1"] = "" }, wantErr: "SerialNumber"},
		{name: "no certificate", edit: func(m map[string]any) { delete(form(m), "GasSafeCertificateNumber") }, wantErr: "GasSafeCertificateNumber"},
		{name: "wrong platform", edit: func(m map[string]any) { m["AppPlatform"] = 1 }, wantErr: "AppPlatform"},
		{name: "no contacts", edit: func(m map[string]any) { cust(m)["ContactInfos"] = []any{} }, wantErr: "ContactInfos"},
		{name: "bad content", edit: func(m map[string]any) {
			cust(m)["ContactInfos"].([]any)[0].(map[string]any)["Content"] = "999...."
		}, wantErr: "İletişim bilgisi 1"},
		{name: "city id as number", edit: func(m map[string]any) { address(m)["City"] = map[string]any{"Id": 35} }, wantErr: "İl bulunamadı"},
		{name: "unknown district", edit: func(m map[string]any) { address(m)["District"] = map[string]any{"Id": "451"} }, wantErr: "İlçe bulunamadı"},
		{name: "group id as string", edit: func(m map[string]any) { form(m)["ProductMainGroup"] = map[string]any{"Id": "220"} }, wantErr: "Ürün ana grubu"},
		{name: "inactive group", edit: func(m map[string]any) { form(m)["ProductMainGroup"] = map[string]any{"Id": 219} }, wantErr: "Ürün ana grubu"},
		{name: "bad appointment", edit: func(m map[string]any) { form(m)["AppointmentDateTimeAsString"] = "2025-02-11 09:00" }, wantErr: "Randevu"},
		{name: "null appointment", edit: func(m map[string]any) { form(m)["AppointmentDateTimeAsString"] = nil }},
		{name: "503", fault: &sim.Fault{Status: 503}, status: 503},
		{name: "vendor error", fault: &sim.Fault{VendorError: "Sistem hatası."}, wantErr: "Sistem hatası."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(ticket)
			srv := httptest.NewServer(s)
			defer srv.Close()
			if tc.fault != nil {
				s.Faults.Push(*tc.fault)
			}
			m := validForm()
			if tc.edit != nil {
				tc.edit(m)
			}
			st, r := post(t, srv, "/api/OperationForms/ServiceForm/Create", m)
			if tc.status != 0 {
				if st != tc.status || len(s.Forms()) != 0 {
					t.Errorf("status %d, forms %d", st, len(s.Forms()))
				}
				return
			}
			if tc.wantErr != "" {
				if !r.HasError || len(r.MessageList) == 0 || !strings.Contains(r.MessageList[0].Message, tc.wantErr) {
					t.Errorf("answer = %+v, want error about %s", r, tc.wantErr)
				}
				if len(s.Forms()) != 0 {
					t.Error("form recorded")
				}
				return
			}
			if r.HasError || len(r.MessageList) != 1 || r.MessageList[0].Message != FormMessage(100001) || r.MessageList[0].Type != TypeInfo {
				t.Errorf("answer = %+v", r)
			}
			forms := s.Forms()
			if len(forms) != 1 || forms[0].Number != 100001 || forms[0].Body["AuthTicket"] != nil {
				t.Errorf("forms = %+v", forms)
			}
		})
	}
}

func form(m map[string]any) map[string]any { return m["Form"].(map[string]any) }
func cust(m map[string]any) map[string]any { return form(m)["Customer"].(map[string]any) }
func address(m map[string]any) map[string]any {
	return cust(m)["Addresses"].([]any)[0].(map[string]any)
}
