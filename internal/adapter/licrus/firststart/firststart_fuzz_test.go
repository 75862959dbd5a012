package firststart

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/kopru/kopru/internal/adapter"
)

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// checkTargetError fails unless err is a classified *adapter.Error whose message is one line and does
// not hold the test ticket.
func checkTargetError(t *testing.T, err error) *adapter.Error {
	t.Helper()
	var te *adapter.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *adapter.Error", err, err)
	}
	if te.Class < adapter.ClassNotSent || te.Class > adapter.ClassUnknown {
		t.Fatalf("error %v has no class (%d)", err, te.Class)
	}
	if strings.ContainsAny(te.Msg, "\r\n") {
		t.Fatalf("message is not one line: %q", te.Msg)
	}
	if strings.Contains(err.Error(), testTicket) {
		t.Fatalf("error leaks the AuthTicket: %v", err)
	}
	return te
}

// FuzzParsePhone: ParsePhone never panics; a phone it accepts is 3 + 7 ASCII digits taken from the
// input, and a refusal is ClassInvalid, names the field and never shows the number's digits.
func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{
		"0533 999 99 99", "+90 533 9999999", "+905339999999", "5339999999", "(533) 999-99-99",
		"0 (533) 999 99 99", "0090 533 999 99 99", "00905339999999", "905339999999", "0212 555 12 34",
		"0212/555.12.34", "+90 (232) 444 55 66", "0850 222 33 44", " 0533\u00a0999 99 99 ", "",
		"0533 999 99", "0533 999 99 99 9", "05339999999 dahili 12", "0533-ABC-9999", "+49 30 1234567",
		"+90 0533 999 99 99", "1234567890", "0900 999 99 99", "+", "٠٥٣٣٩٩٩٩٩٩٩", "０５３３９９９９９９９",
		"0533 999 99 99 / 0532 888 77 66", "++905339999999", "\xff0533", strings.Repeat("9", 40),
	} {
		f.Add(s)
	}
	const field = "customer.phones[0].number"
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePhone(field, s)
		if err == nil {
			if len(p.Prefix) != 3 || len(p.Content) != 7 || onlyDigits(p.Prefix) != p.Prefix || onlyDigits(p.Content) != p.Content {
				t.Fatalf("accepted %q as %+v", s, p)
			}
			if !strings.HasSuffix(onlyDigits(s), p.Prefix+p.Content) {
				t.Fatalf("%+v is not the end of the digits of %q", p, s)
			}
			return
		}
		te := checkTargetError(t, err)
		if te.Class != adapter.ClassInvalid {
			t.Fatalf("class %v", te.Class)
		}
		if !strings.Contains(te.Msg, field) {
			t.Fatalf("error %q does not name the field", te.Msg)
		}
		// The number appears only masked: neither the message nor the masked copy in it (between
		// quotes) holds all its digits.
		d := onlyDigits(s)
		if len(d) >= 3 && strings.Contains(te.Msg, d) {
			t.Fatalf("error %q shows the number %q", te.Msg, s)
		}
		if _, rest, ok := strings.Cut(strings.TrimPrefix(te.Msg, field), "'"); ok && len(d) >= 3 {
			if mask, _, ok := strings.Cut(rest, "'"); ok && strings.Contains(onlyDigits(mask), d) {
				t.Fatalf("error %q shows the number %q", te.Msg, s)
			}
		}
	})
}

// FuzzMatchName: matchName never panics; a match is one of the candidates, and a refusal is a
// one-line ClassInvalid error. Candidates are the lines of list ("id|text|code|inactive").
func FuzzMatchName(f *testing.F) {
	list := "1|Kırıkkale\n2|Kırklareli\n3|ÜMRANİYE\n4|ÇAYIR\n5|ÇAYİR\n6|Isparta\n7|İSPİR\n8|Kazanlar\n9|KAZANLAR||x\n" +
		"10|ESKİ\n11|Eski||x\n12|Merkez\n224|KAZANLAR|UA002\n3|Ümraniye"
	for _, n := range []string{"Kırıkkale", "Kirikkale", "KIRIKKALE", "Umraniye", norm.NFD.String("Ümraniye"), "Cayir",
		"ISPARTA", "Ispir", "kazanlar", "eski", "Kırık", "merkez  ", "", " ", "\u0307", "ı", "İ", "\xff"} {
		f.Add(n, list)
	}
	f.Add("a", "1|A\n1|a\n2|á")
	f.Add("Ş", "|Ş\n1|\n2|ş")
	f.Fuzz(func(t *testing.T, name, list string) {
		var items []Item
		for _, line := range strings.Split(list, "\n") {
			p := strings.SplitN(line, "|", 4)
			it := Item{ID: p[0]}
			if len(p) > 1 {
				it.Text = p[1]
			}
			if len(p) > 2 {
				it.Code = p[2]
			}
			it.Inactive = len(p) > 3 && p[3] != ""
			items = append(items, it)
		}
		it, err := matchName("district", name, items)
		if err != nil {
			if te := checkTargetError(t, err); te.Class != adapter.ClassInvalid {
				t.Fatalf("class %v", te.Class)
			}
			return
		}
		for _, c := range items {
			if c == it {
				if foldAccents(foldCase(c.Text)) != foldAccents(foldCase(name)) {
					t.Fatalf("%q matched %q, whose folded text differs", name, c.Text)
				}
				return
			}
		}
		t.Fatalf("match %+v is not a candidate", it)
	})
}

