package leansoft

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kopru/kopru/internal/adapter"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// docIdentityNumber is the doc example's CustomerUserIdentityCardNumber. It fails the TCKN checksum
// (its 10th digit should be 3); under the default policy (users' identity numbers: warn) the event is
// sent as the doc prints it, with one masked warning. The doc's CustomerTaxNo is the placeholder
// 11111111111, accepted as it is with the e-archive e-mail the doc example sends.
const docIdentityNumber = "12346578901"

// enforceAll turns every Köprü-added check to enforce.
var enforceAll = Config{Checksums: Checksums{TaxNumber: PolicyEnforce, UserIdentityNumber: PolicyEnforce}}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalBody(t testing.TB, b Body) []byte {
	t.Helper()
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestMapDocExampleGolden(t *testing.T) {
	body, err := Map(readFile(t, "doc-example.event.json"), Config{})
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	got := marshalBody(t, body)
	golden := filepath.Join("testdata", "doc-example.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readFile(t, "doc-example.golden")
	if !bytes.Equal(got, want) {
		t.Errorf("Map output differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}
}

// TestMapDocExampleMatchesDoc compares the golden body with the doc's example request, verbatim in
// testdata/doc-example.request.json, field for field and wire type for wire type ("0" is not 0), and
// the marshalled body with the doc's request compacted, byte for byte (order of fields included).
func TestMapDocExampleMatchesDoc(t *testing.T) {
	var doc, golden map[string]any
	if err := json.Unmarshal(readFile(t, "doc-example.request.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFile(t, "doc-example.golden"), &golden); err != nil {
		t.Fatal(err)
	}
	for _, d := range diff("", doc, golden) {
		t.Error(d)
	}
	body, err := Map(readFile(t, "doc-example.event.json"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if want := compactDoc(t); !bytes.Equal(got, want) {
		t.Errorf("body is not the doc's, byte for byte:\n got %s\nwant %s", got, want)
	}
}

// compactDoc is the doc's example request with its insignificant white space removed.
func compactDoc(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, readFile(t, "doc-example.request.json")); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// diff lists the paths where a and b differ, including JSON type differences.
func diff(path string, a, b any) []string {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return []string{fmt.Sprintf("%s: doc has %T %v, body has %T %v", path, a, a, b, b)}
	}
	switch av := a.(type) {
	case map[string]any:
		bv := b.(map[string]any)
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			out = append(out, diff(path+"."+k, av[k], bv[k])...)
		}
		return out
	case []any:
		bv := b.([]any)
		if len(av) != len(bv) {
			return []string{fmt.Sprintf("%s: doc has %d elements, body %d", path, len(av), len(bv))}
		}
		var out []string
		for i := range av {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])...)
		}
		return out
	}
	if a != b {
		return []string{fmt.Sprintf("%s: doc has %v, body has %v", path, a, b)}
	}
	return nil
}

// TestMapChecksumPolicies: the doc's own identity number, and a tax number with a wrong check digit,
// under each policy. enforce refuses (masked), warn sends with a masked warning, off sends silently.
// The defaults send the doc's example and refuse the tax number.
func TestMapChecksumPolicies(t *testing.T) {
	docEvent := readFile(t, "doc-example.event.json")
	badTax := valid()
	badTax["taxNumber"] = "4540536921"
	tests := []struct {
		name      string
		data      []byte
		sums      Checksums
		wantErr   bool
		wantWarns int
		field     string
		rule      Rule
	}{
		{"doc identity number, default", docEvent, Checksums{}, false, 1, "users[0].identityNumber", RuleChecksum},
		{"doc identity number, warn", docEvent, Checksums{UserIdentityNumber: PolicyWarn}, false, 1, "users[0].identityNumber", RuleChecksum},
		{"doc identity number, enforce", docEvent, Checksums{UserIdentityNumber: "Enforce"}, true, 0, "users[0].identityNumber", RuleChecksum},
		{"doc identity number, off", docEvent, Checksums{UserIdentityNumber: PolicyOff}, false, 0, "", ""},
		{"bad VKN, default", encode(t, badTax), Checksums{}, true, 0, "taxNumber", RuleChecksum},
		{"bad VKN, warn", encode(t, badTax), Checksums{TaxNumber: PolicyWarn}, false, 1, "taxNumber", RuleChecksum},
		{"bad VKN, off", encode(t, badTax), Checksums{TaxNumber: PolicyOff}, false, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, warns, err := MapWarn(tt.data, Config{Checksums: tt.sums})
			var v *Violation
			switch {
			case tt.wantErr:
				v = onlyViolation(t, err)
			case err != nil:
				t.Fatalf("MapWarn: %v", err)
			case len(warns) != tt.wantWarns:
				t.Fatalf("warnings %v, want %d", warns, tt.wantWarns)
			case body.Customer.CustomerName == "":
				t.Fatal("no body")
			case tt.wantWarns > 0:
				v = warns[0]
			}
			if v == nil {
				return
			}
			if v.Field != tt.field || v.Rule != tt.rule {
				t.Errorf("got %s/%s, want %s/%s", v.Field, v.Rule, tt.field, tt.rule)
			}
			for _, n := range []string{docIdentityNumber, "4540536921"} {
				if strings.Contains(v.Error(), n) {
					t.Errorf("%q shows the number", v.Error())
				}
			}
		})
	}
}

// TestMapDocCodes: the coded fields take the doc's codes as well as the English names, case ignored,
// and the body carries the doc's codes.
func TestMapDocCodes(t *testing.T) {
	tests := []struct {
		field string
		in    any
		check func(c Customer) bool
	}{
		{"recordType", 3, func(c Customer) bool { return c.CustomerRecordType == 3 }},
		{"recordType", "3", func(c Customer) bool { return c.CustomerRecordType == 3 }},
		{"recordType", "A+S", func(c Customer) bool { return c.CustomerRecordType == 3 }},
		{"recordType", "Alıcı+Satıcı", func(c Customer) bool { return c.CustomerRecordType == 3 }},
		{"recordType", "BOTH", func(c Customer) bool { return c.CustomerRecordType == 3 }},
		{"recordType", "1", func(c Customer) bool { return c.CustomerRecordType == 1 }},
		{"recordType", "a", func(c Customer) bool { return c.CustomerRecordType == 1 }},
		{"recordType", "ALICI", func(c Customer) bool { return c.CustomerRecordType == 1 }},
		{"recordType", "AL", func(c Customer) bool { return c.CustomerRecordType == 1 }},
		{"recordType", 2, func(c Customer) bool { return c.CustomerRecordType == 2 }},
		{"recordType", "S", func(c Customer) bool { return c.CustomerRecordType == 2 }},
		{"recordType", "sat", func(c Customer) bool { return c.CustomerRecordType == 2 }},
		{"recordType", "Seller", func(c Customer) bool { return c.CustomerRecordType == 2 }},
		{"organizationType", "0", func(c Customer) bool { return c.CustomerOrganizationType == "0" }},
		{"organizationType", 0, func(c Customer) bool { return c.CustomerOrganizationType == "0" }},
		{"organizationType", "Undefined", func(c Customer) bool { return c.CustomerOrganizationType == "0" }},
		{"organizationType", "Tanımsız", func(c Customer) bool { return c.CustomerOrganizationType == "0" }},
		{"organizationType", "2", func(c Customer) bool { return c.CustomerOrganizationType == "2" }},
		{"organizationType", "JOINT-STOCK", func(c Customer) bool { return c.CustomerOrganizationType == "2" }},
		{"organizationType", "AnonimŞirket", func(c Customer) bool { return c.CustomerOrganizationType == "2" }},
		{"currency", "TRY", func(c Customer) bool { return c.CustomerCurrencyCode == "TRY" }},
		{"currency", "try", func(c Customer) bool { return c.CustomerCurrencyCode == "TRY" }},
		{"currency", "Turkish lira", func(c Customer) bool { return c.CustomerCurrencyCode == "TRY" }},
		{"currency", "US dollar", func(c Customer) bool { return c.CustomerCurrencyCode == "USD" }},
		{"currency", "Euro", func(c Customer) bool { return c.CustomerCurrencyCode == "EUR" }},
		{"currency", "gbp", func(c Customer) bool { return c.CustomerCurrencyCode == "GBP" }},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.field, tt.in), func(t *testing.T) {
			m := valid()
			m[tt.field] = tt.in
			body, err := Map(encode(t, m), Config{})
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if !tt.check(body.Customer) {
				t.Errorf("body %+v", body.Customer)
			}
		})
	}
}

