package licrus

import (
	"fmt"
	"sync"
	"time"
)

// Lookup service names, the keys of LookupCalls.
const (
	LookupCities     = "City/GetAll"
	LookupDistricts  = "District/GetByCityId"
	LookupMainGroups = "ProductGroup/GetMainGroups"
)

// Item is one Results entry of a lookup service. Ids are JSON numbers, as Licrus's city list shows.
type Item struct {
	ID       int    `json:"Id"`
	Text     string `json:"Text"`
	Code     string `json:"Code"`
	IsActive bool   `json:"IsActive"`
}

// Form is one accepted OperationForms/ServiceForm/Create request.
type Form struct {
	Number int
	Body   map[string]any // the decoded request, AuthTicket removed
	Raw    []byte         // the request bytes as received
	At     time.Time
}

// formState is the first-start part of a Sim: lookup data, counters and accepted forms.
type formState struct {
	mu         sync.Mutex
	districts  map[int][]Item // by city id
	mainGroups []Item
	lookups    map[string]int
	forms      []Form
	next       int
	message    func(formNumber int) []Message
}

func newFormState() *formState {
	return &formState{districts: seedDistricts(), mainGroups: seedMainGroups(), lookups: map[string]int{}, next: 100001}
}

// forms returns s's first-start state.
func (s *Sim) forms() *formState { return s.fs }

// SetDistricts replaces the districts of the city with id cityID (nil removes them).
func (s *Sim) SetDistricts(cityID int, ds []Item) {
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	if ds == nil {
		delete(st.districts, cityID)
		return
	}
	st.districts[cityID] = append([]Item(nil), ds...)
}

// SetMainGroups replaces the product main groups.
func (s *Sim) SetMainGroups(gs []Item) {
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.mainGroups = append([]Item(nil), gs...)
}

// LookupCalls counts the requests that reached the lookup service named service (LookupCities,
// LookupDistricts, LookupMainGroups), faults included.
func (s *Sim) LookupCalls(service string) int {
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lookups[service]
}

// Forms returns a copy of every accepted service form, in order.
func (s *Sim) Forms() []Form {
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Form(nil), st.forms...)
}

// SetFormMessages replaces the messages of a successful ServiceForm/Create (to test other wordings,
// NFD, warnings, or no number at all); nil restores the default single Info message.
func (s *Sim) SetFormMessages(f func(formNumber int) []Message) {
	st := s.forms()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.message = f
}

// FormMessage is the default success text. The doc prints none; this wording is the simulator's.
func FormMessage(n int) string {
	return fmt.Sprintf("İlk çalıştırma formu oluşturulmuştur. Form numarası: %d", n)
}
