// Package dia simulates the DİA web-service API v3 as far as Köprü uses it: login and logout
// (/sis/json), scf_carikart_ekle, gts_notlar_ekle and `<table>_listele` (e.g. scf_carikart_listele),
// with sessions that expire after an idle time, credits (kontör) that can run out, combo and `_key_`
// link validation with the vendor doc's error texts, and fault injection through sim.Faults.
//
// What comes from the vendor's doc (api-docs/erp-ekle-insert-services.txt, NOTES.md §4) and what is
// this simulator's own choice is marked on each behaviour below; the choices are where the doc is
// silent, and the adapter must not depend on their exact wording.
package dia

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

// User is a DİA user that may log in.
type User struct {
	Username string
	Password string
	APIKey   string
}

// TaxOffice is one sis_vergidairesi record.
type TaxOffice struct {
	Kod string
	Adi string
}

// Options configure a Sim. The zero value is usable: no users (every login fails with NOUSER), firma 34
// and donem 1 (the doc's example), sessions idle out after one hour, unlimited credits.
type Options struct {
	Users     []User
	FirmaKodu int // 0 means 34
	DonemKodu int // 0 means 1
	// SessionIdle is how long a session lives after its last call (DİA: one hour). 0 means 1 h.
	SessionIdle time.Duration
	// Credits is the initial number of credits (kontör); every ekle/listele call costs one, login and
	// logout are free. 0 means unlimited; SetCredits(0) runs them out.
	Credits int
	// TaxOffices seed sis_vergidairesi (fields kod, adi).
	TaxOffices []TaxOffice
	// Kullanicilar seed sis_kullanici (field kullaniciadi); every User is added too.
	Kullanicilar []string
	// ServiceForms seed shy_servisformu (field fisno).
	ServiceForms []string
	// SessionErrorStatus is the HTTP status sent with a session error body; 0 means 200 (the error is in
	// the body only). Whether DİA also uses HTTP 419 is unconfirmed, so tests try both.
	SessionErrorStatus int
	// DuplicateCode is the body code of a scf_carikart_ekle whose carikartkodu exists. "" means "501"
	// (a public third-party integration reads DİA's 501 as "card already exists"; unconfirmed).
	DuplicateCode string
	// NewSessionID makes session ids; nil means 32 random hex digits (the doc's example's shape).
	NewSessionID func() string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record is one stored row: its _key and fields. Link fields hold the resolved numeric key.
type Record struct {
	Key    int
	Fields map[string]any
}

// Request is one ekle/listele request the simulator received (login and logout are not kept: they
// carry the password).
type Request struct {
	Module  string
	Service string
	Body    []byte
}

// Sim is the simulator. Faults is consulted for every ekle/listele request (not login/logout): a Status
// fault answers before acting, VendorError ("419" or "500: text") answers that body code before acting,
// HangAfterAct/ResetAfterAct act and then hang or reset. Safe for concurrent use.
type Sim struct {
	Faults sim.Faults

	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	nextKey   int
	tables    map[string][]*Record
	sessions  map[string]*session
	credits   int
	unlimited bool
	logins    int
	logouts   int
	ekles     int
	lists     int
	requests  []Request
}

type session struct {
	user string
	last time.Time
}

// Table names the simulator knows.
const (
	TableCariKart   = "scf_carikart"
	TableNotlar     = "gts_notlar"
	TableVergiDaire = "sis_vergidairesi"
	TableKullanici  = "sis_kullanici"
	TableServisForm = "shy_servisformu"
)

// New returns a simulator for opts.
func New(opts Options) *Sim {
	if opts.FirmaKodu == 0 {
		opts.FirmaKodu = 34
	}
	if opts.DonemKodu == 0 {
		opts.DonemKodu = 1
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = time.Hour
	}
	if opts.DuplicateCode == "" {
		opts.DuplicateCode = "501"
	}
	if opts.NewSessionID == nil {
		opts.NewSessionID = randomID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:      opts,
		nextKey:   1000,
		tables:    map[string][]*Record{},
		sessions:  map[string]*session{},
		credits:   opts.Credits,
		unlimited: opts.Credits == 0,
	}
	for _, t := range opts.TaxOffices {
		s.addLocked(TableVergiDaire, map[string]any{"kod": t.Kod, "adi": t.Adi})
	}
	seen := map[string]bool{}
	for _, u := range opts.Kullanicilar {
		if !seen[u] {
			seen[u] = true
			s.addLocked(TableKullanici, map[string]any{"kullaniciadi": u})
		}
	}
	for _, u := range opts.Users {
		if !seen[u.Username] {
			seen[u.Username] = true
			s.addLocked(TableKullanici, map[string]any{"kullaniciadi": u.Username})
		}
	}
	for _, f := range opts.ServiceForms {
		s.addLocked(TableServisForm, map[string]any{"fisno": f})
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /api/v3/{module}/json", s.handle)
	return s
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ServeHTTP serves POST /api/v3/{module}/json.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetCredits sets the remaining credits; n < 0 makes them unlimited. With 0 every ekle/listele answers
// {"code":"406"}.
func (s *Sim) SetCredits(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credits, s.unlimited = n, n < 0
}

// Credits returns the remaining credits and whether they are unlimited.
func (s *Sim) Credits() (n int, unlimited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credits, s.unlimited
}

// ExpireSessions ends every session as if it had idled out: the next call with it answers 419.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-2 * s.opts.SessionIdle)
	for _, ss := range s.sessions {
		ss.last = past
	}
}

// Sessions returns the number of sessions that have not logged out or been dropped.
func (s *Sim) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// AddRecord stores a record in table (e.g. an existing scf_carikart) and returns its key.
func (s *Sim) AddRecord(table string, fields map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(table, fields)
}

func (s *Sim) addLocked(table string, fields map[string]any) int {
	s.nextKey++
	cp := make(map[string]any, len(fields))
	for k, v := range fields {
		cp[k] = v
	}
	s.tables[table] = append(s.tables[table], &Record{Key: s.nextKey, Fields: cp})
	return s.nextKey
}

// Cards returns the customer cards (scf_carikart) in insertion order, seeded ones included.
func (s *Sim) Cards() []Record { return s.records(TableCariKart) }

// Notes returns the inserted notes (gts_notlar).
func (s *Sim) Notes() []Record { return s.records(TableNotlar) }

func (s *Sim) records(table string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.tables[table]))
	for _, r := range s.tables[table] {
		out = append(out, Record{Key: r.Key, Fields: deepCopy(r.Fields).(map[string]any)})
	}
	return out
}