// valid returns a minimal valid event as a map, to be changed per test case.
func valid() map[string]any {
	return map[string]any{
		"customerId": "C-1",
		"name":       "Örnek Ticaret A.Ş.",
		"recordType": "buyer",
		"currency":   "TRY",
		"taxNumber":  "4540536920",
		"address": map[string]any{
			"country": "Türkiye", "city": "Kayseri", "district": "Melikgazi", "neighborhood": "Alpaslan",
		},
		"referenceGroupCode": "PYTY",
		"users": []any{map[string]any{
			"firstName": "Ayşe", "lastName": "Yıldız", "identityNumber": "10000000146",
		}},
	}
}

func encode(t testing.TB, m map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func address(m map[string]any) map[string]any { return m["address"].(map[string]any) }
func user0(m map[string]any) map[string]any   { return m["users"].([]any)[0].(map[string]any) }

// onlyViolation asserts err is a ClassInvalid *adapter.Error holding exactly one Violation.
func onlyViolation(t testing.TB, err error) *Violation {
	t.Helper()
	if err == nil {
		t.Fatal("Map accepted the event")
	}
	var te *adapter.Error
	if !errors.As(err, &te) || te.Class != adapter.ClassInvalid {
		t.Fatalf("error %v is not a ClassInvalid *adapter.Error", err)
	}
	if strings.Contains(te.Msg, "\n") {
		t.Errorf("message is not one line: %q", te.Msg)
	}
	var vs Violations
	if !errors.As(err, &vs) || len(vs) != 1 {
		t.Fatalf("want exactly one violation, got %v", err)
	}
	return vs[0]
}

func TestMapRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("ş", n) }
	tests := []struct {
		name   string
		change func(m map[string]any)
		field  string
		rule   Rule
	}{
		// From the vendor doc.
		{"customerId required", func(m map[string]any) { delete(m, "customerId") }, "customerId", RuleRequired},
		{"name required", func(m map[string]any) { m["name"] = "   " }, "name", RuleRequired},
		{"name at most 250", func(m map[string]any) { m["name"] = long(251) }, "name", RuleMaxLength},
		{"recordType required", func(m map[string]any) { m["recordType"] = "" }, "recordType", RuleRequired},
		{"recordType allowed values", func(m map[string]any) { m["recordType"] = "customer" }, "recordType", RuleAllowedValues},
		{"organizationType allowed names", func(m map[string]any) { m["organizationType"] = "holding" }, "organizationType", RuleAllowedValues},
		{"organizationType allowed codes", func(m map[string]any) { m["organizationType"] = 9 }, "organizationType", RuleAllowedValues},
		{"organizationType integer", func(m map[string]any) { m["organizationType"] = 1.5 }, "organizationType", RuleType},
		{"referenceGroupCode required without default", func(m map[string]any) { delete(m, "referenceGroupCode") }, "referenceGroupCode", RuleRequired},
		{"currency required", func(m map[string]any) { delete(m, "currency") }, "currency", RuleRequired},
		{"country required", func(m map[string]any) { address(m)["country"] = "" }, "address.country", RuleRequired},
		{"city required", func(m map[string]any) { delete(address(m), "city") }, "address.city", RuleRequired},
		{"district required", func(m map[string]any) { delete(address(m), "district") }, "address.district", RuleRequired},
		{"neighborhood required", func(m map[string]any) { delete(address(m), "neighborhood") }, "address.neighborhood", RuleRequired},
		{"email at most 250", func(m map[string]any) { m["email"] = long(246) + "@x.tr" }, "email", RuleMaxLength},
		{"taxNumber required", func(m map[string]any) { delete(m, "taxNumber") }, "taxNumber", RuleRequired},
		{"taxNumber at most 11", func(m map[string]any) { m["taxNumber"] = "123456789012" }, "taxNumber", RuleMaxLength},
		{"taxNumber no space", func(m map[string]any) { m["taxNumber"] = "45405 36920" }, "taxNumber", RuleForbiddenChar},
		{"placeholder needs eArchiveEmail", func(m map[string]any) { m["taxNumber"] = PlaceholderTaxNumber }, "eArchiveEmail", RuleEArchiveEmail},
		{"eArchiveEmail at most 250", func(m map[string]any) { m["eArchiveEmail"] = long(246) + "@x.tr" }, "eArchiveEmail", RuleMaxLength},
		{"userText1 at most 250", func(m map[string]any) { m["userText1"] = long(251) }, "userText1", RuleMaxLength},
		{"userText2 at most 250", func(m map[string]any) { m["userText2"] = long(251) }, "userText2", RuleMaxLength},
		{"userText3 at most 250", func(m map[string]any) { m["userText3"] = long(251) }, "userText3", RuleMaxLength},
		{"user firstName required", func(m map[string]any) { delete(user0(m), "firstName") }, "users[0].firstName", RuleRequired},
		{"user firstName at most 250", func(m map[string]any) { user0(m)["firstName"] = long(251) }, "users[0].firstName", RuleMaxLength},
		{"user lastName required", func(m map[string]any) { user0(m)["lastName"] = "" }, "users[0].lastName", RuleRequired},
		{"user lastName at most 250", func(m map[string]any) { user0(m)["lastName"] = long(251) }, "users[0].lastName", RuleMaxLength},
		{"user position at most 250", func(m map[string]any) { user0(m)["position"] = long(251) }, "users[0].position", RuleMaxLength},
		{"user identityNumber required", func(m map[string]any) { delete(user0(m), "identityNumber") }, "users[0].identityNumber", RuleRequired},
		{"user identityNumber at most 11", func(m map[string]any) { user0(m)["identityNumber"] = "100000001460" }, "users[0].identityNumber", RuleMaxLength},
		{"user identityNumber no forbidden char", func(m map[string]any) { user0(m)["identityNumber"] = "1000000014*" }, "users[0].identityNumber", RuleForbiddenChar},
		{"user identityNumber no space", func(m map[string]any) { user0(m)["identityNumber"] = "1000000014 6" }, "users[0].identityNumber", RuleForbiddenChar},
		// Added by Köprü.
		{"taxNumber digits only", func(m map[string]any) { m["taxNumber"] = "45405X6920" }, "taxNumber", RuleDigits},
		{"taxNumber 10 or 11 digits", func(m map[string]any) { m["taxNumber"] = "454053692" }, "taxNumber", RuleDigits},
		{"taxNumber VKN checksum", func(m map[string]any) { m["taxNumber"] = "4540536921" }, "taxNumber", RuleChecksum},
		{"taxNumber TCKN checksum", func(m map[string]any) { m["taxNumber"] = "10000000147" }, "taxNumber", RuleChecksum},
		{"user identityNumber 11 digits", func(m map[string]any) { user0(m)["identityNumber"] = "4540536920" }, "users[0].identityNumber", RuleDigits},
		{"user identityNumber TCKN checksum", func(m map[string]any) { user0(m)["identityNumber"] = "10000000147" }, "users[0].identityNumber", RuleChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.change(m)
			_, err := Map(encode(t, m), enforceAll)
			v := onlyViolation(t, err)
			if v.Field != tt.field || v.Rule != tt.rule {
				t.Errorf("violation = %s/%s (%v), want %s/%s", v.Field, v.Rule, err, tt.field, tt.rule)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), v.Vendor) {
				t.Errorf("message does not name %s and %s: %v", tt.field, v.Vendor, err)
			}
		})
	}
}

