package leansoft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim"
	leansoftsim "github.com/kopru/kopru/internal/sim/leansoft"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{BaseURL: "https://api.leanbilisim.com/api", CompanyID: "42", AuthHeader: "X-Api-Key", AuthValue: testSecret}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" = valid; else in the message
	}{
		{"complete", func(*Config) {}, ""},
		{"no auth at all", func(c *Config) { c.AuthHeader, c.AuthValue = "", "" }, ""},
		{"trailing slash", func(c *Config) { c.BaseURL += "/" }, ""},
		{"no base URL", func(c *Config) { c.BaseURL = " " }, "BaseURL is required"},
		{"relative base URL", func(c *Config) { c.BaseURL = "api.leanbilisim.com/api" }, "BaseURL must be an absolute"},
		{"not http", func(c *Config) { c.BaseURL = "ftp://api.leanbilisim.com" }, "BaseURL must be an absolute"},
		{"no company", func(c *Config) { c.CompanyID = "" }, "CompanyID is required"},
		{"company with slash", func(c *Config) { c.CompanyID = "4/2" }, "CompanyID must not contain"},
		{"value without header", func(c *Config) { c.AuthHeader = "" }, "AuthHeader is empty"},
		{"header without value", func(c *Config) { c.AuthValue = "" }, "AuthValue is empty"},
		{"bad header name", func(c *Config) { c.AuthHeader = "X Api:Key" }, "not a valid HTTP header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want ErrConfig with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// TestSecretNeverShown gathers every text an operator might see — errors of every class, the
// configuration printed, marshalled and logged — and looks for the auth value in each.
func TestSecretNeverShown(t *testing.T) {
	var texts []string
	add := func(what string, s string) { texts = append(texts, what+": "+s) }

	cfg := Config{BaseURL: "https://user:hunter2@api.leanbilisim.com/api", CompanyID: "42", AuthHeader: testAuthHeader,
		AuthValue: testSecret, DefaultReferenceGroupCode: "PYTY"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		add(verb, fmt.Sprintf(verb, cfg))
		add("pointer "+verb, fmt.Sprintf(verb, &cfg))
	}
	add("String", cfg.String())
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	add("json", string(j))

	var zbuf bytes.Buffer
	zl := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&zbuf), zap.DebugLevel))
	zl.Info("config", zap.Any("any", cfg), zap.Object("object", cfg), zap.Reflect("reflect", cfg), zap.Stringer("stringer", cfg))
	_ = zl.Sync()
	add("zap", zbuf.String())
	if !strings.Contains(zbuf.String(), redacted) {
		t.Errorf("zap output does not show the redaction: %s", zbuf.String())
	}

	var sbuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&sbuf, nil)).Info("config", "leansoft", cfg)
	add("slog", sbuf.String())

	// Configuration errors with the secret set.
	for _, c := range []Config{{AuthValue: testSecret}, {BaseURL: "x", CompanyID: "1", AuthHeader: "a b", AuthValue: testSecret}} {
		add("validate", c.Validate().Error())
		_, err := New(c, nil).Call(context.Background(), request(encode(t, valid())))
		add("call with bad config", err.Error())
	}

	// Errors of real calls: the simulator expects another value, so the secret is sent and refused.
	s := leansoftsim.New(testCompany, testAuthHeader, "the-other-value")
	srv := httptest.NewServer(s)
	defer srv.Close()
	live := Config{BaseURL: srv.URL + "/api", CompanyID: testCompany, AuthHeader: testAuthHeader, AuthValue: testSecret}
	tg := New(live, &adapter.Client{HTTP: srv.Client(), Target: Name})
	call := func(what string, data []byte) {
		_, err := tg.Call(context.Background(), request(data))
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		te := asTargetError(t, err)
		add(what, err.Error()+" | "+te.Msg+" | "+fmt.Sprintf("%+v", te))
	}
	call("401", encode(t, valid()))
	call("invalid event", []byte(`{"taxNumber":"1"}`))
	for _, f := range []sim.Fault{{Status: 503}, {Status: 500}, {Status: 400, Body: `{"Result":false,"Message":"x"}`}, {Status: 200, Body: "?"}, {ResetAfterAct: true}} {
		s.Faults.Push(f)
		call(fmt.Sprintf("fault %+v", f), encode(t, valid()))
	}
	srv.Close()
	call("not sent", encode(t, valid()))

	for _, text := range texts {
		if strings.Contains(text, testSecret) {
			t.Errorf("secret shown in %s", text)
		}
		if strings.Contains(text, "hunter2") {
			t.Errorf("URL password shown in %s", text)
		}
	}
	if len(texts) < 25 {
		t.Errorf("only %d texts checked", len(texts))
	}
}

// The Authorization-style header must actually carry the secret: redaction is for display only.
func TestSecretIsSent(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get(testAuthHeader)
		_, _ = w.Write([]byte(`{"Result":true,"Message":"ok","Item":{"CustomerID":"e5502ff6-396a-4ed9-b5e9-cc3f4212a2af"}}`))
	}))
	defer srv.Close()
	tg := New(Config{BaseURL: srv.URL, CompanyID: "1", AuthHeader: testAuthHeader, AuthValue: testSecret}, nil)
	res, err := tg.Call(context.Background(), request(encode(t, valid())))
	if err != nil || got != testSecret || res.Fields["customerId"] != "e5502ff6-396a-4ed9-b5e9-cc3f4212a2af" || res.Fields["message"] != "ok" {
		t.Errorf("got header %q, result %v, err %v", got, res.Fields, err)
	}
}
