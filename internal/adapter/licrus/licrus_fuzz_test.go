package licrus

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
	"github.com/kopru/kopru/schemas"
)

// docMessage is the message of the ExternalCall doc's example answer.
const docMessage = "Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090"

// docAnswer is the ExternalCall doc's example answer, as printed.
const docAnswer = `{"Results":[],"Entity":null,"HasResult":false,"Count":0,"TotalCount":0,"Id":0,"Meta":null,` +
	`"MessageList":[{"Type":2,"Message":"` + docMessage + `"}],"HasError":false,"HasMessage":true,"RrpTag":null}`

// stripMarks is s in decomposition form (NFD or NFKD) without its combining marks.
func stripMarks(f norm.Form, s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, f.String(s))
}

// FuzzParseCallNumber: ParseCallNumber never panics; a number it finds is ASCII digits that stand in
// the message once its accents are dropped (NFD or NFKD without combining marks).
func FuzzParseCallNumber(f *testing.F) {
	for _, s := range []string{
		docMessage,
		norm.NFD.String(docMessage),
		"ÇAĞRI NUMARASI: 43090", "Cagri numarasi:43090", "çağrı no 12", "Çağrı Nr. 7", "ÇAĞRI NUMARA = 99",
		"Çağrı numarası:", "Çağrı numarası: abc", "Çağrı numarası: ١٢٣", "Çağrı numarası: ４３０９０",
		"Çağrı numarası: 1\u03012", "çağrı no çağrı no 5", "cagri\u00a0numarasi\t:\n 43090", "",
		"\xff\xfe çağrı no 1", "Çağrı numarası: 4309099999999999999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		num, ok := ParseCallNumber(msg)
		if !ok {
			if num != "" {
				t.Fatalf("not ok but number %q", num)
			}
			return
		}
		if num == "" {
			t.Fatal("ok with an empty number")
		}
		for i := 0; i < len(num); i++ {
			if num[i] < '0' || num[i] > '9' {
				t.Fatalf("number %q is not ASCII digits", num)
			}
		}
		if !strings.Contains(stripMarks(norm.NFD, msg), num) && !strings.Contains(stripMarks(norm.NFKD, msg), num) {
			t.Fatalf("number %q does not stand in the message %q", num, msg)
		}
	})
}

// FuzzCallAnswer: whatever Licrus answers (status and body), Call never panics; a failure is a
// *adapter.Error with a class and a one-line message free of the AuthTicket, and a success carries a
// call number of digits (or "").
func FuzzCallAnswer(f *testing.F) {
	for _, b := range []string{
		docAnswer,
		`{"MessageList":[{"Type":1,"Message":"Seri numarası sistemde bulunamadı."}],"HasError":true,"HasMessage":true}`,
		`{"MessageList":[],"HasError":true}`, `{"HasError":false}`, `{}`, `null`, `[]`, ``, `<html>500</html>`,
		`{"MessageList":[{"Type":"2","Message":1}],"HasError":"false"}`,
		`{"MessageList":[{"Type":2,"Message":"line1\nline2\r\nÇağrı numarası: 5"}],"HasError":false}`,
		`{"MessageList":null,"HasError":null}`, `{"HasError":false} trailing`,
	} {
		for _, st := range []int{200, 400, 500, 503} {
			f.Add(st, []byte(b))
		}
	}
	data, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		f.Fatal(err)
	}
	const ticket = "T1CK3T-fuzz"
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	tg := New(Config{BaseURL: srv.URL + "/api", AuthTicket: ticket}, &adapter.Client{HTTP: srv.Client(), Target: "licrus"})
	f.Fuzz(func(t *testing.T, st int, b []byte) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400
		}
		status, body = st, b // the fuzz function runs serially within one worker process
		res, err := tg.Call(context.Background(), adapter.Request{EventID: "e1", Type: "installation.requested", Data: data})
		if err != nil {
			checkTargetError(t, err, ticket)
			return
		}
		if st < 200 || st > 299 {
			t.Fatalf("status %d taken as success", st)
		}
		n, _ := res.Fields["callNumber"].(string)
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				t.Fatalf("callNumber %q", n)
			}
		}
	})
}

// checkTargetError fails unless err is a classified *adapter.Error with a one-line message that does
// not hold secret.
func checkTargetError(t *testing.T, err error, secret string) {
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
	if secret != "" && strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
}
