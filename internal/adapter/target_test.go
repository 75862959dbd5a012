package adapter

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMaskDigits(t *testing.T) {
	cases := map[string]string{
		"Vergi no 1234567890 geçersiz":               "Vergi no 12******90 geçersiz",
		"tel 0533 999 99 99, çağrı 43090":            "tel 05*******99, çağrı 43090",
		"TCKN 12346578938":                           "TCKN 12*******38",
		"2026-11-22T19:27:31Z status 503":            "2026-11-22T19:27:31Z status 503",
		"no digits":                                  "no digits",
		"+90 533 9999999":                            "+90********99",
		"Çağrı numarası: 1234567 (yedi hane) ve 123": "Çağrı numarası: 12***67 (yedi hane) ve 123",
	}
	for in, want := range cases {
		if got := MaskDigits(in); got != want {
			t.Errorf("MaskDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubAndOneLine(t *testing.T) {
	if got := Scrub("ticket SECRET-1 bad, SECRET-1 again", "SECRET-1", "", "ab"); got != "ticket **** bad, **** again" {
		t.Fatal(got)
	}
	long := strings.Repeat("ç", 400)
	if got := OneLine("a\n b\r\n\tc " + long); strings.ContainsAny(got, "\n\r\t") || len(got) > 510 {
		t.Fatalf("OneLine: %q", got)
	}
}

func TestClassifyStatus(t *testing.T) {
	h := http.Header{}
	cases := []struct {
		code int
		ra   string
		want Class
	}{
		{429, "", ClassRetryable}, {503, "", ClassRetryable}, {408, "", ClassRetryable},
		{500, "", ClassUnknown}, {502, "", ClassUnknown}, {504, "", ClassUnknown},
		{500, "3", ClassRetryable}, {400, "", ClassRejected}, {401, "", ClassRejected}, {404, "", ClassRejected},
	}
	for _, tc := range cases {
		h.Set("Retry-After", tc.ra)
		if tc.ra == "" {
			h.Del("Retry-After")
		}
		e := ClassifyStatus(tc.code, h)
		if e.Class != tc.want {
			t.Errorf("%d (Retry-After %q): %v, want %v", tc.code, tc.ra, e.Class, tc.want)
		}
		if tc.ra == "3" && e.RetryAfter != 3*time.Second {
			t.Errorf("Retry-After %v", e.RetryAfter)
		}
	}
	d, ok := RetryAfter(http.Header{"Retry-After": {time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)}}, time.Now())
	if !ok || d < 8*time.Second || d > 11*time.Second {
		t.Fatalf("HTTP-date Retry-After: %v %v", d, ok)
	}
	var te *Error
	if !errors.As(AsError(errors.New("x")), &te) || te.Class != ClassUnknown {
		t.Fatal("an unclassified error must read as an unknown outcome")
	}
}
