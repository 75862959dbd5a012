package dia

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

// ServiceNotlarEkle is the service of the service-note route.
const ServiceNotlarEkle = "gts_notlar_ekle"

// ServiceNoteMapping turns service-note.created data into a gts_notlar_ekle kart, field for field as the
// doc's example: _key_scf_carikart {"carikartkodu"}, _key_shy_servisformu {"fisno"} (only with a
// serviceFormNo), _key_sis_kullanici {"kullaniciadi"}, konu, note, tarih, saat, harcananzaman (text with
// two decimals, "15.00"), harcananzamanturu, gorusmesekli, and the doc's empty links (DocEmptyLinks:
// `_key_…: 0` and one null, meaning "no link"), so the doc's own example gives the doc's kart. Its zero
// value is ready to use.
//
// Assumptions (the doc shows only one value of each): harcananzamanturu "D" is minutes (dakika); "S"
// (saat, hours) and "G" (gün, days) are not confirmed. gorusmesekli's meaning is not documented; the
// doc's value 1 is sent.
type ServiceNoteMapping struct {
	// GorusmeSekli is sent as gorusmesekli; 0 means 1, the doc's example value.
	GorusmeSekli int
	// OmitEmptyLinks leaves DocEmptyLinks out (the doc says fields not sent take their defaults).
	OmitEmptyLinks bool
}

// DocEmptyLinks are the links the doc's example sends empty (0, or null for
// _key_gts_gorusme_kategorileri); the mapping sends them the same way unless OmitEmptyLinks is set.
var DocEmptyLinks = map[string]any{
	"_key_gts_gorev":                0,
	"_key_gts_gorusme_kategori":     0,
	"_key_gts_gorusme_kategorileri": nil,
	"_key_scf_satiselemani":         0,
	"_key_scf_siparis":              0,
	"_key_scf_teklif":               0,
	"_key_sis_rehber_karti":         0,
	"_key_sis_seviyekodu":           0,
}

// SpentTimeUnits maps spentTimeUnit's English names to harcananzamanturu. Only "D" appears in the doc.
var SpentTimeUnits = map[string]string{"minutes": "D", "hours": "S", "days": "G"}

// spentTimeUnitCodes maps every folded spelling (adapter.FoldCode) of spentTimeUnit to harcananzamanturu:
// the English names (singular too), DİA's codes D, S, G and the Turkish words dakika, saat, gün.
var spentTimeUnitCodes = map[string]string{
	"minutes": "D", "minute": "D", "d": "D", "dakika": "D",
	"hours": "S", "hour": "S", "s": "S", "saat": "S",
	"days": "G", "day": "G", "g": "G", "gun": "G",
}

// SpentTimeUnitCode returns the harcananzamanturu of a spentTimeUnit, case ignored; ok is false for a
// value that is none of the accepted spellings.
func SpentTimeUnitCode(unit string) (code string, ok bool) {
	code, ok = spentTimeUnitCodes[adapter.FoldCode(unit)]
	return code, ok
}

// serviceNote is service-note.created v1 data. Unknown fields are ignored.
type serviceNote struct {
	CustomerCode  flexString      `json:"customerCode"`
	ServiceFormNo flexString      `json:"serviceFormNo"`
	User          string          `json:"user"`
	Subject       string          `json:"subject"`
	Note          string          `json:"note"`
	Date          string          `json:"date"`
	Time          string          `json:"time"`
	SpentTime     json.RawMessage `json:"spentTime"`
	SpentTimeUnit string          `json:"spentTimeUnit"`
}

