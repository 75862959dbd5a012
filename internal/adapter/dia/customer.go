package dia

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kopru/kopru/internal/adapter"
)

// Service names of the customer route.
const (
	ServiceCariKartEkle    = "scf_carikart_ekle"
	ServiceCariKartListele = "scf_carikart_listele"
)

// MaxCariKartKodu is the length limit of carikartkodu (NOTES.md §4).
const MaxCariKartKodu = 30

// CustomerMapping turns customer.created data into a scf_carikart_ekle kart. Its zero value uses the
// defaults below. It is a pure value: safe to share.
//
// Field names, by source (see MAPPING.md):
//   - from the vendor doc: carikartkodu (required), carikarttipi (combo; default 'AL (Alıcı)'),
//     _key_sis_vergidairesi with a filter object on "kod" (the doc's own example);
//   - from NOTES.md (DİA's public docs): carikartkodu is unique and at most 30 characters;
//   - assumptions (not in the doc; seen in public third-party DİA integrations): unvan, verginumarasi,
//     tckimlikno, eposta, the sub-model m_adresler and its fields adresadi, adres1, adres2, ilce, sehir,
//     ulke, postakodu, telefon1, telefon2, ceptel; the combo codes SAT and AS.
//
// Not mapped, because the DİA field is unknown: organizationType, currency, eArchiveEmail,
// referenceGroupCode, users.
type CustomerMapping struct {
	// TaxOfficeField is the sis_vergidairesi field the tax office is matched on: "kod" (default, as in
	// the doc's example {"kod": "ÇANKAYA VERGİ DAİRESİ"}) or e.g. "adi".
	TaxOfficeField string
	// CariKartTipi maps recordType to the carikarttipi combo code. nil: buyer→AL, seller→SAT, both→AS.
	// Only AL is confirmed by the doc (as the default); SAT and AS are assumptions (one public
	// integration uses SA for seller), so this is overridable.
	CariKartTipi map[string]string
	// AddressName is the adresadi of the one address sent; "" means "MERKEZ".
	AddressName string
}

// DefaultCariKartTipi is the recordType → carikarttipi map used when CustomerMapping.CariKartTipi is nil.
// Its keys are the English names; recordType may also arrive as DİA's own codes (AL, SAT, AS) or Lean
// Soft's (1, 2, 3, A, S, A+S), case ignored: adapter.RecordType reads them all, and the kart carries
// the DİA code.
var DefaultCariKartTipi = map[string]string{"buyer": "AL", "seller": "SAT", "both": "AS"}

// customer is the part of customer.created v1 data this adapter reads. Unknown fields are ignored.
type customer struct {
	CustomerID flexString        `json:"customerId"`
	Name       string            `json:"name"`
	RecordType json.RawMessage   `json:"recordType"`
	TaxNumber  flexString        `json:"taxNumber"`
	TaxOffice  string            `json:"taxOffice"`
	Email      string            `json:"email"`
	Phones     []json.RawMessage `json:"phones"`
	Address    customerAddress   `json:"address"`
}

type customerAddress struct {
	Country         string     `json:"country"`
	City            string     `json:"city"`
	District        string     `json:"district"`
	Neighborhood    string     `json:"neighborhood"`
	Street1         string     `json:"street1"`
	Street2         string     `json:"street2"`
	BuildingName    string     `json:"buildingName"`
	BuildingNumber  flexString `json:"buildingNumber"`
	ApartmentNumber flexString `json:"apartmentNumber"`
	PostalCode      flexString `json:"postalCode"`
}

// phone is one entry of phones[]: a plain string, or {number, type: mobile|work|home, primary}.
type phone struct {
	Number string
	Type   string
}

// flexString reads a JSON string or number (ids and postal codes arrive both ways).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

func (f flexString) trim() string { return strings.TrimSpace(string(f)) }

var digits = regexp.MustCompile(`^[0-9]+$`)

// CustomerCode returns the carikartkodu of customer.created data: the upstream customerId, trimmed.
// It fails (ClassInvalid) when the id is empty or longer than MaxCariKartKodu characters.
func CustomerCode(data json.RawMessage) (string, error) {
	c, err := decodeCustomer(data)
	if err != nil {
		return "", err
	}
	return cariKartKodu(c.CustomerID.trim())
}

