package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/adapter/dia"
	"github.com/kopru/kopru/internal/adapter/leansoft"
	"github.com/kopru/kopru/internal/adapter/licrus"
	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/worker"
)

// A vendor that answers 307 to another host never gets Köprü to send it anything — not Licrus' AuthTicket,
// Lean Soft's auth header nor DİA's password and API key; every adapter's call is rejected with the
// Location's host in the message (issue 11, item 4).
func TestCredentialsNeverFollowARedirectToAnotherHost(t *testing.T) {
	var stolen atomic.Int32
	var got atomic.Value
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		got.Store(r.Header.Clone())
		_, _ = w.Write([]byte(`{"code":"200","msg":"stolen-session"}`))
	}))
	defer evil.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", evil.URL+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	evilHost, _ := url.Parse(evil.URL)

	e := newE2E(t)
	client := func(name string) *adapter.Client {
		return &adapter.Client{HTTP: adapter.NewHTTPClient(4), Target: name}
	}
	ls := e.cfg.LeanSoft
	dc := e.cfg.DIA
	sess, err := dia.NewSession(dia.Config{BaseURL: redirector.URL + "/api/v3", Username: dc.Username, Password: dc.Password,
		APIKey: dc.APIKey, FirmaKodu: dc.FirmaKodu, DonemKodu: dc.DonemKodu}, client("dia"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]struct {
		tg  adapter.Target
		typ string
	}{
		"licrus": {licrus.New(licrus.Config{BaseURL: redirector.URL + "/api", AuthTicket: ticket}, client("licrus")), "installation.requested"},
		"leansoft": {leansoft.New(leansoft.Config{BaseURL: redirector.URL + "/api", CompanyID: ls.CompanyID, AuthHeader: ls.AuthHeader,
			AuthValue: ls.AuthValue, DefaultReferenceGroupCode: ls.ReferenceGroupCode}, client("leansoft")), "customer.created"},
		"dia": {dia.NewCustomerTarget(sess), "customer.created"},
	}
	for name, tc := range targets {
		ev := exampleEvent(t, tc.typ, nil)
		if tc.typ == "customer.created" {
			ev = customerEvent(t, "C-REDIR-"+name, nil)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := tc.tg.Call(ctx, adapter.Request{EventID: ev.ID, Type: ev.Type, Source: ev.Source, Data: ev.Data})
		cancel()
		if err == nil {
			t.Fatalf("%s: the call succeeded through a redirect to %s (%d requests there)", name, evilHost.Host, stolen.Load())
		}
		te := adapter.AsError(err)
		if te.Class != adapter.ClassRejected || !strings.Contains(te.Msg, evilHost.Host) {
			t.Errorf("%s: %v; want rejected naming %s", name, err, evilHost.Host)
		}
		if n := stolen.Load(); n != 0 {
			t.Fatalf("%s: the other host received %d requests (headers %v)", name, n, got.Load())
		}
	}
}

// Lean Soft configured with a scheme'd auth value (Authorization: Bearer X) echoes X — in another case,
// and base64'd — in its refusal: neither reaches Kopru-Error (what the page, the admin API and
// `kopru dlq` show) nor a log line (issue 11, item 7).
func TestLeanSoftEchoedBearerTokenIsScrubbed(t *testing.T) {
	const tok = "LsTok-7c1d9e2f4a6b8c0d"
	b64 := base64.StdEncoding.EncodeToString([]byte(tok))
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"Result":false,"Message":"yetkisiz anahtar %s (%s) reddedildi"}`, strings.ToUpper(tok), b64)
	}))
	defer vendor.Close()
	e := newE2E(t)
	ls := e.cfg.LeanSoft
	tg := leansoft.New(leansoft.Config{BaseURL: vendor.URL + "/api", CompanyID: ls.CompanyID, AuthHeader: "Authorization",
		AuthValue: "Bearer " + tok, DefaultReferenceGroupCode: ls.ReferenceGroupCode},
		&adapter.Client{HTTP: adapter.NewHTTPClient(4), Target: "leansoft"})
	e.start([]worker.Route{e2eRoute(t, "leansoft-customer", tg, fastPolicy(3))})
	dlq := e.watch(bus.StreamDLQ, "dlq.>")
	e.publish(customerEvent(t, "C-ECHO-1", nil), "")
	dl := dlq.wait(1, 10*time.Second)
	msg := dl[0].Headers().Get(deadletter.HdrError)
	if deadletter.Class(dl[0].Headers().Get(deadletter.HdrErrorClass)) != deadletter.Rejected || !strings.Contains(msg, "reddedildi") {
		t.Fatalf("dead letter %v", dl[0].Headers())
	}
	for _, leak := range []string{strings.ToLower(tok), strings.ToLower(b64)} {
		if strings.Contains(strings.ToLower(msg), leak) {
			t.Fatalf("Kopru-Error holds the token: %s", msg)
		}
		for _, l := range e.logs.All() {
			if line := l.Message + fmt.Sprint(l.ContextMap()); strings.Contains(strings.ToLower(line), leak) {
				t.Fatalf("a log line holds the token: %s", line)
			}
		}
	}
}
