package app_test

import (
	"strings"
	"testing"
)

// A search on the event page that matches nothing does not echo the business key it was given.
func TestOperatorPageNoMatchMasksTheKey(t *testing.T) {
	h := newHTTPStack(t, 0)
	code, page := h.page("GET", "/ui/events?id=12345678901", nil)
	if code != 404 || !strings.Contains(page, "no event with id") {
		t.Fatalf("no match: %d\n%s", code, page)
	}
	if strings.Contains(page, "12345678901") || !strings.Contains(page, "••••••••901") {
		t.Fatalf("the business key is echoed unmasked:\n%s", page)
	}
}
