package leansoft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/kopru/kopru/internal/adapter"
)

// recordTypes maps the English name of customer.created recordType (adapter.RecordType reads the doc's
// codes 1/2/3, A/S/A+S and Turkish names as well) to CustomerRecordType.
var recordTypes = map[string]int{adapter.RecordBuyer: 1, adapter.RecordSeller: 2, adapter.RecordBoth: 3}

// currencyNames maps the folded English (and common Turkish) names of the doc's three example
// currencies to their codes; any other value is sent upper-cased, as the doc lists TRY, USD, EUR only
// as examples ("ÖRNEK").
var currencyNames = map[string]string{
	"turkishlira": "TRY", "lira": "TRY", "tl": "TRY", "turklirasi": "TRY",
	"usdollar": "USD", "dollar": "USD", "dolar": "USD",
	"euro": "EUR", "avro": "EUR",
}

// currencyCode is the CustomerCurrencyCode of an event currency: a name of currencyNames becomes its
// code, anything else is upper-cased ("try" → "TRY").
func currencyCode(s string) string {
	if code, ok := currencyNames[adapter.FoldCode(s)]; ok {
		return code
	}
	return strings.ToUpper(s)
}

// organizationTypes maps a folded organisation type name (see foldName) to its Lean Soft code: the
// digits, English names, and the doc's Turkish names with and without "şirket(i)".
var organizationTypes = map[string]string{
	"0": "0", "undefined": "0", "tanimsiz": "0",
	"1": "1", "limited": "1", "limitedsirket": "1", "limitedsirketi": "1",
	"2": "2", "jointstock": "2", "anonim": "2", "anonimsirket": "2", "anonimsirketi": "2",
	"3": "3", "limitedpartnership": "3", "komandit": "3", "komanditsirket": "3", "komanditsirketi": "3",
	"4": "4", "generalpartnership": "4", "kolektif": "4", "kolektifsirket": "4", "kolektifsirketi": "4",
	"5": "5", "liaisonoffice": "5", "irtibatburosu": "5",
	"6": "6", "soleproprietorship": "6", "sahis": "6", "sahissirket": "6", "sahissirketi": "6",
	"7": "7", "branch": "7", "sube": "7",
	"8": "8", "public": "8", "kamu": "8",
}

// foldName folds a coded value for lookup (adapter.FoldCode).
func foldName(s string) string { return adapter.FoldCode(s) }

