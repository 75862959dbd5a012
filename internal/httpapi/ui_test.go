package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
)

var (
	csrfRe   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	actionRe = regexp.MustCompile(`<form method="post" action="(/ui/dlq/\d+/replay)"`)
)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func TestUICookieSessionAndCSRF(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	id := f.seed("rejected", "Seri numarası sistemde bulunamadı.")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := c.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	post := func(path string, form url.Values) (int, string, *http.Response) {
		t.Helper()
		resp, err := c.PostForm(f.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp
	}
	if code, _, h := get("/ui/"); code != http.StatusSeeOther || h.Get("Location") != "/ui/login" {
		t.Fatalf("anonymous: %d %s", code, h.Get("Location"))
	}
	if code, _, _ := post("/ui/login", url.Values{"token": {"wrong"}}); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	code, _, resp := post("/ui/login", url.Values{"token": {adminToken}})
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || !strings.Contains(sc, "Path=/ui/") {
		t.Fatalf("cookie %s", sc)
	}
	code, body, h := get("/ui/")
	if code != 200 || !strings.Contains(body, `data-id="`+strconv.FormatUint(id, 10)+`"`) || !strings.Contains(body, "Seri numarası") {
		t.Fatalf("home: %d %s", code, body)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("CSP %q", h.Get("Content-Security-Policy"))
	}
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}
	csrf := m[1]
	path := "/ui/dlq/" + strconv.FormatUint(id, 10) + "/purge"
	if code, _, _ := post(path, url.Values{"csrf": {csrf}}); code != http.StatusBadRequest {
		t.Fatalf("without the confirmation box: %d", code)
	}
	if code, _, _ := post(path, url.Values{"csrf": {"forged"}, "confirm": {"yes"}}); code != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", code)
	}
	if code, _, _ := post(path, url.Values{"confirm": {"yes"}}); code != http.StatusForbidden {
		t.Fatalf("no CSRF: %d", code)
	}
	if f.count(bus.StreamDLQ) != 1 {
		t.Fatal("a refused form changed the DLQ")
	}
	code, body, _ = post(path, url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if code != 200 || !strings.Contains(body, "purged") || f.count(bus.StreamDLQ) != 0 {
		t.Fatalf("purge: %d %s", code, body)
	}
	// A forged cookie is no session.
	c2 := &http.Client{CheckRedirect: noRedirect}
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "abc." + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + ".AAAA"})
	r2, err := c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", r2.StatusCode)
	}
}

// chromium returns a headless Chromium binary, or "" (KOPRU_CHROMIUM names one explicitly).
func chromium() string {
	if p := os.Getenv("KOPRU_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-extensions", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestUIInChromium drives the operator page in a real headless Chromium. The page sits behind a
// proxy that adds the admin bearer token, as an auth proxy in front of Köprü would.
func TestUIInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary found (apt-get install -y chromium, or set KOPRU_CHROMIUM): skipping the browser test")
	}
	f := newFixture(t, nil, []string{adminToken})
	id1 := f.seed("rejected", "Seri numarası sistemde bulunamadı.")
	id2 := f.seed("exhausted", "gave up after 8 calls; last: 503")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+adminToken)
		f.h.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	dom := runChromium(t, bin, "--dump-dom", proxy.URL+"/ui/")
	for _, id := range []uint64{id1, id2} {
		if !strings.Contains(dom, `data-id="`+strconv.FormatUint(id, 10)+`"`) {
			t.Fatalf("the list does not show dead letter %d:\n%s", id, dom)
		}
	}
	if !strings.Contains(dom, `id="routes"`) || !strings.Contains(dom, "licrus-installation") || !strings.Contains(dom, "Seri numarası") {
		t.Fatalf("overview:\n%s", dom)
	}
	shot := filepath.Join(t.TempDir(), "ui.png")
	if d := os.Getenv("KOPRU_UI_SHOT"); d != "" {
		shot = d
	}
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,900", proxy.URL+"/ui/")
	if b, err := os.ReadFile(shot); err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(b))
	}

	sid := strconv.FormatUint(id1, 10)
	dom = runChromium(t, bin, "--dump-dom", proxy.URL+"/ui/dlq/"+sid)
	for _, want := range []string{`id="headers"`, deadletter.HdrErrorClass, deadletter.HdrOriginalSubject, "events.installation.requested",
		"Seri numarası sistemde bulunamadı.", `id="event"`, "specversion"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the dead letter page lacks %q:\n%s", want, dom)
		}
	}
	am, cm := actionRe.FindStringSubmatch(dom), csrfRe.FindStringSubmatch(dom)
	if am == nil || cm == nil {
		t.Fatalf("no replay form with a CSRF token:\n%s", dom)
	}
	// The CSRF token belongs to the browser session it was made for (a nonce in its kopru_csrf cookie):
	// post as such a session, with the token of a page it loaded.
	jar, _ := cookiejar.New(nil)
	bc := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	pg, err := bc.Get(proxy.URL + "/ui/dlq/" + sid)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(pg.Body)
	pg.Body.Close()
	if cm = csrfRe.FindStringSubmatch(string(pb)); cm == nil {
		t.Fatalf("no CSRF token in the page:\n%s", pb)
	}
	post := func(form url.Values) (int, string) {
		resp, err := bc.PostForm(proxy.URL+am[1], form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post(url.Values{"confirm": {"yes"}}); code != http.StatusForbidden {
		t.Fatalf("replay without the CSRF token: %d", code)
	}
	code, body := post(url.Values{"csrf": {cm[1]}, "confirm": {"yes"}})
	if code != 200 || !strings.Contains(body, ">replayed<") {
		t.Fatalf("replay: %d %s", code, body)
	}
	if n := f.count(bus.StreamDLQ); n != 1 {
		t.Fatalf("%d dead letters left, want 1", n)
	}
	s, _ := f.js.Stream(context.Background(), bus.StreamEvents)
	m, err := s.GetMsg(context.Background(), 1)
	if err != nil || m.Header.Get(deadletter.HdrReplayOf) != sid || m.Header.Get(deadletter.HdrReplayRoute) != "licrus-installation" {
		t.Fatalf("republished: %v %v", err, m)
	}
	dom = runChromium(t, bin, "--dump-dom", proxy.URL+"/ui/")
	if strings.Contains(dom, `data-id="`+sid+`"`) || !strings.Contains(dom, `data-id="`+strconv.FormatUint(id2, 10)+`"`) {
		t.Fatalf("after the replay the list should hold only %d:\n%s", id2, dom)
	}
}
