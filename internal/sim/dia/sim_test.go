package dia

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

type reply struct {
	Code   string           `json:"code"`
	Msg    string           `json:"msg"`
	Key    string           `json:"key"`
	Result []map[string]any `json:"result"`
}

func post(t testing.TB, url, module string, body any) (int, reply) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/api/v3/"+module+"/json", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, r
}

func login(t testing.TB, url string) string {
	t.Helper()
	_, r := post(t, url, "sis", map[string]any{"login": map[string]any{
		"username": "ws", "password": "pw", "disconnect_same_user": "False", "params": map[string]any{"apikey": "k"}}})
	if r.Code != "200" || r.Msg == "" {
		t.Fatalf("login: %+v", r)
	}
	return r.Msg
}

func call(sid, service string, extra map[string]any) map[string]any {
	p := map[string]any{"session_id": sid, "firma_kodu": 34, "donem_kodu": 1}
	for k, v := range extra {
		p[k] = v
	}
	return map[string]any{service: p}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newSim(t testing.TB, mod func(*Options)) (*Sim, string, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2017, 3, 25, 15, 55, 18, 0, time.UTC)}
	o := Options{
		Users:        []User{{Username: "ws", Password: "pw", APIKey: "k"}},
		TaxOffices:   []TaxOffice{{Kod: "ÇANKAYA VERGİ DAİRESİ", Adi: "ÇANKAYA"}, {Kod: "A", Adi: "DUP"}, {Kod: "B", Adi: "DUP"}},
		ServiceForms: []string{"000009"},
		Now:          clk.now,
	}
	if mod != nil {
		mod(&o)
	}
	s := New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL, clk
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name, user, pw, key, code, msg string
	}{
		{"ok", "ws", "pw", "k", "200", ""},
		{"unknown user", "x", "pw", "k", "401", "NOUSER"},
		{"wrong password", "ws", "no", "k", "401", "NOUSER"},
		{"wrong api key", "ws", "pw", "no", "401", "NOUSER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, url, _ := newSim(t, nil)
			_, r := post(t, url, "sis", map[string]any{"login": map[string]any{
				"username": tc.user, "password": tc.pw, "disconnect_same_user": "True", "params": map[string]any{"apikey": tc.key}}})
			if r.Code != tc.code || (tc.msg != "" && r.Msg != tc.msg) {
				t.Fatalf("got %+v", r)
			}
			if s.Logins() != 1 {
				t.Fatalf("logins = %d", s.Logins())
			}
		})
	}
}