// clean trims s and puts it in Unicode NFC, the form Lean Soft's name lookups (city, district) and
// length limits are safest with; text from some systems arrives decomposed (NFD).
func clean(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

// Map turns the data of a customer.created v1 event into the CustomerSave body. It is pure: no I/O.
//
// Every field is trimmed and put in Unicode NFC; empty optional fields are omitted. recordType
// (buyer/seller/both, or the doc's 1/2/3, A/S/A+S, Alıcı/Satıcı, or DİA's AL/SAT/AS, as a string or
// an integer, case ignored) becomes 1/2/3; organizationType (a digit 0–8, an English name such as
// "joint-stock", or a Turkish name such as "AnonimŞirket" or "Şahıs Şirketi", case and spacing
// ignored) becomes the string "0"–"8", and is omitted when absent (Lean Soft then uses 0); currency is
// sent as a string, upper-cased ("try" → "TRY") or, for the English names "Turkish lira", "US
// dollar" and "euro", as the code; the first two non-empty phones become CustomerPhone1/2 (more are
// dropped); customerId becomes CustomerIntegrationCompanyCode; referenceGroupCode comes from the event,
// else from cfg.DefaultReferenceGroupCode.
//
// Before building the body Map checks the rules listed in the package documentation (and RULES.md).
// Every failure comes back as one *adapter.Error of ClassInvalid (nothing may be sent). When the event
// breaks rules, its one-line message lists all of them (event field, Lean Soft field, what is wrong;
// personal numbers masked) and its Err is the Violations: `var vs Violations; errors.As(err, &vs)`.
// Data that is not a JSON object of the schema's types gives a ClassInvalid error without Violations.
func Map(data json.RawMessage, cfg Config) (Body, error) {
	b, _, err := MapWarn(data, cfg)
	return b, err
}

// MapWarn is Map that also returns the warnings: the Köprü-added checks that failed under
// PolicyWarn (cfg.Checksums). The body is sent with them; their Detail is masked like a violation's.
func MapWarn(data json.RawMessage, cfg Config) (Body, Violations, error) {
	var ev event
	if err := decodeEvent(data, &ev); err != nil {
		return Body{}, nil, err
	}
	v := checker{sums: cfg.Checksums.withDefaults()}

	c := Customer{
		CustomerName:                            clean(ev.Name),
		CustomerCurrencyCode:                    currencyCode(clean(ev.Currency)),
		CustomerCountryName:                     clean(ev.Address.Country),
		CustomerCityName:                        clean(ev.Address.City),
		CustomerDistrictName:                    clean(ev.Address.District),
		CustomerNeighborhood:                    clean(ev.Address.Neighborhood),
		CustomerStreet1:                         clean(ev.Address.Street1),
		CustomerStreet2:                         clean(ev.Address.Street2),
		CustomerBuildingName:                    clean(ev.Address.BuildingName),
		CustomerBuildingNumber:                  clean(ev.Address.BuildingNumber),
		CustomerApartmentNumber:                 clean(ev.Address.ApartmentNumber),
		CustomerPostalCode:                      clean(ev.Address.PostalCode),
		CustomerEmail:                           clean(ev.Email),
		CustomerTaxNo:                           clean(ev.TaxNumber),
		CustomerTaxOffice:                       clean(ev.TaxOffice),
		CustomerElectronicArchiveBillEmail:      clean(ev.EArchiveEmail),
		CustomerUserText1:                       clean(ev.UserText1),
		CustomerUserText2:                       clean(ev.UserText2),
		CustomerUserText3:                       clean(ev.UserText3),
		CustomerUserNumeric1:                    ev.UserNumeric1,
		CustomerUserNumeric2:                    ev.UserNumeric2,
		CustomerUserNumeric3:                    ev.UserNumeric3,
		CustomerIntegrationCompanyCode:          clean(ev.CustomerID),
		CustomerTradeRegistrationNumber:         clean(ev.TradeRegistrationNumber),
		CustomerCentralRegistrationSystemNumber: clean(ev.CentralRegistrationSystemNumber),
		CustomerChamberRegistrationNumber:       clean(ev.ChamberRegistrationNumber),
		CustomerBranchCode:                      clean(ev.BranchCode),
	}
	c.CustomerReferenceGroupCode = clean(ev.ReferenceGroupCode)
	if c.CustomerReferenceGroupCode == "" {
		c.CustomerReferenceGroupCode = clean(cfg.DefaultReferenceGroupCode)
	}
	var phones []string
	for _, p := range ev.Phones {
		if p = clean(p); p != "" {
			phones = append(phones, p)
		}
	}
	if len(phones) > 0 {
		c.CustomerPhone1 = phones[0]
	}
	if len(phones) > 1 {
		c.CustomerPhone2 = phones[1]
	}

	// Customer-level rules, in the order of the doc's table.
	v.required("customerId", "CustomerIntegrationCompanyCode", c.CustomerIntegrationCompanyCode)
	v.required("name", "CustomerName", c.CustomerName)
	v.maxLen("name", "CustomerName", c.CustomerName, 250)
	switch rt, present, ok := adapter.RecordType(ev.RecordType); {
	case !present:
		v.add("recordType", "CustomerRecordType", RuleRequired, "is required")
	case !ok:
		v.add("recordType", "CustomerRecordType", RuleAllowedValues, fmt.Sprintf(
			"is %q; it must be buyer, seller or both (or Lean Soft's 1, 2, 3, A, S, A+S; DİA's AL, SAT, AS)", short(adapter.RecordTypeRaw(ev.RecordType))))
	default:
		c.CustomerRecordType = recordTypes[rt]
	}
	c.CustomerOrganizationType = v.organizationType(ev.OrganizationType)
	if c.CustomerReferenceGroupCode == "" {
		v.add("referenceGroupCode", "CustomerReferenceGroupCode", RuleRequired,
			"is required: set it on the event or configure a default reference group code")
	}
	v.required("currency", "CustomerCurrencyCode", c.CustomerCurrencyCode)
	v.required("address.country", "CustomerCountryName", c.CustomerCountryName)
	v.required("address.city", "CustomerCityName", c.CustomerCityName)
	v.required("address.district", "CustomerDistrictName", c.CustomerDistrictName)
	v.required("address.neighborhood", "CustomerNeighborhood", c.CustomerNeighborhood)
	v.maxLen("email", "CustomerEmail", c.CustomerEmail, 250)
	v.taxNumber(c.CustomerTaxNo)
	if c.CustomerTaxNo == PlaceholderTaxNumber && c.CustomerElectronicArchiveBillEmail == "" {
		v.add("eArchiveEmail", "CustomerElectronicArchiveBillEmail", RuleEArchiveEmail,
			"is required when taxNumber is the placeholder "+PlaceholderTaxNumber)
	}
	v.maxLen("eArchiveEmail", "CustomerElectronicArchiveBillEmail", c.CustomerElectronicArchiveBillEmail, 250)
	v.maxLen("userText1", "CustomerUserText1", c.CustomerUserText1, 250)
	v.maxLen("userText2", "CustomerUserText2", c.CustomerUserText2, 250)
	v.maxLen("userText3", "CustomerUserText3", c.CustomerUserText3, 250)

	for i, u := range ev.Users {
		cu := CustomerUser{
			CustomerUserName:                 clean(u.FirstName),
			CustomerUserSurname:              clean(u.LastName),
			CustomerUserPosition:             clean(u.Position),
			CustomerUserIdentityCardNumber:   clean(u.IdentityNumber),
			CustomerUserEmail:                clean(u.Email),
			CustomerUserCellPhone:            clean(u.CellPhone),
			CustomerUserPhone:                clean(u.Phone),
			CustomerUserInternalNumber:       clean(u.InternalNumber),
			CustomerUserDepartmentName:       clean(u.Department),
			CustomerUserDrivingLicenseNumber: clean(u.DrivingLicenseNumber),
			CustomerUserText1:                clean(u.UserText1),
			CustomerUserText2:                clean(u.UserText2),
			CustomerUserText3:                clean(u.UserText3),
			CustomerUserNumeric1:             u.UserNumeric1,
			CustomerUserNumeric2:             u.UserNumeric2,
			CustomerUserNumeric3:             u.UserNumeric3,
			CustomerUserExplanation:          clean(u.Explanation),
		}
		p := fmt.Sprintf("users[%d].", i)
		v.required(p+"firstName", "CustomerUserName", cu.CustomerUserName)
		v.maxLen(p+"firstName", "CustomerUserName", cu.CustomerUserName, 250)
		v.required(p+"lastName", "CustomerUserSurname", cu.CustomerUserSurname)
		v.maxLen(p+"lastName", "CustomerUserSurname", cu.CustomerUserSurname, 250)
		v.maxLen(p+"position", "CustomerUserPosition", cu.CustomerUserPosition, 250)
		v.identityNumber(p+"identityNumber", cu.CustomerUserIdentityCardNumber)
		c.CustomerUsers = append(c.CustomerUsers, cu)
	}

	if len(v.vs) > 0 {
		return Body{}, nil, v.err()
	}
	return Body{Customer: c}, v.warns, nil
}

// short caps an echoed (non-personal) value for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// organizationType reads the event's organizationType (absent, a string or an integer) as a code
// "0"–"8"; "" means absent.
func (v *checker) organizationType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			v.add("organizationType", "CustomerOrganizationType", RuleType, "must be a string or an integer")
			return ""
		}
		s = clean(s)
		if s == "" {
			return ""
		}
	} else {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			v.add("organizationType", "CustomerOrganizationType", RuleType, "must be a string or an integer from 0 to 8")
			return ""
		}
		s = strconv.FormatInt(n, 10)
	}
	code, ok := organizationTypes[foldName(s)]
	if !ok {
		v.add("organizationType", "CustomerOrganizationType", RuleAllowedValues, fmt.Sprintf(
			"is %q; it must be 0-8 or one of undefined, limited, joint-stock, limited-partnership, general-partnership, liaison-office, sole-proprietorship, branch, public (or the Turkish names)", short(s)))
		return ""
	}
	return code
}
