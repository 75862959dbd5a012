package httpapi

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func login(t *testing.T, base string) (*http.Client, *http.Cookie) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			return c, ck
		}
	}
	t.Fatalf("login: %d, no session cookie", resp.StatusCode)
	return nil, nil
}

func getWith(t *testing.T, c *http.Client, u string, cookies ...*http.Cookie) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// TestLogoutEndsTheSessionOnTheServer: a cookie copied before logout no longer opens the page
// afterwards (it worked for 12 hours before), and the revocation store is what says so.
func TestLogoutEndsTheSessionOnTheServer(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	c, ck := login(t, f.srv.URL)
	stranger := &http.Client{CheckRedirect: noRedirect}
	if code, _, _ := getWith(t, stranger, f.srv.URL+"/ui/", ck); code != 200 {
		t.Fatalf("the copied cookie before logout: %d", code)
	}
	_, body, _ := getWith(t, c, f.srv.URL+"/ui/")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token")
	}
	resp, err := c.PostForm(f.srv.URL+"/ui/logout", url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if code, _, r := getWith(t, stranger, f.srv.URL+"/ui/", ck); code != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Fatalf("the copied cookie after logout: %d, want a redirect to the login", code)
	}
}

// TestSessionLifetime: a session ends sessionIdle after its last use, is renewed while in use, and
// never outlives sessionMax after the login.
func TestSessionLifetime(t *testing.T) {
	ts := newTokenSet([]string{adminToken})
	t0 := time.Unix(1_800_000_000, 0)
	v, _ := ts.newSession(0, t0)
	if _, ok := ts.parseSession(v, t0.Add(sessionIdle-time.Second)); !ok {
		t.Fatal("refused inside its idle lifetime")
	}
	if _, ok := ts.parseSession(v, t0.Add(sessionIdle)); ok {
		t.Fatal("accepted after its idle lifetime")
	}
	// In use: renewed in the second half of each idle period, up to sessionMax.
	now := t0
	for i := 0; ; i++ {
		s, ok := ts.parseSession(v, now)
		if !ok {
			if d := now.Sub(t0); d < sessionMax-sessionIdle || d > sessionMax {
				t.Fatalf("a session in use ended after %s", d)
			}
			break
		}
		if nv, _ := ts.renewal(s, now); nv != "" {
			v = nv
		}
		now = now.Add(sessionIdle / 3)
		if i > 1000 {
			t.Fatal("a session lived on past sessionMax")
		}
	}
	// A forged longer expiry breaks the mac; one past the cap is refused outright.
	parts := strings.Split(v, ".")
	parts[2] = strconv.FormatInt(t0.Add(48*time.Hour).Unix(), 10)
	if _, ok := ts.parseSession(strings.Join(parts, "."), t0); ok {
		t.Fatal("a forged expiry was accepted")
	}
}

// TestBearerCSRFTokenIsPerSession: behind an auth proxy every request carries the token, so the CSRF
// token used to be one constant per admin token, valid for ever. Now it hangs on a nonce in the
// browser's own cookie: another browser's token, or a token without its cookie, is refused.
func TestBearerCSRFTokenIsPerSession(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	id := f.seed("rejected", "x")
	page := func(c *http.Client) string {
		t.Helper()
		req, _ := http.NewRequest("GET", f.srv.URL+"/ui/", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := csrfRe.FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no CSRF token: %d", resp.StatusCode)
		}
		return m[1]
	}
	post := func(c *http.Client, csrf string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/dlq/"+strconv.FormatUint(id, 10)+"/purge",
			strings.NewReader(url.Values{"csrf": {csrf}, "confirm": {"yes"}, "dryrun": {"yes"}}.Encode()))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	jarA, _ := cookiejar.New(nil)
	jarB, _ := cookiejar.New(nil)
	a, b := &http.Client{Jar: jarA}, &http.Client{Jar: jarB}
	tokA, tokB := page(a), page(b)
	if tokA == tokB {
		t.Fatal("two browsers got the same CSRF token")
	}
	if page(a) != tokA {
		t.Fatal("the token changed within one browser session")
	}
	if code := post(b, tokA); code != http.StatusForbidden {
		t.Fatalf("browser B with A's token: %d", code)
	}
	if code := post(&http.Client{}, tokA); code != http.StatusForbidden {
		t.Fatalf("A's token without A's cookie: %d", code)
	}
	if code := post(a, tokA); code != 200 {
		t.Fatalf("A with its own token: %d", code)
	}
}

// TestLoginIsThrottledPerClient: after a burst of wrong tokens a client is answered 429 with
// Retry-After, before its body is read, even with the right token; another client is not affected.
func TestLoginIsThrottledPerClient(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	try := func(token string) *http.Response {
		t.Helper()
		c := &http.Client{CheckRedirect: noRedirect}
		resp, err := c.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	start := time.Now()
	for i := range loginBurst {
		if r := try("wrong-" + strconv.Itoa(i)); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, r.StatusCode)
		}
	}
	r := try(adminToken)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d wrong tokens: %d (Retry-After %q), want 429", loginBurst, r.StatusCode, r.Header.Get("Retry-After"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the throttle works by sleeping (%s), holding a goroutine per guess", d)
	}
	l := newLoginLimiter()
	now := time.Unix(1_800_000_000, 0)
	l.now = func() time.Time { return now }
	for range loginBurst {
		l.fail("10.0.0.1")
	}
	if l.wait("10.0.0.1") == 0 || l.wait("10.0.0.2") != 0 {
		t.Fatal("the limit is not per client")
	}
	now = now.Add(loginRefill)
	if l.wait("10.0.0.1") != 0 {
		t.Fatal("the bucket does not refill")
	}
}
