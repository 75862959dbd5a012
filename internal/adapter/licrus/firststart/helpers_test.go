package firststart

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim/licrus"
)

// testTicket is the AuthTicket of every test but the doc example; no error may contain it.
const testTicket = "TICKET-s3cr3t-7f4e2a"

// env is a simulator behind a real HTTP server and a target pointed at it.
type env struct {
	sim *licrus.Sim
	srv *httptest.Server
	t   *Target
}

func newEnv(tb testing.TB, ticket string, mod ...func(*Config)) *env {
	tb.Helper()
	s := licrus.New(ticket)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + "/api", AuthTicket: ticket}
	for _, m := range mod {
		m(&cfg)
	}
	tg, err := New(cfg, &adapter.Client{HTTP: srv.Client(), Target: "licrus"})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &env{sim: s, srv: srv, t: tg}
}

func (e *env) call(tb testing.TB, data any) (adapter.Result, error) {
	tb.Helper()
	raw, ok := data.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := e.t.Call(context.Background(), adapter.Request{EventID: "evt-1", Type: "first-start.requested", Data: raw})
	if err != nil {
		noSecret(tb, err)
	}
	return res, err
}

// noSecret fails when the test ticket appears anywhere in err's chain.
func noSecret(tb testing.TB, err error) {
	tb.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), testTicket) {
			tb.Errorf("error leaks the AuthTicket: %v", e)
		}
	}
}

func classOf(tb testing.TB, err error) adapter.Class {
	tb.Helper()
	var te *adapter.Error
	if !errors.As(err, &te) {
		tb.Fatalf("error %v (%T) is not a *adapter.Error", err, err)
	}
	return te.Class
}

// event returns a valid event data document; edit it with the functions given.
func event(edits ...func(m map[string]any)) map[string]any {
	m := map[string]any{
		"serialNumber": "SN-1",
		"description":  "İlk çalıştırma",
		"appointment":  "2025-02-11T06:00:00Z",
		"customer": map[string]any{
			"firstName": "Ayşe",
			"lastName":  "Yılmaz",
			"phones":    []any{map[string]any{"number": "0533 999 99 99", "type": "mobile", "primary": true}},
			"address":   map[string]any{"city": "İstanbul", "district": "Ümraniye", "neighborhood": "Atakent"},
		},
		"productMainGroup":         "Kombiler",
		"gasSafeCertificateNumber": "GS-1",
	}
	for _, e := range edits {
		e(m)
	}
	return m
}

func addr(m map[string]any) map[string]any {
	return m["customer"].(map[string]any)["address"].(map[string]any)
}
