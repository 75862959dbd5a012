package leansoft

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PlaceholderTaxNumber is the doc's tax number for a customer without one; it makes
// CustomerElectronicArchiveBillEmail required.
const PlaceholderTaxNumber = "11111111111"

// Check applies the doc's rules to c and returns the Turkish message of the first violation, or "" when
// c is acceptable. The checks follow the doc's table: required (*) fields, maximum lengths (in
// characters), the forbidden characters ? / & % + ^ ' * _ " and spaces in CustomerTaxNo and
// CustomerUserIdentityCardNumber, the documented values of CustomerRecordType (1–3) and
// CustomerOrganizationType (0–8), and the e-archive e-mail with the placeholder tax number.
func Check(c *Customer) string {
	checks := []string{
		required("CustomerName", c.CustomerName),
		maxLen("CustomerName", c.CustomerName, 250),
		requiredInt("CustomerRecordType", c.CustomerRecordType),
		inRange("CustomerRecordType", c.CustomerRecordType, 1, 3, "1 (Alıcı), 2 (Satıcı) veya 3 (Alıcı+Satıcı)"),
		inRange("CustomerOrganizationType", c.CustomerOrganizationType, 0, 8, "0 ile 8 arasında"),
		required("CustomerReferenceGroupCode", c.CustomerReferenceGroupCode),
		required("CustomerCurrencyCode", c.CustomerCurrencyCode),
		required("CustomerCountryName", c.CustomerCountryName),
		required("CustomerCityName", c.CustomerCityName),
		required("CustomerDistrictName", c.CustomerDistrictName),
		required("CustomerNeighborhood", c.CustomerNeighborhood),
		maxLen("CustomerEmail", c.CustomerEmail, 250),
		required("CustomerTaxNo", c.CustomerTaxNo),
		maxLen("CustomerTaxNo", c.CustomerTaxNo, 11),
		noSpecial("CustomerTaxNo", c.CustomerTaxNo),
		eArchive(c),
		maxLen("CustomerElectronicArchiveBillEmail", c.CustomerElectronicArchiveBillEmail, 250),
		maxLen("CustomerUserText1", c.CustomerUserText1, 250),
		maxLen("CustomerUserText2", c.CustomerUserText2, 250),
		maxLen("CustomerUserText3", c.CustomerUserText3, 250),
	}
	for i, u := range c.CustomerUsers {
		p := fmt.Sprintf("CustomerUsers[%d].", i)
		checks = append(checks,
			required(p+"CustomerUserName", u.CustomerUserName),
			maxLen(p+"CustomerUserName", u.CustomerUserName, 250),
			required(p+"CustomerUserSurname", u.CustomerUserSurname),
			maxLen(p+"CustomerUserSurname", u.CustomerUserSurname, 250),
			maxLen(p+"CustomerUserPosition", u.CustomerUserPosition, 250),
			required(p+"CustomerUserIdentityCardNumber", u.CustomerUserIdentityCardNumber),
			maxLen(p+"CustomerUserIdentityCardNumber", u.CustomerUserIdentityCardNumber, 11),
			noSpecial(p+"CustomerUserIdentityCardNumber", u.CustomerUserIdentityCardNumber),
		)
	}
	for _, msg := range checks {
		if msg != "" {
			return msg
		}
	}
	return ""
}

func required(field, s string) string {
	if strings.TrimSpace(s) == "" {
		return field + " alanı zorunludur."
	}
	return ""
}

func requiredInt(field string, n *Int) string {
	if n == nil {
		return field + " alanı zorunludur."
	}
	return ""
}

func inRange(field string, n *Int, lo, hi int64, allowed string) string {
	if n != nil && (int64(*n) < lo || int64(*n) > hi) {
		return fmt.Sprintf("%s %s olmalıdır.", field, allowed)
	}
	return ""
}

func maxLen(field, s string, max int) string {
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("%s alanı en fazla %d karakter olabilir.", field, max)
	}
	return ""
}

func noSpecial(field, s string) string {
	if strings.ContainsAny(s, `?/&%+^'*_"`) || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return field + ` alanında ? / & % + ^ ' * _ " ve boşluk gibi özel karakterler kullanılamaz.`
	}
	return ""
}

func eArchive(c *Customer) string {
	if c.CustomerTaxNo == PlaceholderTaxNumber && strings.TrimSpace(c.CustomerElectronicArchiveBillEmail) == "" {
		return "CustomerTaxNo " + PlaceholderTaxNumber + " olarak gönderildiğinde CustomerElectronicArchiveBillEmail alanı zorunludur."
	}
	return ""
}