// Logins counts login requests, refused ones included.
func (s *Sim) Logins() int { s.mu.Lock(); defer s.mu.Unlock(); return s.logins }

// Logouts counts logout requests.
func (s *Sim) Logouts() int { s.mu.Lock(); defer s.mu.Unlock(); return s.logouts }

// EkleCalls counts _ekle requests that reached the simulator, whatever their answer.
func (s *Sim) EkleCalls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.ekles }

// ListCalls counts _listele requests that reached the simulator, whatever their answer.
func (s *Sim) ListCalls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.lists }

// Requests returns the ekle/listele request bodies received, in order.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// answer is a DİA body. Codes are strings, as on the wire.
type answer struct {
	Code   string `json:"code"`
	Msg    string `json:"msg"`
	Key    string `json:"key,omitempty"`
	Result any    `json:"result,omitempty"`
}

func write(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func fail(code, msg string) answer { return answer{Code: code, Msg: msg} }

func (s *Sim) handle(w http.ResponseWriter, r *http.Request) {
	module := r.PathValue("module")
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil || len(outer) != 1 {
		// Simulator's choice: DİA's answer to a malformed body is not documented.
		write(w, http.StatusOK, fail("400", "Geçersiz istek: tek bir servis adı içeren JSON bekleniyor"))
		return
	}
	var service string
	var inner json.RawMessage
	for k, v := range outer {
		service, inner = k, v
	}
	switch service {
	case "login":
		s.login(w, module, inner)
		return
	case "logout":
		s.logout(w, module, inner)
		return
	}
	prefix, _, _ := strings.Cut(service, "_")
	if prefix != module {
		write(w, http.StatusOK, fail("400", fmt.Sprintf("Servis bu modülde bulunamadı (%s → /%s/json)", service, module)))
		return
	}
	isEkle, isList := strings.HasSuffix(service, "_ekle"), strings.HasSuffix(service, "_listele")
	if !isEkle && !isList {
		write(w, http.StatusOK, fail("400", "Servis bulunamadı: "+service))
		return
	}

	s.mu.Lock()
	if isEkle {
		s.ekles++
	} else {
		s.lists++
	}
	s.requests = append(s.requests, Request{Module: module, Service: service, Body: body})
	s.mu.Unlock()

	ft := s.Faults.Next()
	if sim.Before(w, r, ft) {
		return
	}
	if ft.VendorError != "" {
		code, msg, _ := strings.Cut(ft.VendorError, ":")
		write(w, http.StatusOK, fail(strings.TrimSpace(code), strings.TrimSpace(msg)))
		return
	}

	var p struct {
		SessionID string         `json:"session_id"`
		FirmaKodu json.Number    `json:"firma_kodu"`
		DonemKodu json.Number    `json:"donem_kodu"`
		Kart      map[string]any `json:"kart"`
		Filters   []filter       `json:"filters"`
		Limit     int            `json:"limit"`
		Offset    int            `json:"offset"`
	}
	dec := json.NewDecoder(strings.NewReader(string(inner)))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		write(w, http.StatusOK, fail("400", "Geçersiz parametreler: "+err.Error()))
		return
	}

	s.mu.Lock()
	status, a, done := s.checkLocked(p.SessionID, p.FirmaKodu, p.DonemKodu)
	if done {
		s.mu.Unlock()
		write(w, status, a)
		return
	}
	user := s.sessions[p.SessionID].user
	switch {
	case service == "scf_carikart_ekle":
		a = s.cariKartEkleLocked(user, p.Kart)
	case service == "gts_notlar_ekle":
		a = s.notEkleLocked(user, p.Kart)
	case isList:
		a = s.listLocked(strings.TrimSuffix(service, "_listele"), p.Filters, p.Limit, p.Offset)
	default:
		a = fail("400", "Servis bulunamadı: "+service)
	}
	s.mu.Unlock()

	if sim.After(w, r, ft) {
		return
	}
	write(w, http.StatusOK, a)
}

