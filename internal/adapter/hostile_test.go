package adapter

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A vendor that echoes the token of a scheme'd auth value (Bearer X → X), in another case or in base64,
// must not get it into a message (issue 11, item 7).
func TestScrubHidesEverySecretPart(t *testing.T) {
	const tok = "tOk-9f8e7d6c5b4a"
	basicPass := "p4ssw0rd-Zz"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("kopru:"+basicPass))
	cases := map[string][]string{
		"token " + tok + " is invalid":                             {"Bearer " + tok},
		"TOKEN " + strings.ToUpper(tok) + " expired":               {"Bearer " + tok},
		"got " + base64.StdEncoding.EncodeToString([]byte(tok)):    {"Bearer " + tok},
		"got " + base64.RawURLEncoding.EncodeToString([]byte(tok)): {"Bearer " + tok},
		"auth header was bearer " + tok:                            {"Bearer " + tok},
		"user kopru password " + basicPass + " refused":            {basic},
		"echo " + basic: {basic},
		"ticket " + strings.ToLower("SECRET-AB12") + "!": {"SECRET-AB12"},
	}
	for in, secrets := range cases {
		got := Scrub(in, secrets...)
		for _, leak := range []string{tok, strings.ToUpper(tok), basicPass, "SECRET-AB12", "secret-ab12",
			base64.StdEncoding.EncodeToString([]byte(tok)), base64.RawURLEncoding.EncodeToString([]byte(tok))} {
			if strings.Contains(strings.ToLower(got), strings.ToLower(leak)) {
				t.Errorf("Scrub(%q) = %q: still holds %q", in, got, leak)
			}
		}
		if !strings.Contains(got, "****") {
			t.Errorf("Scrub(%q) = %q: nothing hidden", in, got)
		}
	}
	// Ordinary words are not secrets: the scheme alone, short parts.
	if got := Scrub("Bearer tokens are fine", "Bearer abc"); got != "Bearer tokens are fine" {
		t.Errorf("scheme or short token scrubbed: %q", got)
	}
}

// Retry-After is read up to MaxRetryAfter whatever its size: no overflow into a negative or tiny wait
// (issue 11, item 5).
func TestRetryAfterIsCappedWithoutOverflow(t *testing.T) {
	for _, v := range []string{"999999999", "99999999999999", "9223372036854775807", "99999999999999999999999999"} {
		d, ok := RetryAfter(http.Header{"Retry-After": {v}}, time.Now())
		if !ok || d != MaxRetryAfter {
			t.Errorf("Retry-After %s: %v %v, want %v", v, d, ok, MaxRetryAfter)
		}
	}
	far := time.Now().AddDate(200, 0, 0).UTC().Format(http.TimeFormat)
	if d, ok := RetryAfter(http.Header{"Retry-After": {far}}, time.Now()); !ok || d != MaxRetryAfter {
		t.Errorf("Retry-After in 200 years: %v %v", d, ok)
	}
	if d, ok := RetryAfter(http.Header{"Retry-After": {"120"}}, time.Now()); !ok || d != 2*time.Minute {
		t.Errorf("Retry-After 120: %v %v", d, ok)
	}
}

// A vendor redirecting to another origin never receives the request (nor its credentials); the call is
// rejected naming the Location's host. Same-origin 307/308 are followed; 301/302/303 are not (a POST must
// not turn into a GET) (issue 11, item 4).
func TestRedirects(t *testing.T) {
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer evil.Close()
	var gotAuth atomic.Value
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			w.Header().Set("Location", evil.URL+"/steal?x=1")
			w.WriteHeader(http.StatusTemporaryRedirect)
		case "/moved":
			w.Header().Set("Location", "/here")
			w.WriteHeader(http.StatusPermanentRedirect)
		case "/found":
			w.Header().Set("Location", "/here")
			w.WriteHeader(http.StatusFound)
		case "/here":
			gotAuth.Store(r.Header.Get("Authorization") + " " + r.Method)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer vendor.Close()
	h := http.Header{"Authorization": {"Bearer s3cr3t-token"}}
	for _, hc := range []*http.Client{nil, NewHTTPClient(4), {}} { // whatever client an adapter was given
		c := &Client{HTTP: hc, Target: "x"}
		_, err := c.PostJSON(context.Background(), "op", vendor.URL+"/away", map[string]int{"a": 1}, h)
		te := AsError(err)
		evilHost, _ := url.Parse(evil.URL)
		if te.Class != ClassRejected || te.Reason != "redirect" || !strings.Contains(te.Msg, evilHost.Host) {
			t.Fatalf("cross-origin redirect: %v (reason %s), want rejected naming %s", err, te.Reason, evilHost.Host)
		}
		if strings.Contains(te.Msg, "steal") {
			t.Fatalf("the Location's path is in the message: %s", te.Msg)
		}
		if Unwell(err) {
			t.Fatal("a redirect must not count against the vendor's health")
		}
		if n := stolen.Load(); n != 0 {
			t.Fatalf("the other host received %d requests", n)
		}
		if r, err := c.PostJSON(context.Background(), "op", vendor.URL+"/moved", map[string]int{"a": 1}, h); err != nil || r.Status != 200 {
			t.Fatalf("same-origin 308: %v", err)
		}
		if g, _ := gotAuth.Load().(string); g != "Bearer s3cr3t-token POST" {
			t.Fatalf("same-origin 308 reached /here as %q", g)
		}
		if _, err := c.PostJSON(context.Background(), "op", vendor.URL+"/found", map[string]int{"a": 1}, h); AsError(err).Reason != "redirect" {
			t.Fatalf("302 must not be followed: %v", err)
		}
	}
}

// A traceparent (or any header) with CR/LF is the event's problem: no request, class invalid, and it
// does not say the vendor is unwell (issue 11, item 1).
func TestHeaderInjectionIsInvalidNotAVendorFailure(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	c := &Client{Target: "x"}
	ctx := WithTraceparent(context.Background(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX-Injected: 1")
	_, err := c.PostJSON(ctx, "op", srv.URL, map[string]int{}, nil)
	te := AsError(err)
	if te.Class != ClassInvalid || te.Reason != ReasonHeader || Unwell(err) {
		t.Fatalf("header injection: %v (reason %s, unwell %v)", err, te.Reason, Unwell(err))
	}
	if got.Load() != 0 {
		t.Fatal("the request was sent")
	}
}

// Only answers that say the vendor is unwell move the breaker (issue 11, item 14).
func TestUnwell(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&Error{Class: ClassNotSent, Reason: "dial"}, true},
		{&Error{Class: ClassUnknown, Reason: "timeout"}, true},
		{ClassifyStatus(500, http.Header{}), true},
		{ClassifyStatus(429, http.Header{}), true},
		{ClassifyStatus(503, http.Header{}), true},
		{ClassifyStatus(400, http.Header{}), false},
		{ClassifyStatus(307, http.Header{"Location": {"http://elsewhere/"}}), false},
		{&Error{Class: ClassUnknown, Reason: "vendor_5xx", Status: "501", PerRecord: true}, false},
		{&Error{Class: ClassRetryable, Reason: ReasonSession, Err: ErrSessionEnded}, false},
		{&Error{Class: ClassRetryable, Reason: ReasonSession}, true}, // the reason is a label, not the signal
		{&Error{Class: ClassInvalid, Reason: ReasonHeader}, false},
		{&Error{Class: ClassRejected}, false},
	}
	for _, tc := range cases {
		if got := Unwell(tc.err); got != tc.want {
			t.Errorf("Unwell(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
