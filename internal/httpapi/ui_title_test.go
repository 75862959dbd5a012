package httpapi

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestUIHeaderShowsTheTitleOnce: each page's header names the site and the page, each once.
func TestUIHeaderShowsTheTitleOnce(t *testing.T) {
	f := newFixture(t, nil, []string{adminToken})
	id := f.seed("rejected", "x")
	for path, title := range map[string]string{"/ui/": "Overview", "/ui/dlq/" + strconv.FormatUint(id, 10): "Dead letter " + strconv.FormatUint(id, 10)} {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		start, end := strings.Index(body, "<header>"), strings.Index(body, "</header>")
		if resp.StatusCode != 200 || start < 0 || end < start {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		header := body[start:end]
		if strings.Count(header, "Köprü operations") != 1 || strings.Count(header, title) != 1 {
			t.Errorf("%s: header %q, want the site and %q once each", path, header, title)
		}
		if !strings.Contains(body, "<title>"+title+" · Köprü</title>") {
			t.Errorf("%s: no <title> %q", path, title)
		}
	}
}