// checkLocked validates session, company, period and credits, and charges one credit. done says the
// answer is final.
func (s *Sim) checkLocked(sid string, firma, donem json.Number) (status int, a answer, done bool) {
	ss, ok := s.sessions[sid]
	now := s.opts.Now()
	sessionStatus := http.StatusOK
	if s.opts.SessionErrorStatus != 0 {
		sessionStatus = s.opts.SessionErrorStatus
	}
	switch {
	case !ok:
		// NOTES.md: a wrong session shows as INVALID_SESSION in msg. The code is our choice.
		return sessionStatus, fail("401", "INVALID_SESSION"), true
	case now.Sub(ss.last) > s.opts.SessionIdle:
		// NOTES.md: 419 is "login timeout"; a session lives one hour after its last call.
		delete(s.sessions, sid)
		return sessionStatus, fail("419", "INVALID_SESSION"), true
	}
	ss.last = now
	if firma.String() != strconv.Itoa(s.opts.FirmaKodu) || donem.String() != strconv.Itoa(s.opts.DonemKodu) {
		return http.StatusOK, fail("400", fmt.Sprintf("Firma/dönem bulunamadı (firma_kodu %s, donem_kodu %s)", firma, donem)), true
	}
	if !s.unlimited {
		if s.credits <= 0 {
			// NOTES.md: 406 is "not enough credits". The text is our choice.
			return http.StatusOK, fail("406", "Yetersiz kontör"), true
		}
		s.credits--
	}
	return 0, answer{}, false
}

func (s *Sim) login(w http.ResponseWriter, module string, inner json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins++
	if module != "sis" {
		write(w, http.StatusOK, fail("400", "login yalnızca /sis/json üzerinden yapılır"))
		return
	}
	var l struct {
		Username           string `json:"username"`
		Password           string `json:"password"`
		DisconnectSameUser string `json:"disconnect_same_user"`
		Params             struct {
			APIKey string `json:"apikey"`
		} `json:"params"`
	}
	if err := json.Unmarshal(inner, &l); err != nil {
		write(w, http.StatusOK, fail("400", "Geçersiz login parametreleri"))
		return
	}
	var found *User
	for i := range s.opts.Users {
		u := &s.opts.Users[i]
		if u.Username == l.Username && u.Password == l.Password && u.APIKey == l.Params.APIKey {
			found = u
		}
	}
	if found == nil {
		// NOTES.md: {"code":"401","msg":"NOUSER"}. The simulator gives it for any wrong credential.
		write(w, http.StatusOK, fail("401", "NOUSER"))
		return
	}
	if strings.EqualFold(l.DisconnectSameUser, "true") {
		for id, ss := range s.sessions {
			if ss.user == found.Username {
				delete(s.sessions, id)
			}
		}
	}
	id := s.opts.NewSessionID()
	s.sessions[id] = &session{user: found.Username, last: s.opts.Now()}
	write(w, http.StatusOK, answer{Code: "200", Msg: id})
}

