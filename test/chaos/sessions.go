package chaos

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// sessionRecorder wraps the simulators' handler and remembers every session id the DİA simulator hands
// out at login, so the log scan can look for them (ids of sessions never used are otherwise invisible).
type sessionRecorder struct {
	next http.Handler
	mu   sync.Mutex
	ids  map[string]bool
}

func (s *sessionRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/dia/api/v3/sis/json") {
		s.next.ServeHTTP(w, r)
		return
	}
	rec := &teeWriter{ResponseWriter: w}
	s.next.ServeHTTP(rec, r)
	var a struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(rec.buf.Bytes(), &a) == nil && a.Code == "200" && len(a.Msg) >= 8 {
		s.mu.Lock()
		s.ids[a.Msg] = true
		s.mu.Unlock()
	}
}

func (s *sessionRecorder) sessionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ids))
	for id := range s.ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.buf.Len() < 4096 {
		t.buf.Write(b)
	}
	return t.ResponseWriter.Write(b)
}