// FuzzParseNumbers: ParseNumbers never panics; each number it returns stands in the NFC message and
// holds a digit.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{
		"İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001",
		norm.NFD.String("İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001"),
		"FORM NUMARASI:100001", "form   numarası :  100001.", "Form No: 55", "Form nosu 77", "Belge No: İÇ-2025/7",
		norm.NFD.String("BELGE NO: İÇ-2025/7"), "Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090",
		norm.NFD.String("ÇAĞRI NUMARASI:\u00a043090"), "100001 numaralı form oluşturuldu",
		"43090 nolu çağrı açıldı, form numarası: 12", "Form numarası: yok", "Formunuz 3 gün içinde incelenecek",
		"Form no: ١٢", "Form no: ＡＢ1", "Form no: 1\u0301", "\xffform no 1", "Form No：9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		form, call := ParseNumbers(msg)
		orig := norm.NFC.String(msg)
		for _, n := range []string{form, call} {
			if n == "" {
				continue
			}
			if !strings.Contains(orig, n) {
				t.Fatalf("number %q is not in %q", n, orig)
			}
			if !strings.ContainsFunc(n, unicode.IsDigit) {
				t.Fatalf("number %q holds no digit", n)
			}
		}
	})
}

// docAnswer is the shape of a Licrus answer (the ExternalCall doc prints it; ServiceForm/Create
// answers the same envelope).
const docAnswer = `{"Results":[],"Entity":null,"HasResult":false,"Count":0,"TotalCount":0,"Id":0,"Meta":null,` +
	`"MessageList":[{"Type":2,"Message":"İlk çalıştırma formu oluşturulmuştur. Form numarası: 100001"}],"HasError":false,"HasMessage":true,"RrpTag":null}`

var answerSeeds = []string{
	docAnswer,
	`{"MessageList":[{"Type":1,"Message":"Seri numarası sistemde bulunamadı."}],"HasError":true,"HasMessage":true}`,
	`{"MessageList":[{"Type":"Info","Message":"Form numarası: 7\nÇağrı numarası: 8"}],"HasError":false}`,
	`{"MessageList":[{"Type":1,"Message":"ticket TICKET-s3cr3t-7f4e2a is wrong"}],"HasError":true}`,
	`{"Results":[{"Id":224,"Text":"KAZANLAR","Code":"UA002","IsActive":true},{"Id":"220","Name":"Kombiler"}],"HasError":false}`,
	`{"Results":[{"Id":null,"Text":"X"},{"Id":{},"Text":"Kombiler"},{"Id":"abc","Text":"Kombiler"}],"HasError":false}`,
	`{"Results":{},"HasError":false}`, `{"HasError":true}`, `{}`, `null`, `[]`, ``, `<html/>`, `{"MessageList":[null]}`,
}

// FuzzServiceFormAnswer: whatever Licrus answers ServiceForm/Create (status and body), the reading of
// the answer never panics; a failure is a classified *adapter.Error without the ticket.
func FuzzServiceFormAnswer(f *testing.F) {
	for _, b := range answerSeeds {
		for _, st := range []int{200, 400, 500} {
			f.Add(st, []byte(b))
		}
	}
	tg, err := New(Config{BaseURL: "http://127.0.0.1:1/api", AuthTicket: testTicket}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, st int, b []byte) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		resp := &adapter.Response{Status: st, Header: http.Header{}, Body: b}
		if st >= 300 {
			checkTargetError(t, tg.httpError(resp, adapter.ClassifyStatus(st, resp.Header)))
			return
		}
		res, err := tg.answer(resp)
		if err != nil {
			checkTargetError(t, err)
			return
		}
		if m, _ := res.Fields["message"].(string); strings.Contains(m, testTicket) {
			t.Fatalf("message leaks the ticket: %q", m)
		}
	})
}

// FuzzLookupAnswer: whatever Licrus answers a lookup (product main groups here), resolving a name
// never panics and fails only with a classified *adapter.Error without the ticket.
func FuzzLookupAnswer(f *testing.F) {
	for _, b := range answerSeeds {
		f.Add(200, []byte(b), "Kombiler")
		f.Add(200, []byte(b), "UA002")
	}
	f.Add(503, []byte(`{"HasError":true}`), "KAZANLAR")
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	client := &adapter.Client{HTTP: srv.Client(), Target: "licrus"}
	f.Fuzz(func(t *testing.T, st int, b []byte, name string) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		status, body = st, b
		r := NewResolver(Config{BaseURL: srv.URL + "/api", AuthTicket: testTicket}, client) // fresh cache
		if _, err := r.MainGroup(context.Background(), name); err != nil {
			checkTargetError(t, err)
		}
	})
}