func (s *Sim) logout(w http.ResponseWriter, module string, inner json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logouts++
	var l struct {
		SessionID string `json:"session_id"`
	}
	_ = json.Unmarshal(inner, &l)
	delete(s.sessions, l.SessionID)
	write(w, http.StatusOK, answer{Code: "200", Msg: ""})
}

// combos are the combo fields the simulator checks. carikarttipi: only AL is in the doc (as the
// default); SAT and AS follow the adapter's assumption. harcananzamanturu: only D is in the doc.
var combos = map[string]map[string][]string{
	"scf_carikart": {"carikarttipi": {"AL", "SAT", "AS"}},
	"gts_notlar":   {"harcananzamanturu": {"D", "S", "G"}},
}

// validateLocked checks combos and resolves `_key_` links (recursively in m_ sub-model lists), in place.
func (s *Sim) validateLocked(table string, kart map[string]any) (answer, bool) {
	for field, allowed := range combos[table] {
		v, ok := kart[field]
		if !ok || v == nil {
			continue
		}
		txt := fmt.Sprint(v)
		good := false
		for _, a := range allowed {
			good = good || txt == a
		}
		if !good {
			// The doc: {'code': '400', 'msg': 'Kombo değeri geçersiz (stokkartturu -> Ticari Mal)'}
			return fail("400", fmt.Sprintf("Kombo değeri geçersiz (%s -> %s)", field, txt)), false
		}
	}
	return s.resolveLinksLocked(kart)
}

func (s *Sim) resolveLinksLocked(kart map[string]any) (answer, bool) {
	for _, field := range sortedKeys(kart) {
		v := kart[field]
		switch {
		case strings.HasPrefix(field, "_key_"):
			key, a, ok := s.resolveLocked(strings.TrimPrefix(field, "_key_"), field, v)
			if !ok {
				return a, false
			}
			kart[field] = key
		case strings.HasPrefix(field, "m_"):
			list, ok := v.([]any)
			if !ok {
				if v == nil {
					continue
				}
				return fail("400", fmt.Sprintf("Alt model liste olmalıdır (%s)", field)), false
			}
			for _, item := range list {
				sub, ok := item.(map[string]any)
				if !ok {
					return fail("400", fmt.Sprintf("Alt model kaydı nesne olmalıdır (%s)", field)), false
				}
				if a, ok := s.resolveLinksLocked(sub); !ok {
					return a, false
				}
			}
		}
	}
	return answer{}, true
}

// resolveLocked resolves one link value: null or 0 is "no link"; a number must be an existing _key;
// an object is a filter that must match exactly one record (the doc's rules and texts).
func (s *Sim) resolveLocked(table, field string, v any) (int, answer, bool) {
	notFound := func(filter string) answer {
		return fail("400", fmt.Sprintf("Kayıt bulunamadı (%s → %s)", table, filter))
	}
	switch x := v.(type) {
	case nil:
		return 0, answer{}, true
	case json.Number, string:
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(x)))
		if err != nil {
			return 0, fail("400", fmt.Sprintf("Bağlantı alanı sayı veya filtre olmalıdır (%s -> %v)", field, x)), false
		}
		if n == 0 {
			return 0, answer{}, true
		}
		for _, r := range s.tables[table] {
			if r.Key == n {
				return n, answer{}, true
			}
		}
		return 0, notFound(fmt.Sprintf("{'_key': %d}", n)), false
	case map[string]any:
		if len(x) == 0 {
			return 0, notFound("{}"), false
		}
		var hits []int
		for _, r := range s.tables[table] {
			if matches(r, x) {
				hits = append(hits, r.Key)
			}
		}
		switch len(hits) {
		case 0:
			return 0, notFound(pyRepr(x)), false
		case 1:
			return hits[0], answer{}, true
		default:
			return 0, fail("400", "Kritere uygun birden fazla kayıt var!"), false
		}
	default:
		return 0, fail("400", fmt.Sprintf("Bağlantı alanı sayı veya filtre olmalıdır (%s)", field)), false
	}
}

