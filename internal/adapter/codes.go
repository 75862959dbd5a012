package adapter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// FoldCode folds a coded value for lookup: Unicode NFC, lower case, Turkish letters mapped to their
// ASCII base (ç→c, ğ→g, ı/İ/I→i, ö→o, ş→s, ü→u), and spaces, tabs, hyphens, underscores and dots
// dropped. So "Şahıs Şirketi", "SAHIS_SIRKETI" and "şahısşirketi" meet, and "A + S" is "a+s". Adapters
// fold both the event's value and their tables' keys with it, so every coded field accepts the vendor
// doc's code and the English name case-insensitively.
func FoldCode(s string) string {
	var b strings.Builder
	for _, r := range norm.NFC.String(s) {
		switch r {
		case ' ', '-', '_', '.', '\t', '\n', '\r':
			continue
		case 'ç', 'Ç':
			r = 'c'
		case 'ğ', 'Ğ':
			r = 'g'
		case 'ı', 'İ', 'I':
			r = 'i'
		case 'ö', 'Ö':
			r = 'o'
		case 'ş', 'Ş':
			r = 's'
		case 'ü', 'Ü':
			r = 'u'
		}
		b.WriteString(strings.ToLower(string(r)))
	}
	return b.String()
}

// Record types of customer.created, by their English names.
const (
	RecordBuyer  = "buyer"
	RecordSeller = "seller"
	RecordBoth   = "both"
)

// recordTypes maps every folded spelling of customer.created recordType to its English name: the
// English names; Lean Soft's CustomerRecordType codes 1/2/3, its letters A/S/A+S and its Turkish names
// Alıcı/Satıcı/Alıcı+Satıcı; DİA's carikarttipi codes AL/SAT/AS (AL from the DİA doc, SAT and AS the
// adapter's assumption; see internal/adapter/dia/MAPPING.md).
var recordTypes = map[string]string{
	"buyer": RecordBuyer, "1": RecordBuyer, "a": RecordBuyer, "alici": RecordBuyer, "al": RecordBuyer,
	"seller": RecordSeller, "2": RecordSeller, "s": RecordSeller, "satici": RecordSeller, "sat": RecordSeller,
	"both": RecordBoth, "3": RecordBoth, "a+s": RecordBoth, "alici+satici": RecordBoth, "as": RecordBoth,
}

// RecordType reads customer.created recordType (a string, or the Lean Soft code as an integer) and
// returns its English name (RecordBuyer, RecordSeller, RecordBoth). present is false when it is absent,
// null or empty; ok is false when it is present but not one of the accepted spellings.
func RecordType(raw json.RawMessage) (name string, present, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, true
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return "", true, false
		}
	} else {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return "", true, false
		}
		s = strconv.FormatInt(n, 10)
	}
	f := FoldCode(s)
	if f == "" {
		return "", false, true
	}
	name, ok = recordTypes[f]
	return name, true, ok
}

// RecordTypeRaw returns the value of a recordType as text, for messages: the string, or the integer.
func RecordTypeRaw(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
