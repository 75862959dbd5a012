package dia

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
)

const (
	fuzzPassword = "pw-fuzz-S3cret!"
	fuzzAPIKey   = "apikey-fuzz-9d8c7b"
	fuzzSession  = "b2d4820cc43f4d98a8c6698686b6d386"
)

// diaSeeds are DİA answers: the doc's and NOTES.md's examples and broken variants.
var diaSeeds = []string{
	`{"code":"200","msg":"` + fuzzSession + `"}`,
	`{"code":"401","msg":"NOUSER"}`,
	`{"code":"200","key":"330389","msg":"[ws] «2017-03-25» tarihli «Görev Notu» eklenmiştir."}`,
	`{"code":"400","msg":"Kombo değeri geçersiz (stokkartturu -> Ticari Mal)"}`,
	`{"code":"200","result":[{"_key":12,"carikartkodu":"C1"}]}`,
	`{"code":"200","result":[{"_key":"12","carikartkodu":"OTHER"},{"_key":1.5e300}]}`,
	`{"code":"200","result":{"_key":1}}`, `{"code":"200","result":null}`, `{"code":"200","result":"x"}`,
	`{"code":"419","msg":"INVALID_SESSION"}`, `{"code":"406","msg":"kontör"}`, `{"code":"402"}`, `{"code":"405"}`,
	`{"code":"500","msg":"line1\nline2"}`, `{"code":200,"key":330389}`, `{"code":"200","key":{"a":1}}`,
	`{"code":"999"}`, `{"code":null}`, `{"code":""}`, `{"code":"401","msg":"pw-fuzz-S3cret! apikey-fuzz-9d8c7b"}`,
	`{"code":"200","msg":"  "}`, `{}`, `null`, `[]`, ``, `<html/>`, `{"code":"200"} trailing`,
}

func fuzzConfig(url string) Config {
	return Config{BaseURL: url + "/api/v3", Username: "ws", Password: fuzzPassword, APIKey: fuzzAPIKey,
		FirmaKodu: 34, DonemKodu: 1}
}

// checkDIAError fails unless err is a classified *adapter.Error with a one-line message that holds
// neither the password nor the API key.
func checkDIAError(t *testing.T, err error) {
	t.Helper()
	var te *adapter.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *adapter.Error", err, err)
	}
	if te.Class < adapter.ClassNotSent || te.Class > adapter.ClassUnknown {
		t.Fatalf("error %v has no class", err)
	}
	if strings.ContainsAny(te.Msg, "\r\n") {
		t.Fatalf("message is not one line: %q", te.Msg)
	}
	if s := err.Error(); strings.Contains(s, fuzzPassword) || strings.Contains(s, fuzzAPIKey) {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

// FuzzParseReply: parseReply and the classification of an answer never panic; every failure is a
// classified *adapter.Error without secrets.
func FuzzParseReply(f *testing.F) {
	for _, b := range diaSeeds {
		f.Add(200, []byte(b), false)
		f.Add(500, []byte(b), true)
	}
	s := &Session{cfg: fuzzConfig("http://127.0.0.1:1")}
	f.Fuzz(func(t *testing.T, st int, b []byte, readOnly bool) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		resp := &adapter.Response{Status: st, Header: http.Header{}, Body: b}
		var herr error
		if st > 299 {
			herr = adapter.ClassifyStatus(st, resp.Header)
		}
		rep, perr := parseReply(resp)
		if perr == nil && rep.Code == "" {
			t.Fatal("a reply without a code")
		}
		_ = sessionInvalid(st, rep, perr)
		if _, err := s.classify("scf_carikart_ekle", resp, herr, rep, perr, fuzzSession, readOnly); err != nil {
			checkDIAError(t, err)
		}
	})
}

// FuzzSessionAnswers: whatever DİA answers a login (which 0), an _ekle call (1), a _listele call (2) or
// a logout (3), the Session never panics and fails only with a classified *adapter.Error without
// secrets. The other requests get the doc's answers.
func FuzzSessionAnswers(f *testing.F) {
	for _, b := range diaSeeds {
		for w := uint8(0); w < 4; w++ {
			f.Add(w, 200, []byte(b))
		}
	}
	f.Add(uint8(0), 401, []byte(`{"code":"401","msg":"NOUSER"}`))
	f.Add(uint8(1), 503, []byte(`{"code":"503"}`))
	var which uint8
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(r.Body)
		kind := uint8(1)
		switch {
		case strings.Contains(string(req), `"login"`):
			kind = 0
		case strings.Contains(string(req), `"logout"`):
			kind = 3
		case strings.Contains(string(req), "_listele"):
			kind = 2
		}
		w.Header().Set("Content-Type", "application/json")
		if kind == which {
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return
		}
		switch kind {
		case 0:
			_, _ = io.WriteString(w, `{"code":"200","msg":"`+fuzzSession+`"}`)
		case 1:
			_, _ = io.WriteString(w, `{"code":"200","key":"330389","msg":"eklenmiştir"}`)
		case 2:
			_, _ = io.WriteString(w, `{"code":"200","result":[{"_key":12,"carikartkodu":"C1"}]}`)
		default:
			_, _ = io.WriteString(w, `{"code":"200","msg":""}`)
		}
	}))
	f.Cleanup(srv.Close)
	client := &adapter.Client{HTTP: srv.Client()}
	f.Fuzz(func(t *testing.T, w uint8, st int, b []byte) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		which, status, body = w%4, st, b
		s, err := NewSession(fuzzConfig(srv.URL), client)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, _, err := s.Insert(ctx, ServiceCariKartEkle, map[string]any{"carikartkodu": "C1"}); err != nil {
			checkDIAError(t, err)
		}
		if _, _, err := s.FindCariKart(ctx, "C1"); err != nil {
			checkDIAError(t, err)
		}
		if err := s.Close(ctx); err != nil {
			checkDIAError(t, err)
		}
	})
}
