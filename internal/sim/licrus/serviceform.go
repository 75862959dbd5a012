package licrus

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

var (
	threeDigits  = regexp.MustCompile(`^[0-9]{3}$`)
	sevenDigits  = regexp.MustCompile(`^[0-9]{7}$`)
	appointmentL = "2.1.2006 15:04" // the doc's "d.M.yyyy HH:mm"
)

// serviceFormCreate is POST /api/OperationForms/ServiceForm/Create (api-docs/licrus-first-start-
// serviceform.md). It checks the documented required fields and their types as the doc's body shows
// them (city and district ids as strings, the product group id as a number), refuses ids it does not
// know, and records the form. Refusals are HTTP 200 with HasError and a Turkish message.
func (s *Sim) serviceFormCreate(w http.ResponseWriter, r *http.Request) {
	body, raw := DecodeBody(w, r)
	if body == nil {
		return
	}
	ft, ok := s.Begin(w, r, body)
	if !ok {
		return
	}
	if problem := s.checkServiceForm(body); problem != "" {
		WriteError(w, problem)
		return
	}
	delete(body, "AuthTicket")

	st := s.forms()
	st.mu.Lock()
	n := st.next
	st.next++
	st.forms = append(st.forms, Form{Number: n, Body: body, Raw: raw, At: time.Now()})
	msgf := st.message
	st.mu.Unlock()

	if sim.After(w, r, ft) {
		return
	}
	msgs := []Message{{Type: TypeInfo, Message: FormMessage(n)}}
	if msgf != nil {
		msgs = msgf(n)
	}
	WriteJSON(w, Response{Results: []any{}, MessageList: msgs, HasMessage: len(msgs) > 0})
}

// checkServiceForm returns Licrus's refusal text, "" when the form is acceptable.
func (s *Sim) checkServiceForm(body map[string]any) string {
	missing := appFieldsMissing(body)
	form, _ := body["Form"].(map[string]any)
	if form == nil {
		return "Zorunlu alanlar eksik: " + strings.Join(append(missing, "Form"), ", ")
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return strings.TrimSpace(v) }
	ref := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	need := func(m map[string]any, k, label string) {
		if str(m, k) == "" {
			missing = append(missing, label)
		}
	}
	if id, ok := intField(ref(form, "RequestReason"), "Id"); !ok || id != 1 {
		missing = append(missing, "RequestReason")
	}
	if id, ok := intField(ref(form, "ServiceType"), "Id"); !ok || id != 32 {
		missing = append(missing, "ServiceType")
	}
	need(form, "Description", "Description")
	need(form, "ProductSerialNumber1", "SerialNumber")
	need(form, "GasSafeCertificateNumber", "GasSafeCertificateNumber")
	cust := ref(form, "Customer")
	if cust == nil {
		missing = append(missing, "Customer")
	} else {
		need(cust, "FirstName", "Customer.FirstName")
		need(cust, "LastName", "Customer.LastName")
		if cis, _ := cust["ContactInfos"].([]any); len(cis) == 0 {
			missing = append(missing, "ContactInfos")
		}
		if as, _ := cust["Addresses"].([]any); len(as) == 0 {
			missing = append(missing, "Address")
		}
	}
	if g := ref(form, "ProductMainGroup"); g == nil || g["Id"] == nil {
		missing = append(missing, "ProductMainGroup")
	}
	if len(missing) > 0 {
		return "Zorunlu alanlar eksik: " + strings.Join(missing, ", ")
	}

	if a, ok := form["AppointmentDateTimeAsString"]; ok && a != nil {
		as, _ := a.(string)
		if _, err := time.Parse(appointmentL, as); err != nil {
			return fmt.Sprintf("Randevu tarihi geçersiz: '%s' (gg.aa.yyyy ss:dd bekleniyor).", as)
		}
	}
	for i, c := range cust["ContactInfos"].([]any) {
		ci, _ := c.(map[string]any)
		if ci == nil || !threeDigits.MatchString(str(ci, "Prefix")) || !sevenDigits.MatchString(str(ci, "Content")) {
			return fmt.Sprintf("İletişim bilgisi %d geçersiz: alan kodu 3, numara 7 haneli olmalıdır.", i+1)
		}
		if _, ok := intField(ref(ci, "ContactInfoType"), "Id"); !ok {
			return fmt.Sprintf("İletişim bilgisi %d için iletişim tipi seçilmelidir.", i+1)
		}
	}
	addr, _ := cust["Addresses"].([]any)[0].(map[string]any)
	if addr == nil {
		return "Adres bilgisi geçersiz."
	}
	cityID, cok := ref(addr, "City")["Id"].(string) // the doc sends ids of cities and districts as strings
	city, err := strconv.Atoi(cityID)
	if !cok || err != nil || city < 1 || city >= len(cities) {
		return fmt.Sprintf("İl bulunamadı: %v", ref(addr, "City")["Id"])
	}
	distID, dok := ref(addr, "District")["Id"].(string)
	dist, err := strconv.Atoi(distID)
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	if !dok || err != nil || !hasItem(st.districts[city], dist) {
		return fmt.Sprintf("İlçe bulunamadı: %v (il %s)", ref(addr, "District")["Id"], cityID)
	}
	gid, gok := ref(form, "ProductMainGroup")["Id"].(float64) // a number in the doc
	if !gok || gid != float64(int(gid)) || !hasItem(st.mainGroups, int(gid)) {
		return fmt.Sprintf("Ürün ana grubu bulunamadı: %v", ref(form, "ProductMainGroup")["Id"])
	}
	return ""
}

func hasItem(items []Item, id int) bool {
	for _, it := range items {
		if it.ID == id && it.IsActive {
			return true
		}
	}
	return false
}