var clock = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$`)

// Kart maps service-note.created data to the kart of gts_notlar_ekle. It fails with a ClassInvalid
// *adapter.Error when a required field (customerCode, user, subject, date) is missing or a value is
// malformed (date not YYYY-MM-DD, time not HH:MM:SS, spentTime not a non-negative number, unknown
// spentTimeUnit, customerCode over 30 characters). spentTimeUnit takes the English names and DİA's
// codes alike, case ignored (SpentTimeUnitCode); the kart carries the code.
func (m ServiceNoteMapping) Kart(data json.RawMessage) (map[string]any, error) {
	var n serviceNote
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, adapter.Invalid("service-note.created data is not readable: %v", err)
	}
	code := n.CustomerCode.trim()
	if code == "" {
		return nil, adapter.Invalid("service note has no customerCode (the DİA carikartkodu)")
	}
	if _, err := cariKartKodu(code); err != nil {
		return nil, adapter.Invalid("service note customerCode %q is longer than %d characters, so no DİA card can have it", code, MaxCariKartKodu)
	}
	user := strings.TrimSpace(n.User)
	if user == "" {
		return nil, adapter.Invalid("service note has no user (the DİA kullaniciadi)")
	}
	subject := strings.TrimSpace(n.Subject)
	if subject == "" {
		return nil, adapter.Invalid("service note has no subject")
	}
	date := strings.TrimSpace(n.Date)
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, adapter.Invalid("service note date %q is not a YYYY-MM-DD date", n.Date)
	}
	gs := m.GorusmeSekli
	if gs == 0 {
		gs = 1
	}
	kart := map[string]any{
		"_key_scf_carikart":  map[string]any{"carikartkodu": code},
		"_key_sis_kullanici": map[string]any{"kullaniciadi": user},
		"konu":               subject,
		"tarih":              date,
		"gorusmesekli":       gs,
	}
	if fis := n.ServiceFormNo.trim(); fis != "" {
		kart["_key_shy_servisformu"] = map[string]any{"fisno": fis}
	}
	if note := strings.TrimSpace(n.Note); note != "" {
		kart["note"] = note
	}
	if t := strings.TrimSpace(n.Time); t != "" {
		if !clock.MatchString(t) {
			return nil, adapter.Invalid("service note time %q is not HH:MM:SS", n.Time)
		}
		kart["saat"] = t
	}
	spent, ok, err := spentTime(n.SpentTime)
	if err != nil {
		return nil, err
	}
	unit := strings.TrimSpace(n.SpentTimeUnit)
	tur, known := SpentTimeUnitCode(unit)
	if unit != "" && !known {
		return nil, adapter.Invalid("service note spentTimeUnit %q is not minutes, hours or days (DİA: D, S, G)", n.SpentTimeUnit)
	}
	if ok {
		if unit == "" {
			tur = SpentTimeUnits["minutes"] // the doc's example unit
		}
		kart["harcananzaman"] = strconv.FormatFloat(spent, 'f', 2, 64)
		kart["harcananzamanturu"] = tur
	}
	if !m.OmitEmptyLinks {
		for k, v := range DocEmptyLinks {
			kart[k] = v
		}
	}
	return kart, nil
}

// spentTime reads a number or a numeric string ("15", "15.00", "15,5"); ok is false when absent/empty.
func spentTime(raw json.RawMessage) (v float64, ok bool, err error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return 0, false, nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, adapter.Invalid("service note spentTime is not readable")
		}
		s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
		if s == "" {
			return 0, false, nil
		}
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil || v < 0 || v != v || v > 1e9 {
		return 0, false, adapter.Invalid("service note spentTime %s is not a non-negative number", string(raw))
	}
	return v, true, nil
}

// ServiceNoteTarget creates DİA task notes (gts_notlar_ekle) from service-note.created events. A note
// has no natural key, so it is not a adapter.Finder: an unknown outcome is for an operator to check. It
// is a adapter.Closer (logout of the shared Session; harmless when CustomerTarget closed it already).
// Safe for concurrent use; set Mapping before the first call.
type ServiceNoteTarget struct {
	Session *Session
	Mapping ServiceNoteMapping
}

var (
	_ adapter.Target = (*ServiceNoteTarget)(nil)
	_ adapter.Closer = (*ServiceNoteTarget)(nil)
)

// NewServiceNoteTarget returns a ServiceNoteTarget on s with the default mapping.
func NewServiceNoteTarget(s *Session) *ServiceNoteTarget { return &ServiceNoteTarget{Session: s} }

// Call maps the event and inserts the note. Result fields: key and message (DİA's msg, e.g.
// "[ws] «2017-03-25» tarihli «Görev Notu» eklenmiştir."). Errors are those of ServiceNoteMapping.Kart
// and Session.Insert.
func (t *ServiceNoteTarget) Call(ctx context.Context, req adapter.Request) (adapter.Result, error) {
	kart, err := t.Mapping.Kart(req.Data)
	if err != nil {
		return adapter.Result{}, err
	}
	key, msg, err := t.Session.Insert(ctx, ServiceNotlarEkle, kart)
	if err != nil {
		return adapter.Result{}, err
	}
	return adapter.Result{Fields: map[string]any{"key": key, "message": msg}}, nil
}

// Close logs out of the shared session.
func (t *ServiceNoteTarget) Close(ctx context.Context) error { return t.Session.Close(ctx) }