func TestMapForbiddenCharacters(t *testing.T) {
	for _, c := range []string{"?", "/", "&", "%", "+", "^", "'", "*", "_", `"`, " ", "\t"} {
		t.Run(fmt.Sprintf("%q", c), func(t *testing.T) {
			m := valid()
			m["taxNumber"] = "45405" + c + "6920"
			_, err := Map(encode(t, m), Config{})
			if v := onlyViolation(t, err); v.Field != "taxNumber" || v.Rule != RuleForbiddenChar {
				t.Errorf("violation = %+v", v)
			}
		})
	}
}

func TestMapAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		cfg    Config
		check  func(t *testing.T, c Customer)
	}{
		{"name of exactly 250 Turkish characters", func(m map[string]any) { m["name"] = strings.Repeat("Ş", 250) }, Config{},
			func(t *testing.T, c Customer) {
				if c.CustomerName != strings.Repeat("Ş", 250) {
					t.Error("name changed")
				}
			}},
		{"placeholder tax number with eArchiveEmail", func(m map[string]any) {
			m["taxNumber"] = PlaceholderTaxNumber
			m["eArchiveEmail"] = "e@x.tr"
		}, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerTaxNo != PlaceholderTaxNumber || c.CustomerElectronicArchiveBillEmail != "e@x.tr" {
				t.Errorf("got %q / %q", c.CustomerTaxNo, c.CustomerElectronicArchiveBillEmail)
			}
		}},
		{"TCKN as tax number", func(m map[string]any) { m["taxNumber"] = "17291716060" }, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerTaxNo != "17291716060" {
				t.Errorf("tax no %q", c.CustomerTaxNo)
			}
		}},
		{"reference group from config", func(m map[string]any) { delete(m, "referenceGroupCode") }, Config{DefaultReferenceGroupCode: "DFLT"},
			func(t *testing.T, c Customer) {
				if c.CustomerReferenceGroupCode != "DFLT" {
					t.Errorf("reference group %q", c.CustomerReferenceGroupCode)
				}
			}},
		{"reference group from the event wins", nil, Config{DefaultReferenceGroupCode: "DFLT"}, func(t *testing.T, c Customer) {
			if c.CustomerReferenceGroupCode != "PYTY" {
				t.Errorf("reference group %q", c.CustomerReferenceGroupCode)
			}
		}},
		{"no users", func(m map[string]any) { delete(m, "users") }, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerUsers != nil {
				t.Errorf("users %v", c.CustomerUsers)
			}
		}},
		{"phones: first two non-empty", func(m map[string]any) { m["phones"] = []any{" ", "0352 111", "", "0532 222", "0212 333"} }, Config{},
			func(t *testing.T, c Customer) {
				if c.CustomerPhone1 != "0352 111" || c.CustomerPhone2 != "0532 222" {
					t.Errorf("phones %q %q", c.CustomerPhone1, c.CustomerPhone2)
				}
			}},
		{"currency upper-cased", func(m map[string]any) { m["currency"] = " eur " }, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerCurrencyCode != "EUR" {
				t.Errorf("currency %q", c.CustomerCurrencyCode)
			}
		}},
		{"decomposed (NFD) text sent composed (NFC)", func(m map[string]any) { address(m)["district"] = norm.NFD.String("Şişli") }, Config{},
			func(t *testing.T, c Customer) {
				if c.CustomerDistrictName != "Şişli" {
					t.Errorf("district %+q", c.CustomerDistrictName)
				}
			}},
		{"customerId becomes the integration code", nil, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerIntegrationCompanyCode != "C-1" {
				t.Errorf("integration code %q", c.CustomerIntegrationCompanyCode)
			}
		}},
		{"explicit zero numeric is sent", func(m map[string]any) { m["userNumeric2"] = 0 }, Config{}, func(t *testing.T, c Customer) {
			if c.CustomerUserNumeric2 == nil || *c.CustomerUserNumeric2 != 0 || c.CustomerUserNumeric1 != nil {
				t.Errorf("numerics %v %v", c.CustomerUserNumeric1, c.CustomerUserNumeric2)
			}
		}},
		{"unknown fields ignored", func(m map[string]any) { m["loyaltyTier"] = "gold" }, Config{}, func(t *testing.T, c Customer) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			if tt.change != nil {
				tt.change(m)
			}
			body, err := Map(encode(t, m), tt.cfg)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			tt.check(t, body.Customer)
		})
	}
}

