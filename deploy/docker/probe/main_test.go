package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	for code, want := range map[int]int{200: 0, 404: 0, 503: 1} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
		if got := probe(srv.URL); got != want {
			t.Errorf("status %d: exit %d, want %d", code, got, want)
		}
		srv.Close()
	}
	if got := probe("http://127.0.0.1:1/"); got != 1 {
		t.Errorf("no server: exit %d, want 1", got)
	}
}