func cariKartKodu(code string) (string, error) {
	switch n := utf8.RuneCountInString(code); {
	case n == 0:
		return "", adapter.Invalid("customerId is empty: it becomes the DİA carikartkodu, which is required")
	case n > MaxCariKartKodu:
		return "", adapter.Invalid("customerId %q has %d characters; DİA carikartkodu allows at most %d", code, n, MaxCariKartKodu)
	}
	return code, nil
}

func decodeCustomer(data json.RawMessage) (customer, error) {
	var c customer
	if err := json.Unmarshal(data, &c); err != nil {
		return c, adapter.Invalid("customer.created data is not readable: %v", err)
	}
	return c, nil
}

// Kart maps customer.created data to the kart of scf_carikart_ekle. It fails with a ClassInvalid
// *adapter.Error when the data breaks a DİA rule: customerId empty or over 30 characters, name empty,
// recordType unknown, taxNumber not 10 (VKN → verginumarasi) or 11 (TCKN → tckimlikno) digits.
func (m CustomerMapping) Kart(data json.RawMessage) (map[string]any, error) {
	c, err := decodeCustomer(data)
	if err != nil {
		return nil, err
	}
	code, err := cariKartKodu(c.CustomerID.trim())
	if err != nil {
		return nil, err
	}
	kart := map[string]any{"carikartkodu": code}

	name := strings.TrimSpace(c.Name)
	if name == "" {
		return nil, adapter.Invalid("customer %q has no name (DİA unvan)", code)
	}
	kart["unvan"] = name

	types := m.CariKartTipi
	if types == nil {
		types = DefaultCariKartTipi
	}
	if rt, present, ok := adapter.RecordType(c.RecordType); present {
		tip, known := types[rt]
		if !ok || !known {
			return nil, adapter.Invalid("customer %q: recordType %q is not buyer, seller or both (or DİA's AL, SAT, AS; Lean Soft's 1, 2, 3)",
				code, adapter.RecordTypeRaw(c.RecordType))
		}
		kart["carikarttipi"] = tip
	}

	switch tax := c.TaxNumber.trim(); {
	case tax == "":
		// required by the event schema; DİA itself does not demand it, so an empty one is just left out
	case !digits.MatchString(tax):
		return nil, adapter.Invalid("customer %q: taxNumber must be digits only (10 for VKN, 11 for TCKN)", code)
	case len(tax) == 10:
		kart["verginumarasi"] = tax
	case len(tax) == 11:
		kart["tckimlikno"] = tax
	default:
		return nil, adapter.Invalid("customer %q: taxNumber has %d digits; want 10 (VKN) or 11 (TCKN)", code, len(tax))
	}

	if to := strings.TrimSpace(c.TaxOffice); to != "" {
		field := m.TaxOfficeField
		if field == "" {
			field = "kod"
		}
		kart["_key_sis_vergidairesi"] = map[string]any{field: to}
	}

	if e := strings.TrimSpace(c.Email); e != "" {
		kart["eposta"] = e
	}

	phones, err := decodePhones(c.Phones)
	if err != nil {
		return nil, adapter.Invalid("customer %q: %v", code, err)
	}
	if adr := m.address(c.Address, phones); len(adr) > 0 {
		kart["m_adresler"] = []any{adr}
	}
	return kart, nil
}

