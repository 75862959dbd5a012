package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/sim"
)

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	groupIDs   = regexp.MustCompile(`class="inline group-dry">.*?name="ids" value="([^"]+)"`)
	editedArea = regexp.MustCompile(`(?s)<textarea name="event" id="edit-event"[^>]*>(.*?)</textarea>`)
)

// page GETs or POSTs an operator page with the admin token as a bearer header (an auth proxy).
func (h *httpStack) page(method, path string, form url.Values) (int, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.base+path, body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if h.ui == nil {
		jar, _ := cookiejar.New(nil) // the page's CSRF cookie
		h.ui = &http.Client{Jar: jar}
	}
	resp, err := h.ui.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperatorPageGroupsTimelineAndEditReplay(t *testing.T) {
	h := newHTTPStack(t, 0)
	for i := 1; i <= 3; i++ {
		h.sim.Faults.Push(sim.Fault{VendorError: fmt.Sprintf(`Seri numarası "SN-%d" bulunamadı`, i*111)})
		if code, _, sb := h.post(fmt.Sprintf("page-%d", i), 10); code != 200 || sb.Routes[0].State != "dead-lettered" {
			t.Fatalf("event %d: %d %+v", i, code, sb)
		}
	}
	bad := event.New("installation.requested", "test", json.RawMessage(`{"deviceCount":1}`))
	bad.ID = "page-invalid"
	h.publish(bad, "")
	h.eventually("page-invalid", func(sb statusBody) bool { return sb.Routes[0].State == "dead-lettered" })

	code, home := h.page("GET", "/ui/", nil)
	if code != 200 || !strings.Contains(home, `id="groups"`) || !strings.Contains(home, `data-class="rejected" data-count="3"`) ||
		!strings.Contains(home, `data-class="invalid" data-count="1"`) || !strings.Contains(home, "Replaying invalid events unchanged fails again") {
		t.Fatalf("home page groups:\n%s", home)
	}
	csrf := csrfField.FindStringSubmatch(home)[1]
	ids := groupIDs.FindStringSubmatch(home) // the largest group comes first
	if ids == nil || len(strings.Split(ids[1], ",")) != 3 {
		t.Fatalf("no group ids in:\n%s", home)
	}
	code, rep := h.page("POST", "/ui/replay", url.Values{"csrf": {csrf}, "ids": {ids[1]}, "dryrun": {"yes"}, "confirm": {"yes"}})
	if code != 200 || strings.Count(rep, ">would-replay<") != 3 || !strings.Contains(rep, "Dry run") {
		t.Fatalf("group dry run: %d\n%s", code, rep)
	}

	code, ev := h.page("GET", "/ui/events?id=page-2", nil)
	if code != 200 || !strings.Contains(ev, `data-state="dead-lettered"`) || !strings.Contains(ev, `class="attempt"`) || !strings.Contains(ev, "SN-222") {
		t.Fatalf("event page:\n%s", ev)
	}
	if code, _ := h.page("GET", "/ui/events?id=nobody", nil); code != 404 {
		t.Fatalf("unknown event: %d", code)
	}
	// A business key finds the events that carry it, masked on the page.
	code, found := h.page("GET", "/ui/events?id=99959", nil)
	if code != 200 || strings.Count(found, `class="match"`) != 3 || !strings.Contains(found, "serialNumbers *****") ||
		strings.Contains(found, "99959") || !strings.Contains(found, `href="/ui/events?id=page-2"`) {
		t.Fatalf("search by serial number: %d\n%s", code, found)
	}
	dlID := regexp.MustCompile(`href="/ui/dlq/(\d+)"`).FindStringSubmatch(ev)[1]
	_, show := h.page("GET", "/ui/dlq/"+dlID, nil)
	area := editedArea.FindStringSubmatch(show)
	if area == nil || strings.Contains(show, `id="invalid-warning"`) {
		t.Fatalf("dead letter page:\n%s", show)
	}
	edited := strings.Replace(htmlUnescape(area[1]), `"city": "`, `"city": "Ankara`, 1)
	if edited == htmlUnescape(area[1]) {
		t.Fatalf("cannot edit:\n%s", area[1])
	}
	code, rep = h.page("POST", "/ui/dlq/"+dlID+"/replay", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "event": {edited}})
	if code != 200 || !strings.Contains(rep, ">replayed<") {
		t.Fatalf("edit and replay: %d\n%s", code, rep)
	}
	h.eventually("page-2", func(sb statusBody) bool {
		return sb.Routes[0].State == "replayed" && sb.Routes[0].NewState == "succeeded"
	})
	calls := h.sim.Calls()
	if len(calls) != 1 || !strings.HasPrefix(fmt.Sprint(calls[0].Body["CustomerCity"]), "Ankara") {
		t.Fatalf("the simulator accepted %d calls; city %v", len(calls), calls[0].Body["CustomerCity"])
	}
	_, ev = h.page("GET", "/ui/events?id=page-2", nil)
	if !strings.Contains(ev, "replayed by operator-page") || !strings.Contains(ev, ", edited") {
		t.Fatalf("timeline after the replay:\n%s", ev)
	}
	_, show = h.page("GET", "/ui/dlq/"+regexp.MustCompile(`href="/ui/dlq/(\d+)"`).FindStringSubmatch(h.mustPage("/ui/events?id=page-invalid"))[1], nil)
	if !strings.Contains(show, `id="invalid-warning"`) {
		t.Fatalf("no warning on an invalid dead letter:\n%s", show)
	}
}

func (h *httpStack) mustPage(path string) string {
	h.t.Helper()
	code, b := h.page("GET", path, nil)
	if code != 200 {
		h.t.Fatalf("%s: %d\n%s", path, code, b)
	}
	return b
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
