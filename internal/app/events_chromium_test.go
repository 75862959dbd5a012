package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/sim"
)

// chromiumBin returns a headless Chromium binary, or "" (KOPRU_CHROMIUM names one explicitly).
func chromiumBin() string {
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

func dumpDOM(t *testing.T, bin, u string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--user-data-dir="+t.TempDir(), "--dump-dom", u)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", u, err, stderr.String())
	}
	return string(out)
}

// TestEventPagesInChromium renders the event search, the timeline and the dead letters grouped by
// cause in a real headless Chromium, behind a proxy that adds the admin token (as an auth proxy
// would), then runs a group's dry run and an edit-and-replay with the forms' CSRF token.
func TestEventPagesInChromium(t *testing.T) {
	bin := chromiumBin()
	if bin == "" {
		t.Skip("no chromium binary found (apt-get install -y chromium, or set KOPRU_CHROMIUM): skipping the browser test")
	}
	h := newHTTPStack(t, 0)
	for i := 1; i <= 2; i++ {
		h.sim.Faults.Push(sim.Fault{VendorError: fmt.Sprintf(`Seri numarası "SN-%d" bulunamadı`, i)})
		if code, _, _ := h.post(fmt.Sprintf("cr-%d", i), 10); code != 200 {
			t.Fatalf("event %d: %d", i, code)
		}
	}
	target, _ := url.Parse(h.base)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+adminToken)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	home := dumpDOM(t, bin, proxy.URL+"/ui/")
	if !strings.Contains(home, `id="groups"`) || !strings.Contains(home, `data-count="2"`) || !strings.Contains(home, `id="event-search"`) {
		t.Fatalf("home page:\n%s", home)
	}
	found := dumpDOM(t, bin, proxy.URL+"/ui/events?id=99958")
	if strings.Count(found, `class="match"`) != 2 || strings.Contains(found, "99958") {
		t.Fatalf("search by serial number:\n%s", found)
	}
	timeline := dumpDOM(t, bin, proxy.URL+"/ui/events?id=cr-1")
	if !strings.Contains(timeline, `data-state="dead-lettered"`) || !strings.Contains(timeline, `class="attempt"`) {
		t.Fatalf("timeline:\n%s", timeline)
	}
	csrf := csrfField.FindStringSubmatch(h.mustPage("/ui/")) // the forms are posted from this test's own session
	ids := groupIDs.FindStringSubmatch(home)
	if csrf == nil || ids == nil {
		t.Fatalf("no group form:\n%s", home)
	}
	code, rep := h.page("POST", "/ui/replay", url.Values{"csrf": {csrf[1]}, "ids": {ids[1]}, "dryrun": {"yes"}, "confirm": {"yes"}})
	if code != 200 || strings.Count(rep, ">would-replay<") != 2 {
		t.Fatalf("group dry run: %d\n%s", code, rep)
	}
	dl := strings.Split(ids[1], ",")[0]
	show := dumpDOM(t, bin, proxy.URL+"/ui/dlq/"+dl)
	area := editedArea.FindStringSubmatch(show)
	if area == nil {
		t.Fatalf("no edit box:\n%s", show)
	}
	edited := strings.Replace(htmlUnescape(area[1]), `"city": "`, `"city": "Ankara`, 1)
	code, rep = h.page("POST", "/ui/dlq/"+dl+"/replay", url.Values{"csrf": {csrf[1]}, "confirm": {"yes"}, "event": {edited}})
	if code != 200 || !strings.Contains(rep, ">replayed<") {
		t.Fatalf("edit and replay: %d\n%s", code, rep)
	}
	h.eventually("cr-1", func(sb statusBody) bool {
		return sb.Routes[0].State == "replayed" && sb.Routes[0].NewState == "succeeded"
	})
	if n := h.sim.CallCount(); n != 1 {
		t.Fatalf("the simulator accepted %d calls, want 1", n)
	}
}
