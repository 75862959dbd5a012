package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnvironmentWinsOverFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kopru.yaml")
	yaml := `
nats: {url: "nats://file:4222"}
streams: {replicas: 3, eventsMaxAge: 48h}
licrus: {url: "https://file/api", authTicket: "from-file"}
routes:
  dia-service-note: {enabled: false}
  licrus-installation: {concurrency: 7, attemptTimeout: 3s}
targets:
  licrus: {concurrency: 9, rate: 2.5}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "ticket")
	if err := os.WriteFile(secret, []byte("from-secret-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(map[string]string{
		"KOPRU_NATS_URL":                "nats://env:4222",
		"KOPRU_LICRUS_AUTH_TICKET_FILE": secret,
		"KOPRU_INGEST_TOKENS":           " a, b ,,c ",
		"KOPRU_DIA_FIRMA_KODU":          "34",
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"env wins", c.NATS.URL, "nats://env:4222"},
		{"file kept", c.Licrus.URL, "https://file/api"},
		{"_FILE secret, trimmed", c.Licrus.AuthTicket, "from-secret-file"},
		{"token list", strings.Join(c.Ingest.Tokens, "|"), "a|b|c"},
		{"number", c.DIA.FirmaKodu, 34},
		{"duration", c.Streams.EventsMaxAge, 48 * time.Hour},
		{"route override", c.Routes["licrus-installation"].Concurrency, 7},
		{"route timeout", c.Routes["licrus-installation"].AttemptTimeout, 3 * time.Second},
		{"target rate", c.Targets["licrus"].Rate, 2.5},
		{"disabled route", c.RouteEnabled("dia-service-note"), false},
		{"enabled by default", c.RouteEnabled("leansoft-customer"), true},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("natz: {url: x}\n"), 0o600)
	cases := []struct {
		name string
		path string
		env  map[string]string
		want string
	}{
		{"unknown key", bad, nil, "natz"},
		{"missing file", filepath.Join(dir, "nope.yaml"), nil, "read config"},
		{"not a number", "", map[string]string{"KOPRU_STREAM_REPLICAS": "three"}, "KOPRU_STREAM_REPLICAS"},
		{"missing secret file", "", map[string]string{"KOPRU_DIA_PASSWORD_FILE": filepath.Join(dir, "none")}, "KOPRU_DIA_PASSWORD_FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
	c := Config{Streams: Streams{Replicas: 2}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "1 or 3") {
		t.Fatalf("replicas 2 accepted: %v", err)
	}
}

func TestEmptyFileIsTheZeroConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.yaml")
	_ = os.WriteFile(path, nil, 0o600)
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.URL != "" || c.Validate() != nil {
		t.Fatalf("zero config not valid: %+v", c)
	}
}

func TestLeanSoftChecksumsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kopru.yaml")
	yaml := "leansoft:\n  checksums:\n    taxNumber: warn\n    userIdentityNumber: \"off\"\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LeanSoft.Checksums; got.TaxNumber != "warn" || got.UserIdentityNumber != "off" {
		t.Fatalf("checksums = %+v", got)
	}
}