func matches(r *Record, filter map[string]any) bool {
	for k, want := range filter {
		var have any
		if k == "_key" {
			have = r.Key
		} else {
			have = r.Fields[k]
		}
		if have == nil || fmt.Sprint(have) != fmt.Sprint(want) {
			return false
		}
	}
	return true
}

// pyRepr prints a filter the way the doc's messages do: {'kod': 'X', 'n': 1}.
func pyRepr(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		if s, ok := v.(string); ok {
			parts = append(parts, fmt.Sprintf("'%s': '%s'", k, s))
		} else {
			parts = append(parts, fmt.Sprintf("'%s': %v", k, v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (s *Sim) cariKartEkleLocked(user string, kart map[string]any) answer {
	if kart == nil {
		return fail("400", "kart bilgisi girilmelidir!")
	}
	code := strings.TrimSpace(fmt.Sprint(kart["carikartkodu"]))
	if kart["carikartkodu"] == nil || code == "" {
		// The doc: carikartkodu is required. The text is our choice.
		return fail("400", "carikartkodu alanı zorunludur!")
	}
	if n := len([]rune(code)); n > 30 {
		return fail("400", fmt.Sprintf("carikartkodu en fazla 30 karakter olabilir (%d)", n))
	}
	for _, r := range s.tables[TableCariKart] {
		if fmt.Sprint(r.Fields["carikartkodu"]) == code {
			return fail(s.opts.DuplicateCode, fmt.Sprintf("Bu cari kart kodu zaten kullanılıyor (%s)", code))
		}
	}
	kart = deepCopy(kart).(map[string]any)
	if a, ok := s.validateLocked(TableCariKart, kart); !ok {
		return a
	}
	if _, ok := kart["carikarttipi"]; !ok {
		kart["carikarttipi"] = "AL" // the doc: the default is 'AL (Alıcı)'
	}
	key := s.addLocked(TableCariKart, kart)
	return answer{Code: "200", Key: strconv.Itoa(key),
		Msg: fmt.Sprintf("[%s] «%s» kodlu «Cari Kart» eklenmiştir.", user, code)}
}

func (s *Sim) notEkleLocked(user string, kart map[string]any) answer {
	if kart == nil {
		return fail("400", "kart bilgisi girilmelidir!")
	}
	kart = deepCopy(kart).(map[string]any)
	if a, ok := s.validateLocked(TableNotlar, kart); !ok {
		return a
	}
	tarih := fmt.Sprint(kart["tarih"])
	if kart["tarih"] == nil {
		tarih = s.opts.Now().Format(time.DateOnly)
		kart["tarih"] = tarih
	} else if _, err := time.Parse(time.DateOnly, tarih); err != nil {
		return fail("400", fmt.Sprintf("Geçersiz tarih (tarih -> %s)", tarih))
	}
	key := s.addLocked(TableNotlar, kart)
	// The doc's answer: '[ws] «2017-03-25» tarihli «Görev Notu» eklenmiştir.'
	return answer{Code: "200", Key: strconv.Itoa(key),
		Msg: fmt.Sprintf("[%s] «%s» tarihli «Görev Notu» eklenmiştir.", user, tarih)}
}

type filter struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// listLocked answers <table>_listele: records matching every filter (operator "=" only), after offset,
// at most limit (0: all), each with its _key, as {"code":"200","result":[…]}.
func (s *Sim) listLocked(table string, filters []filter, limit, offset int) answer {
	if _, known := s.tables[table]; !known && table != TableCariKart && table != TableNotlar {
		return fail("400", "Servis bulunamadı: "+table+"_listele")
	}
	out := []map[string]any{}
	skipped := 0
	for _, r := range s.tables[table] {
		ok := true
		for _, f := range filters {
			if f.Operator != "=" && f.Operator != "" {
				return fail("400", fmt.Sprintf("Desteklenmeyen operatör (%s)", f.Operator))
			}
			if !matches(r, map[string]any{f.Field: f.Value}) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		rec := deepCopy(r.Fields).(map[string]any)
		rec["_key"] = r.Key
		out = append(out, rec)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return answer{Code: "200", Msg: "", Result: out}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}
