package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadYAML(t *testing.T, text string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kopru.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, env(nil))
	return err
}

// TestYAMLErrorsSayWhatToWrite: every problem names its line and YAML path, never a Go type, and says
// what to write instead.
func TestYAMLErrorsSayWhatToWrite(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"misspelt key, did you mean", "nats: {url: x}\nroutes:\n  licrus-installation:\n    concurency: 3\n",
			[]string{"line 4: routes.licrus-installation.concurency: unknown key; did you mean concurrency?"}},
		{"misspelt top-level key", "natz: {url: x}\n", []string{"line 1: natz: unknown key; did you mean nats?"}},
		{"unknown key, nothing close", "nats:\n  frobnicate: 1\n", []string{"line 2: nats.frobnicate: unknown key (known: url, creds,"}},
		{"bare number duration", "routes:\n  licrus-installation:\n    attemptTimeout: 15\n",
			[]string{"line 3: routes.licrus-installation.attemptTimeout: a duration needs a unit: write `15s`"}},
		{"bare number in a flow mapping", "streams: {replicas: 3,\n  eventsMaxAge: 168}\n",
			[]string{"line 2: streams.eventsMaxAge: a duration needs a unit: write `168s`"}},
		{"bad duration text", "targets:\n  licrus: {openFor: soon}\n", []string{"line 2: targets.licrus.openFor: \"soon\" is not a duration"}},
		{"text for a number", "streams:\n  replicas: three\n", []string{"line 2: streams.replicas: want a whole number, not text"}},
		{"quoted number", "dia:\n  firmaKodu: \"34\"\n", []string{"line 2: dia.firmaKodu: want a whole number"}},
		{"scalar for a route", "routes:\n  licrus-installation: 5\n", []string{"line 2: routes.licrus-installation: want a mapping of enabled, eventType"}},
		{"every problem at once, in order", "natz: 1\nstreams:\n  replicas: x\nroutes:\n  dia-customer: {ackWait: 30}\n",
			[]string{"line 1: natz", "line 3: streams.replicas", "line 5: routes.dia-customer.ackWait"}},
		{"tabs", "nats:\n\turl: x\n", []string{"spaces, not tabs"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := loadYAML(t, tc.yaml)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			last := -1
			for _, w := range tc.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not say %q", msg, w)
				}
				if i < last {
					t.Fatalf("error\n%s\nnot in document order at %q", msg, w)
				}
				last = i
			}
			if strings.Contains(msg, "config.") || strings.Contains(msg, "time.Duration") {
				t.Fatalf("error names a Go type: %s", msg)
			}
		})
	}
}

func TestYAMLCheckAcceptsWhatTheDecoderAccepts(t *testing.T) {
	good := `
nats: {url: "nats://n:4222", syncAlways: yes}
streams: {replicas: 3, eventsMaxAge: 168h, duplicateWindow: 10m}
httpAddr: ":8080"
ingest: {tokens: [a, b]}
leansoft: {url: "https://x/api", companyId: 1001}
dia: {firmaKodu: 34, donemKodu: 0x1}
defaults: &d {concurrency: 4}
routes:
  licrus-installation: {<<: *d, attemptTimeout: 1.5s}
  dia-service-note: {enabled: false}
  dia-service-note-2: ~
targets:
  licrus: {rate: 2, burst: 4}
`
	err := loadYAML(t, good)
	if err == nil || !strings.Contains(err.Error(), "defaults: unknown key") {
		t.Fatalf("want only the unknown anchor holder refused: %v", err)
	}
	if err := loadYAML(t, strings.Replace(good, "defaults: &d {concurrency: 4}\n", "", 1)+"x: &d {}\n"); err == nil {
		t.Fatal("x accepted")
	}
	noAnchor := strings.NewReplacer("defaults: &d {concurrency: 4}\n", "", "<<: *d, ", "").Replace(good)
	if err := loadYAML(t, noAnchor); err != nil {
		t.Fatalf("good file refused: %v", err)
	}
}

func TestSecretsAreNotEchoed(t *testing.T) {
	err := loadYAML(t, "dia:\n  password: [s3cr3t-value]\n  firmaKodu: s3cr3t-value\n")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v", err)
	}
}

func TestCheckTargetsNamesEveryMissingSetting(t *testing.T) {
	c := Config{
		LeanSoft: LeanSoft{URL: "https://x/api"},
		DIA:      DIA{URL: "https://acme.ws.dia.com.tr/api/v3", Password: "pw"},
		Licrus:   Licrus{URL: "not a url", AuthTicket: "t"},
	}
	err := c.CheckTargets("licrus", "leansoft", "dia")
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("err %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"Lean Soft: set KOPRU_LEANSOFT_COMPANY_ID or leansoft.companyId",
		"DİA: set KOPRU_DIA_USERNAME or dia.username",
		"DİA: set KOPRU_DIA_API_KEY (or KOPRU_DIA_API_KEY_FILE) or dia.apiKey",
		"DİA: set KOPRU_DIA_FIRMA_KODU or dia.firmaKodu",
		"DİA: set KOPRU_DIA_DONEM_KODU or dia.donemKodu",
		"Licrus: KOPRU_LICRUS_URL or licrus.url is not an absolute http(s) URL",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error\n%s\ndoes not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "KOPRU_DIA_PASSWORD ") || strings.Contains(msg, "pw") && !strings.Contains(msg, "password") {
		t.Errorf("a setting that is there was reported: %s", msg)
	}
	if err := c.CheckTargets("leansoft"); err == nil || strings.Contains(err.Error(), "DİA") {
		t.Fatalf("only the named targets are checked: %v", err)
	}
	if err := (Config{}).CheckTargets("licrus", "leansoft", "dia"); err != nil {
		t.Fatalf("targets without a URL are not checked: %v", err)
	}
	ok := Config{DIA: DIA{URL: "https://a/api/v3", Username: "u", Password: "p", APIKey: "k", FirmaKodu: 34, DonemKodu: 1}}
	if err := ok.CheckTargets("dia"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRoutesSuggestsABuiltInName(t *testing.T) {
	builtin := []string{"licrus-installation", "licrus-first-start", "dia-customer"}
	c := Config{Routes: map[string]Route{
		"licrus-instalation": {Concurrency: 3},
		"dia-customer":       {Concurrency: 2},
		"my-own":             {EventType: "customer.created"},
		"zzz":                {},
	}}
	err := c.CheckRoutes(builtin)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{"routes.licrus-instalation: no such route; did you mean licrus-installation?", "routes.zzz: no such route (built-in routes:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error\n%s\ndoes not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "my-own") || strings.Contains(msg, "routes.dia-customer") {
		t.Errorf("a good route was reported: %s", msg)
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"installation.requested", "customer.created", "service-note.created"}
	for in, want := range map[string]string{
		"installation.requsted": "installation.requested",
		"Customer.Created":      "customer.created",
		"customer.synced":       "",
		"x":                     "",
		"customer.created":      "",
	} {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