func TestEkleAndListele(t *testing.T) {
	card := func(extra map[string]any) map[string]any {
		k := map[string]any{"carikartkodu": "C1", "unvan": "Acme"}
		for a, b := range extra {
			k[a] = b
		}
		return map[string]any{"kart": k}
	}
	tests := []struct {
		name    string
		module  string
		service string
		params  map[string]any
		code    string
		msg     string
	}{
		{"card ok", "scf", "scf_carikart_ekle", card(map[string]any{"carikarttipi": "AS", "_key_sis_vergidairesi": map[string]any{"kod": "ÇANKAYA VERGİ DAİRESİ"}}), "200", "«C1» kodlu «Cari Kart» eklenmiştir."},
		{"bad combo", "scf", "scf_carikart_ekle", card(map[string]any{"carikarttipi": "Alıcı"}), "400", "Kombo değeri geçersiz (carikarttipi -> Alıcı)"},
		{"key not found", "scf", "scf_carikart_ekle", card(map[string]any{"_key_sis_vergidairesi": 123}), "400", "Kayıt bulunamadı (sis_vergidairesi → {'_key': 123})"},
		{"filter not found", "scf", "scf_carikart_ekle", card(map[string]any{"_key_sis_vergidairesi": map[string]any{"kod": "YOK"}}), "400", "Kayıt bulunamadı (sis_vergidairesi → {'kod': 'YOK'})"},
		{"several match", "scf", "scf_carikart_ekle", card(map[string]any{"_key_sis_vergidairesi": map[string]any{"adi": "DUP"}}), "400", "Kritere uygun birden fazla kayıt var!"},
		{"link in sub-model", "scf", "scf_carikart_ekle", card(map[string]any{"m_adresler": []any{map[string]any{"_key_sis_ulkeler": 7}}}), "400", "Kayıt bulunamadı (sis_ulkeler → {'_key': 7})"},
		{"zero link is none", "scf", "scf_carikart_ekle", card(map[string]any{"_key_sis_ozelkod1": 0, "_key_x": nil}), "200", ""},
		{"code required", "scf", "scf_carikart_ekle", map[string]any{"kart": map[string]any{"unvan": "x"}}, "400", "carikartkodu"},
		{"wrong module", "gts", "scf_carikart_ekle", card(nil), "400", "modülde"},
		{"note to unknown card", "gts", "gts_notlar_ekle", map[string]any{"kart": map[string]any{"_key_scf_carikart": map[string]any{"carikartkodu": "NONE"}, "tarih": "2017-03-25"}}, "400", "Kayıt bulunamadı (scf_carikart → {'carikartkodu': 'NONE'})"},
		{"note ok", "gts", "gts_notlar_ekle", map[string]any{"kart": map[string]any{"_key_sis_kullanici": map[string]any{"kullaniciadi": "ws"}, "_key_shy_servisformu": map[string]any{"fisno": "000009"}, "tarih": "2017-03-25", "harcananzamanturu": "D"}}, "200", "[ws] «2017-03-25» tarihli «Görev Notu» eklenmiştir."},
		{"note bad unit", "gts", "gts_notlar_ekle", map[string]any{"kart": map[string]any{"tarih": "2017-03-25", "harcananzamanturu": "Dakika"}}, "400", "Kombo değeri geçersiz (harcananzamanturu -> Dakika)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, url, _ := newSim(t, nil)
			sid := login(t, url)
			_, r := post(t, url, tc.module, call(sid, tc.service, tc.params))
			if r.Code != tc.code || !strings.Contains(r.Msg, tc.msg) {
				t.Fatalf("got %+v, want code %s msg ~ %q", r, tc.code, tc.msg)
			}
			if tc.code == "200" && r.Key == "" {
				t.Fatal("no key")
			}
			want := 1
			if tc.module != strings.Split(tc.service, "_")[0] {
				want = 0 // refused before it counts as a call
			}
			if s.EkleCalls() != want {
				t.Fatalf("ekle calls = %d", s.EkleCalls())
			}
		})
	}
}

