package leansoft

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestChecksumPolicyConfig(t *testing.T) {
	ok := Config{BaseURL: "https://api.leanbilisim.com/api", CompanyID: "42"}
	for _, p := range []Policy{"", PolicyEnforce, PolicyWarn, PolicyOff, "WARN", " off "} {
		c := ok
		c.Checksums = Checksums{TaxNumber: p, UserIdentityNumber: p}
		if err := c.Validate(); err != nil {
			t.Errorf("policy %q: %v", p, err)
		}
	}
	c := ok
	c.Checksums.UserIdentityNumber = "strict"
	if err := c.Validate(); err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "userIdentityNumber") {
		t.Errorf("Validate = %v, want ErrConfig naming userIdentityNumber", err)
	}
	if got := (Checksums{}).String(); got != "{taxNumber:enforce userIdentityNumber:warn}" {
		t.Errorf("defaults %s", got)
	}
	if got := (Checksums{TaxNumber: "Off", UserIdentityNumber: "bogus"}).withDefaults(); got.TaxNumber != PolicyOff || got.UserIdentityNumber != PolicyEnforce {
		t.Errorf("withDefaults = %+v, want off and (unknown →) enforce", got)
	}
	if !strings.Contains(ok.String(), "Checksums:{taxNumber:enforce userIdentityNumber:warn}") {
		t.Errorf("String() = %s", ok.String())
	}
}

// A warning is logged once per failed check, masked, and the call goes out; enforce sends nothing.
func TestChecksumWarningLoggedMasked(t *testing.T) {
	tg, s, _ := setup(t)
	core, logs := observer.New(zapcore.WarnLevel)
	tg.Logger = zap.New(core)
	m := valid()
	m["taxNumber"] = "10000000147" // wrong TCKN check digit
	tg.cfg.Checksums = Checksums{TaxNumber: PolicyWarn}
	if _, err := tg.Call(context.Background(), request(encode(t, m))); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if s.Count() != 1 {
		t.Fatalf("simulator accepted %d, want 1", s.Count())
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d log entries, want 1", len(entries))
	}
	f := entries[0].ContextMap()
	if f["field"] != "taxNumber" || f["rule"] != string(RuleChecksum) || f["detail"] != "*********47 fails the TCKN checksum" || f["eventId"] == "" {
		t.Errorf("log fields %v", f)
	}
	for _, e := range entries {
		if strings.Contains(e.Message, "10000000147") || strings.Contains(f["detail"].(string), "10000000147") {
			t.Errorf("log shows the number: %v", e)
		}
	}

	tg.cfg.Checksums = Checksums{TaxNumber: PolicyEnforce}
	if _, err := tg.Call(context.Background(), request(encode(t, m))); err == nil {
		t.Fatal("enforce sent the event")
	}
	if s.Requests() != 1 {
		t.Errorf("simulator saw %d requests, want 1", s.Requests())
	}
}
