// Package licrus simulates the Licrus API as its docs describe it (api-docs/licrus-*.md/txt): JSON over
// POST, every answer HTTP 200 with HasError/MessageList, a static AuthTicket, call numbers only inside the
// Turkish message text. It records every request it accepted and injects faults on demand.
package licrus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

// Message types. The doc names Error, Info and Warning but gives no numbers; the success example shows
// Type 2, so the simulator uses 2 for Info and picks 1 for Error and 3 for Warning.
const (
	TypeError   = 1
	TypeInfo    = 2
	TypeWarning = 3
)

// Call is one accepted ExternalCall/Create request.
type Call struct {
	Number int
	Body   map[string]any // the decoded request, AuthTicket removed
	Raw    []byte         // the request bytes as received
	Header http.Header    // the request headers (traceparent…)
	At     time.Time
}

// Sim is the Licrus simulator. Mount it at the server root: the API lives under /api. Safe for
// concurrent use.
type Sim struct {
	Faults sim.Faults

	ticket string
	mux    *http.ServeMux

	mu       sync.Mutex
	next     int
	calls    []Call
	requests int
	message  func(n int) string

	fs *formState // first-start forms and lookups (firststart.go)
}

// New returns a simulator that accepts only authTicket. Call numbers start at 43090, as in the doc.
func New(authTicket string) *Sim {
	s := &Sim{ticket: authTicket, next: 43090, mux: http.NewServeMux(), fs: newFormState()}
	s.mux.HandleFunc("POST /api/ExternalCall/Create", s.externalCallCreate)
	s.mux.HandleFunc("POST /api/address/City/GetAll", s.cityGetAll)
	s.mux.HandleFunc("POST /api/address/District/GetByCityId", s.districtGetByCityID)
	s.mux.HandleFunc("POST /api/ProductCatalog/ProductGroup/GetMainGroups", s.productGroupGetMainGroups)
	s.mux.HandleFunc("POST /api/OperationForms/ServiceForm/Create", s.serviceFormCreate)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetMessage replaces the success message text (to test NFD, spacing and case); nil restores the doc's.
func (s *Sim) SetMessage(f func(callNumber int) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.message = f
}

// Calls returns a copy of every accepted call, in order.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount is len(Calls()).
func (s *Sim) CallCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Requests counts every request that reached a handler, faults included.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Response is the Licrus answer envelope.
type Response struct {
	Results     []any     `json:"Results"`
	Entity      any       `json:"Entity"`
	HasResult   bool      `json:"HasResult"`
	Count       int       `json:"Count"`
	TotalCount  int       `json:"TotalCount"`
	ID          int       `json:"Id"`
	Meta        any       `json:"Meta"`
	MessageList []Message `json:"MessageList"`
	HasError    bool      `json:"HasError"`
	HasMessage  bool      `json:"HasMessage"`
	RrpTag      any       `json:"RrpTag"`
}

// Message is one MessageList entry.
type Message struct {
	Type    int    `json:"Type"`
	Message string `json:"Message"`
}

// WriteError answers HTTP 200 with HasError and one Error message, as Licrus does.
func WriteError(w http.ResponseWriter, msg string) {
	WriteJSON(w, Response{Results: []any{}, MessageList: []Message{{Type: TypeError, Message: msg}}, HasError: true, HasMessage: true})
}

// WriteJSON answers HTTP 200 with v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// Begin counts the request, applies the before-act part of the next fault and checks the AuthTicket in
// body. It reports whether the handler should go on (false: an answer was already written). The fault
// is returned so the handler can apply its after-act part.
func (s *Sim) Begin(w http.ResponseWriter, r *http.Request, body map[string]any) (sim.Fault, bool) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	ft := s.Faults.Next()
	if sim.Before(w, r, ft) {
		return ft, false
	}
	if ft.VendorError != "" {
		WriteError(w, ft.VendorError)
		return ft, false
	}
	if t, _ := body["AuthTicket"].(string); t == "" || t != s.ticket {
		WriteError(w, "Geçersiz AuthTicket. Lütfen oturum bilgilerinizi kontrol ediniz.")
		return ft, false
	}
	return ft, true
}

// DecodeBody reads a JSON object; on failure it answers like Licrus and returns nil.
func DecodeBody(w http.ResponseWriter, r *http.Request) (map[string]any, []byte) {
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil {
		WriteError(w, "İstek okunamadı: geçersiz JSON.")
		return nil, nil
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		WriteError(w, "İstek okunamadı: bir JSON nesnesi bekleniyor.")
		return nil, nil
	}
	return body, raw
}

var externalCallRequired = []string{"CustomerFullName", "CustomerMobilePhone", "CustomerCity", "CustomerDistrict",
	"CustomerAddress", "ProductGroupName", "ProductSerialNumberList"}

func (s *Sim) externalCallCreate(w http.ResponseWriter, r *http.Request) {
	body, raw := DecodeBody(w, r)
	if body == nil {
		return
	}
	ft, ok := s.Begin(w, r, body)
	if !ok {
		return
	}
	var missing []string
	for _, f := range externalCallRequired {
		if v, _ := body[f].(string); strings.TrimSpace(v) == "" {
			missing = append(missing, f)
		}
	}
	if n, ok := body["DeviceCount"].(float64); !ok || n < 1 || n != float64(int(n)) {
		missing = append(missing, "DeviceCount")
	}
	if len(missing) > 0 {
		WriteError(w, "Zorunlu alanlar eksik: "+strings.Join(missing, ", "))
		return
	}
	delete(body, "AuthTicket")

	s.mu.Lock()
	n := s.next
	s.next++
	s.calls = append(s.calls, Call{Number: n, Body: body, Raw: raw, Header: r.Header.Clone(), At: time.Now()})
	msgf := s.message
	s.mu.Unlock()

	if sim.After(w, r, ft) {
		return
	}
	text := fmt.Sprintf("Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: %d", n)
	if msgf != nil {
		text = msgf(n)
	}
	WriteJSON(w, Response{Results: []any{}, MessageList: []Message{{Type: TypeInfo, Message: text}}, HasMessage: true})
}
