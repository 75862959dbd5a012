package licrus

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kopru/kopru/internal/sim"
)

// cities is Licrus's city list as its web-site API prints it: plate codes, ASCII upper-case names, and
// 82 BILINMEYEN ("unknown").
var cities = []string{1: "ADANA", "ADIYAMAN", "AFYONKARAHISAR", "AGRI", "AMASYA", "ANKARA", "ANTALYA", "ARTVIN",
	"AYDIN", "BALIKESIR", "BILECIK", "BINGOL", "BITLIS", "BOLU", "BURDUR", "BURSA", "CANAKKALE", "CANKIRI",
	"CORUM", "DENIZLI", "DIYARBAKIR", "EDIRNE", "ELAZIG", "ERZINCAN", "ERZURUM", "ESKISEHIR", "GAZIANTEP",
	"GIRESUN", "GUMUSHANE", "HAKKARI", "HATAY", "ISPARTA", "MERSIN", "ISTANBUL", "IZMIR", "KARS", "KASTAMONU",
	"KAYSERI", "KIRKLARELI", "KIRSEHIR", "KOCAELI", "KONYA", "KUTAHYA", "MALATYA", "MANISA", "KAHRAMANMARAS",
	"MARDIN", "MUGLA", "MUS", "NEVSEHIR", "NIGDE", "ORDU", "RIZE", "SAKARYA", "SAMSUN", "SIIRT", "SINOP", "SIVAS",
	"TEKIRDAG", "TOKAT", "TRABZON", "TUNCELI", "SANLIURFA", "USAK", "VAN", "YOZGAT", "ZONGULDAK", "AKSARAY",
	"BAYBURT", "KARAMAN", "KIRIKKALE", "BATMAN", "SIRNAK", "BARTIN", "ARDAHAN", "IGDIR", "YALOVA", "KARABUK",
	"KILIS", "OSMANIYE", "DUZCE", "BILINMEYEN"}

// seedDistricts are realistic district lists; the ids are the simulator's (Licrus's real ids are not
// public), except İzmir/KARABAĞLAR = 511, the district of the doc's example (Fevzi Çakmak is there).
func seedDistricts() map[int][]Item {
	d := func(id int, text string) Item { return Item{ID: id, Text: text, IsActive: true} }
	return map[int][]Item{
		34: {d(441, "ADALAR"), d(442, "ATAŞEHİR"), d(443, "BAKIRKÖY"), d(444, "BEŞİKTAŞ"), d(445, "BEYKOZ"),
			d(446, "KADIKÖY"), d(447, "KARTAL"), d(448, "PENDİK"), d(449, "SARIYER"), d(450, "ŞİŞLİ"),
			d(451, "ÜMRANİYE"), d(452, "ÜSKÜDAR"), d(453, "ÇEKMEKÖY"), d(454, "SİLİVRİ"), d(455, "ŞİLE")},
		35: {d(501, "BORNOVA"), d(502, "BUCA"), d(503, "ÇİĞLİ"), d(504, "GAZİEMİR"), d(505, "KARŞIYAKA"),
			d(506, "KONAK"), d(507, "MENEMEN"), d(508, "TORBALI"), d(509, "URLA"), d(510, "ÇEŞME"),
			d(511, "KARABAĞLAR"), d(512, "BAYRAKLI")},
		6: {d(601, "ÇANKAYA"), d(602, "KEÇİÖREN"), d(603, "YENİMAHALLE"), d(604, "ETİMESGUT"), d(605, "SİNCAN"),
			d(606, "POLATLI")},
		32: {d(3201, "MERKEZ"), d(3202, "EĞİRDİR"), d(3203, "YALVAÇ")},
		76: {d(7601, "MERKEZ"), d(7602, "ARALIK"), d(7603, "TUZLUCA")},
		73: {d(7301, "MERKEZ"), d(7302, "CİZRE"), d(7303, "SİLOPİ")},
		18: {d(1801, "MERKEZ"), d(1802, "ILGAZ"), d(1803, "ÇERKEŞ")},
		71: {d(7101, "MERKEZ"), d(7102, "KESKİN"), d(7103, "YAHŞİHAN")},
		39: {d(3901, "MERKEZ"), d(3902, "LÜLEBURGAZ"), d(3903, "BABAESKİ")},
	}
}