func TestMapRecordAndOrganizationTypes(t *testing.T) {
	records := map[string]int{"buyer": 1, "seller": 2, "both": 3, "Both": 3}
	for in, want := range records {
		t.Run("recordType "+in, func(t *testing.T) {
			m := valid()
			m["recordType"] = in
			body, err := Map(encode(t, m), Config{})
			if err != nil || body.Customer.CustomerRecordType != want {
				t.Errorf("got %d, %v; want %d", body.Customer.CustomerRecordType, err, want)
			}
		})
	}
	orgs := []struct {
		in   any
		want string
	}{
		{"undefined", "0"}, {"Tanımsız", "0"}, {"0", "0"}, {0, "0"},
		{"limited", "1"}, {"LimitedŞirket", "1"}, {"Limited Şirketi", "1"}, {1, "1"},
		{"joint-stock", "2"}, {"AnonimŞirket", "2"}, {"ANONİM ŞİRKET", "2"}, {"2", "2"},
		{"limited-partnership", "3"}, {"KomanditŞirket", "3"},
		{"general-partnership", "4"}, {"KolektifŞirket", "4"},
		{"liaison-office", "5"}, {"İrtibatBürosu", "5"}, {"irtibat bürosu", "5"},
		{"sole-proprietorship", "6"}, {"ŞahısŞirketi", "6"}, {"ŞAHIS ŞİRKETİ", "6"}, {"sole_proprietorship", "6"},
		{"branch", "7"}, {"Şube", "7"},
		{"public", "8"}, {"Kamu", "8"}, {8, "8"},
		{"", ""}, {nil, ""},
	}
	for _, tt := range orgs {
		t.Run(fmt.Sprintf("organizationType %v", tt.in), func(t *testing.T) {
			m := valid()
			m["organizationType"] = tt.in
			body, err := Map(encode(t, m), Config{})
			if err != nil || body.Customer.CustomerOrganizationType != tt.want {
				t.Errorf("got %q, %v; want %q", body.Customer.CustomerOrganizationType, err, tt.want)
			}
		})
	}
}