// address builds the one m_adresler entry: the postal address and the phones (DİA keeps phones on the
// address). Nothing is sent when there is nothing to say.
func (m CustomerMapping) address(a customerAddress, phones []phone) map[string]any {
	adr := map[string]any{}
	put := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			adr[k] = v
		}
	}
	put("adres1", join(a.Neighborhood, a.Street1))
	line2 := []string{a.Street2, a.BuildingName}
	if n := a.BuildingNumber.trim(); n != "" {
		line2 = append(line2, "No:"+n)
	}
	if n := a.ApartmentNumber.trim(); n != "" {
		line2 = append(line2, "D:"+n)
	}
	put("adres2", join(line2...))
	put("ilce", a.District)
	put("sehir", a.City)
	put("ulke", a.Country)
	put("postakodu", a.PostalCode.trim())

	var fixed []string
	for _, p := range phones {
		if p.Type == "mobile" {
			if _, ok := adr["ceptel"]; !ok {
				adr["ceptel"] = p.Number
				continue
			}
		}
		fixed = append(fixed, p.Number)
	}
	for i, n := range fixed {
		if i >= 2 {
			break // DİA has two landline slots; the rest is dropped
		}
		adr[fmt.Sprintf("telefon%d", i+1)] = n
	}
	if len(adr) == 0 {
		return nil
	}
	name := m.AddressName
	if name == "" {
		name = "MERKEZ"
	}
	adr["adresadi"] = name
	return adr
}

// decodePhones reads phones[]: strings, or objects {number, type, primary}. A primary phone comes first.
func decodePhones(raw []json.RawMessage) ([]phone, error) {
	var out []phone
	primary := -1
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, phone{Number: s})
			}
			continue
		}
		var o struct {
			Number  flexString `json:"number"`
			Type    string     `json:"type"`
			Primary bool       `json:"primary"`
		}
		if err := json.Unmarshal(r, &o); err != nil {
			return nil, fmt.Errorf("phones[%d] is neither a string nor {number, type}", i)
		}
		if n := o.Number.trim(); n != "" {
			if o.Primary && primary < 0 {
				primary = len(out)
			}
			out = append(out, phone{Number: n, Type: strings.ToLower(strings.TrimSpace(o.Type))})
		}
	}
	if primary > 0 {
		p := out[primary]
		copy(out[1:primary+1], out[:primary])
		out[0] = p
	}
	return out, nil
}

func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// CustomerTarget creates DİA customer cards (scf_carikart_ekle) from customer.created events. It is a
// adapter.Target, a adapter.Finder (by carikartkodu, the card's natural key) and a adapter.Closer (logout
// of the shared Session). Safe for concurrent use; set Mapping before the first call.
type CustomerTarget struct {
	Session *Session
	Mapping CustomerMapping
}

var (
	_ adapter.Target = (*CustomerTarget)(nil)
	_ adapter.Finder = (*CustomerTarget)(nil)
	_ adapter.Closer = (*CustomerTarget)(nil)
)

// NewCustomerTarget returns a CustomerTarget on s with the default mapping.
func NewCustomerTarget(s *Session) *CustomerTarget { return &CustomerTarget{Session: s} }

// Call maps the event and inserts the card. Result fields: key (the new card's _key) and message (DİA's
// msg). Errors are those of CustomerMapping.Kart and Session.Insert. It does not look for an existing
// card first (that costs a credit per event): the worker asks Find after an unknown outcome.
func (t *CustomerTarget) Call(ctx context.Context, req adapter.Request) (adapter.Result, error) {
	kart, err := t.Mapping.Kart(req.Data)
	if err != nil {
		return adapter.Result{}, err
	}
	key, msg, err := t.Session.Insert(ctx, ServiceCariKartEkle, kart)
	if err != nil {
		return adapter.Result{}, err
	}
	return adapter.Result{Fields: map[string]any{"key": key, "message": msg}}, nil
}

// Find looks for a card whose carikartkodu is the event's customerId (scf_carikart_listele, limit 1).
// found=true carries the existing card's key; nothing is inserted.
func (t *CustomerTarget) Find(ctx context.Context, req adapter.Request) (adapter.Result, bool, error) {
	code, err := CustomerCode(req.Data)
	if err != nil {
		return adapter.Result{}, false, err
	}
	key, found, err := t.Session.FindCariKart(ctx, code)
	if err != nil || !found {
		return adapter.Result{}, false, err
	}
	return adapter.Result{Fields: map[string]any{
		"key":     key,
		"message": fmt.Sprintf("DİA cari kart %s already exists (key %s)", code, key),
	}}, true, nil
}

// Close logs out of the shared session.
func (t *CustomerTarget) Close(ctx context.Context) error { return t.Session.Close(ctx) }