// seedMainGroups are product main groups; 224 KAZANLAR/UA002 is the docs' example, 220 the id of the
// first-start example (its text is the simulator's choice).
func seedMainGroups() []Item {
	return []Item{
		{ID: 220, Text: "KOMBİLER", Code: "UA001", IsActive: true},
		{ID: 221, Text: "ŞOFBENLER", Code: "UA003", IsActive: true},
		{ID: 222, Text: "TERMOSİFONLAR", Code: "UA004", IsActive: true},
		{ID: 223, Text: "KLİMALAR", Code: "UA005", IsActive: true},
		{ID: 224, Text: "KAZANLAR", Code: "UA002", IsActive: true},
		{ID: 219, Text: "ESKİ SERİ KOMBİLER", Code: "UA000", IsActive: false},
	}
}

// lookupBegin counts a lookup request, decodes it and runs the shared checks (faults, AuthTicket) plus
// AppSource/AppPlatform/Culture. It returns nil when an answer was already written.
func (s *Sim) lookupBegin(w http.ResponseWriter, r *http.Request, service string) map[string]any {
	st := s.forms()
	st.mu.Lock()
	st.lookups[service]++
	st.mu.Unlock()
	body, _ := DecodeBody(w, r)
	if body == nil {
		return nil
	}
	ft, ok := s.Begin(w, r, body)
	if !ok {
		return nil
	}
	if missing := appFieldsMissing(body); len(missing) > 0 {
		WriteError(w, "Zorunlu alanlar eksik: "+strings.Join(missing, ", "))
		return nil
	}
	if sim.After(w, r, ft) {
		return nil
	}
	return body
}

// appFieldsMissing checks the fields every Licrus service requires besides AuthTicket.
func appFieldsMissing(body map[string]any) []string {
	var missing []string
	if v, _ := body["AppSource"].(string); v != "66292" {
		missing = append(missing, "AppSource")
	}
	if v, _ := body["AppPlatform"].(float64); v != 2 {
		missing = append(missing, "AppPlatform")
	}
	for _, f := range []string{"AppCulture", "Culture"} {
		if v, _ := body[f].(string); strings.TrimSpace(v) == "" {
			missing = append(missing, f)
		}
	}
	return missing
}

func writeItems(w http.ResponseWriter, items []Item) {
	results := make([]any, 0, len(items))
	for _, it := range items {
		results = append(results, it)
	}
	WriteJSON(w, Response{Results: results, HasResult: len(results) > 0, Count: len(results), TotalCount: len(results),
		MessageList: []Message{}})
}

func (s *Sim) cityGetAll(w http.ResponseWriter, r *http.Request) {
	if s.lookupBegin(w, r, LookupCities) == nil {
		return
	}
	items := make([]Item, 0, len(cities))
	for id, name := range cities {
		if id > 0 {
			items = append(items, Item{ID: id, Text: name, IsActive: true})
		}
	}
	writeItems(w, items)
}

func (s *Sim) districtGetByCityID(w http.ResponseWriter, r *http.Request) {
	body := s.lookupBegin(w, r, LookupDistricts)
	if body == nil {
		return
	}
	id, ok := intField(body, "CityId")
	if !ok {
		WriteError(w, "Zorunlu alanlar eksik: CityId")
		return
	}
	st := s.forms()
	st.mu.Lock()
	items := append([]Item(nil), st.districts[id]...)
	st.mu.Unlock()
	writeItems(w, items)
}

func (s *Sim) productGroupGetMainGroups(w http.ResponseWriter, r *http.Request) {
	if s.lookupBegin(w, r, LookupMainGroups) == nil {
		return
	}
	st := s.forms()
	st.mu.Lock()
	items := append([]Item(nil), st.mainGroups...)
	st.mu.Unlock()
	writeItems(w, items)
}

// intField reads an integer sent as a JSON number or a numeric string.
func intField(m map[string]any, k string) (int, bool) {
	switch v := m[k].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}