// TestMapOmitsEmptyOptionalFields checks the wire: an event with only the required fields sends only
// the required fields (and the integration code).
func TestMapOmitsEmptyOptionalFields(t *testing.T) {
	m := valid()
	delete(m, "users")
	m["email"] = ""
	m["phones"] = []any{}
	body, err := Map(encode(t, m), Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wire struct{ Customer map[string]any }
	if err := json.Unmarshal(marshalBody(t, body), &wire); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range wire.Customer {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"CustomerCityName", "CustomerCountryName", "CustomerCurrencyCode", "CustomerDistrictName",
		"CustomerIntegrationCompanyCode", "CustomerName", "CustomerNeighborhood", "CustomerRecordType",
		"CustomerReferenceGroupCode", "CustomerTaxNo"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

func TestMapRefusesMalformedData(t *testing.T) {
	tests := map[string]string{
		"not JSON":      `{"name":`,
		"not an object": `["a"]`,
		"empty":         ``,
		"null":          `null`,
		"name a number": `{"name": 5}`,
		"phones object": `{"phones": {"a": "1"}}`,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Map(json.RawMessage(data), Config{})
			var te *adapter.Error
			if !errors.As(err, &te) || te.Class != adapter.ClassInvalid {
				t.Fatalf("got %v, want ClassInvalid", err)
			}
		})
	}
}

// TestMapMessagesHidePersonalData: numbers that fail a rule never appear whole in the message; phones
// never appear at all.
func TestMapMessagesHidePersonalData(t *testing.T) {
	m := valid()
	m["taxNumber"] = "10000000147"
	m["phones"] = []any{"05325556677"}
	user0(m)["identityNumber"] = "17291716061"
	user0(m)["cellPhone"] = "05329998877"
	delete(m, "name") // something else broken too
	_, err := Map(encode(t, m), enforceAll)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, secret := range []string{"10000000147", "17291716061", "05325556677", "05329998877"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("message shows %s: %v", secret, err)
		}
	}
	for _, want := range []string{"*********47 fails the TCKN checksum", "*********61 fails the TCKN checksum", "name (CustomerName) is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	var vs Violations
	if !errors.As(err, &vs) || len(vs) != 3 {
		t.Errorf("want 3 violations, got %v", err)
	}
}