func TestCardUniqueAndListed(t *testing.T) {
	s, url, _ := newSim(t, nil)
	sid := login(t, url)
	ekle := call(sid, "scf_carikart_ekle", map[string]any{"kart": map[string]any{"carikartkodu": "C1"}})
	_, r1 := post(t, url, "scf", ekle)
	_, r2 := post(t, url, "scf", ekle)
	if r1.Code != "200" || r2.Code != "501" {
		t.Fatalf("first %+v, second %+v", r1, r2)
	}
	_, l := post(t, url, "scf", call(sid, "scf_carikart_listele", map[string]any{
		"filters": []any{map[string]any{"field": "carikartkodu", "operator": "=", "value": "C1"}}, "limit": 1}))
	if l.Code != "200" || len(l.Result) != 1 || l.Result[0]["carikartkodu"] != "C1" {
		t.Fatalf("list: %+v", l)
	}
	if got := l.Result[0]["_key"]; got != json.Number(r1.Key) && got != float64(mustAtoi(t, r1.Key)) {
		t.Fatalf("_key %v, want %s", got, r1.Key)
	}
	_, none := post(t, url, "scf", call(sid, "scf_carikart_listele", map[string]any{
		"filters": []any{map[string]any{"field": "carikartkodu", "operator": "=", "value": "C2"}}}))
	if none.Code != "200" || len(none.Result) != 0 {
		t.Fatalf("list none: %+v", none)
	}
	if len(s.Cards()) != 1 || s.Cards()[0].Fields["carikarttipi"] != "AL" {
		t.Fatalf("cards %+v", s.Cards())
	}
	// A note links to the card by carikartkodu; the stored link is its key.
	_, n := post(t, url, "gts", call(sid, "gts_notlar_ekle", map[string]any{"kart": map[string]any{
		"_key_scf_carikart": map[string]any{"carikartkodu": "C1"}, "tarih": "2017-03-25"}}))
	if n.Code != "200" {
		t.Fatalf("note %+v", n)
	}
	if got := s.Notes()[0].Fields["_key_scf_carikart"]; got != s.Cards()[0].Key {
		t.Fatalf("note links %v, want %d", got, s.Cards()[0].Key)
	}
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessionsAndCredits(t *testing.T) {
	ekle := func(sid string) map[string]any {
		return call(sid, "scf_carikart_ekle", map[string]any{"kart": map[string]any{"carikartkodu": "C" + sid[:4]}})
	}
	t.Run("idle expiry answers 419", func(t *testing.T) {
		_, url, clk := newSim(t, func(o *Options) { o.SessionIdle = time.Minute })
		sid := login(t, url)
		clk.add(59 * time.Second)
		if _, r := post(t, url, "scf", ekle(sid)); r.Code != "200" {
			t.Fatalf("within idle: %+v", r)
		}
		clk.add(61 * time.Second)
		st, r := post(t, url, "scf", ekle(sid))
		if st != 200 || r.Code != "419" || r.Msg != "INVALID_SESSION" {
			t.Fatalf("after idle: %d %+v", st, r)
		}
	})
	t.Run("HTTP 419 option", func(t *testing.T) {
		s, url, _ := newSim(t, func(o *Options) { o.SessionErrorStatus = 419 })
		sid := login(t, url)
		s.ExpireSessions()
		if st, r := post(t, url, "scf", ekle(sid)); st != 419 || r.Code != "419" {
			t.Fatalf("got %d %+v", st, r)
		}
	})
	t.Run("unknown session", func(t *testing.T) {
		_, url, _ := newSim(t, nil)
		if _, r := post(t, url, "scf", ekle("nosuchsession")); r.Code != "401" || r.Msg != "INVALID_SESSION" {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		s, url, _ := newSim(t, nil)
		sid := login(t, url)
		post(t, url, "sis", map[string]any{"logout": map[string]any{"session_id": sid}})
		if _, r := post(t, url, "scf", ekle(sid)); r.Code != "401" || s.Logouts() != 1 || s.Sessions() != 0 {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("credits run out", func(t *testing.T) {
		s, url, _ := newSim(t, func(o *Options) { o.Credits = 1 })
		sid := login(t, url)
		if _, r := post(t, url, "scf", ekle(sid)); r.Code != "200" {
			t.Fatalf("first: %+v", r)
		}
		if _, r := post(t, url, "scf", call(sid, "scf_carikart_ekle", map[string]any{"kart": map[string]any{"carikartkodu": "X"}})); r.Code != "406" {
			t.Fatalf("second: %+v", r)
		}
		s.SetCredits(-1)
		if _, r := post(t, url, "scf", call(sid, "scf_carikart_ekle", map[string]any{"kart": map[string]any{"carikartkodu": "X"}})); r.Code != "200" {
			t.Fatalf("unlimited: %+v", r)
		}
	})
	t.Run("wrong firma", func(t *testing.T) {
		_, url, _ := newSim(t, nil)
		sid := login(t, url)
		b := call(sid, "scf_carikart_listele", nil)
		b["scf_carikart_listele"].(map[string]any)["firma_kodu"] = 35
		if _, r := post(t, url, "scf", b); r.Code != "400" {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestFaults(t *testing.T) {
	s, url, _ := newSim(t, nil)
	sid := login(t, url)
	s.Faults.Push(sim.Fault{Status: 503, RetryAfter: time.Second}, sim.Fault{VendorError: "500: Beklenmeyen hata"})
	b := call(sid, "scf_carikart_ekle", map[string]any{"kart": map[string]any{"carikartkodu": "F1"}})
	raw, _ := json.Marshal(b)
	resp, err := http.Post(url+"/api/v3/scf/json", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, r := post(t, url, "scf", b); r.Code != "500" || r.Msg != "Beklenmeyen hata" {
		t.Fatalf("vendor fault: %+v", r)
	}
	if len(s.Cards()) != 0 {
		t.Fatal("a fault before acting must not insert")
	}
	if _, r := post(t, url, "scf", b); r.Code != "200" {
		t.Fatalf("after faults: %+v", r)
	}
	if s.Logins() != 1 || s.EkleCalls() != 3 || len(s.Requests()) != 3 {
		t.Fatalf("logins %d ekle %d", s.Logins(), s.EkleCalls())
	}
}
