package dia

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func goodConfig() Config {
	return Config{BaseURL: "https://acme.ws.dia.com.tr/api/v3", Username: "ws", Password: testPassword, APIKey: testAPIKey,
		FirmaKodu: 34, DonemKodu: 1}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"good", func(*Config) {}, ""},
		{"trailing slash is fine", func(c *Config) { c.BaseURL += "/" }, ""},
		{"no URL", func(c *Config) { c.BaseURL = "" }, "BaseURL is empty"},
		{"not http", func(c *Config) { c.BaseURL = "ftp://x/api/v3" }, "not an http(s) URL"},
		{"service URL", func(c *Config) { c.BaseURL = "https://acme.ws.dia.com.tr/api/v3/sis/json" }, "API root"},
		{"credentials in URL", func(c *Config) { c.BaseURL = "https://u:" + testPassword + "@acme.ws.dia.com.tr/api/v3" }, "must not carry credentials"},
		{"query in URL", func(c *Config) { c.BaseURL += "?token=" + testAPIKey }, "query"},
		{"no user", func(c *Config) { c.Username = " " }, "Username"},
		{"no password", func(c *Config) { c.Password = "" }, "Password"},
		{"no api key", func(c *Config) { c.APIKey = "" }, "APIKey"},
		{"no firma", func(c *Config) { c.FirmaKodu = 0 }, "FirmaKodu"},
		{"no donem", func(c *Config) { c.DonemKodu = -1 }, "DonemKodu"},
		{"negative cooldown", func(c *Config) { c.LoginCooldown = -1 }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := goodConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testAPIKey) {
				t.Fatalf("secret in %v", err)
			}
			if _, err := NewSession(c, nil); err == nil {
				t.Fatal("NewSession accepted an invalid config")
			}
		})
	}
}

func TestConfigPrintsNoSecret(t *testing.T) {
	c := goodConfig()
	c.BaseURL = "https://acme.ws.dia.com.tr/api/v3?token=" + testAPIKey
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "dia", c)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(goodConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, &c), string(js), logged.String(),
		fmt.Sprintf("%v %+v", s, s),
	}
	for _, out := range outs {
		if strings.Contains(out, testPassword) || strings.Contains(out, testAPIKey) {
			t.Fatalf("secret in %q", out)
		}
	}
	if !strings.Contains(c.String(), "Password:****") || !strings.Contains(c.String(), `Username:"ws"`) || !strings.Contains(c.String(), "FirmaKodu:34") {
		t.Fatalf("String %s", c.String())
	}
	if !strings.Contains(logged.String(), `"password":"****"`) {
		t.Fatalf("slog %s", logged.String())
	}
}

// TestSchemas: the service-note schemas compile, accept their examples and refuse what they must.
func TestSchemas(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "schemas")
	compile := func(name string) *jsonschema.Schema {
		t.Helper()
		c := jsonschema.NewCompiler()
		sch, err := c.Compile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return sch
	}
	load := func(s string) any {
		t.Helper()
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	created := compile("service-note.created.v1.json")
	synced := compile("service-note.synced.v1.json")
	ex := func(name string) string { return string(readFile(t, filepath.Join(dir, "examples", name))) }

	tests := []struct {
		name   string
		schema *jsonschema.Schema
		doc    string
		ok     bool
	}{
		{"created example", created, ex("service-note.created.json"), true},
		{"synced example", synced, ex("service-note.synced.json"), true},
		{"minimal", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31"}`, true},
		{"unknown fields allowed", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","x":1}`, true},
		{"empty optionals", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","time":"","spentTime":"","spentTimeUnit":""}`, true},
		{"spent time as text", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTime":"15.00","spentTimeUnit":"hours"}`, true},
		{"no customer", created, `{"user":"ws","subject":"s","date":"2024-01-31"}`, false},
		{"blank user", created, `{"customerCode":"C1","user":"  ","subject":"s","date":"2024-01-31"}`, false},
		{"no subject", created, `{"customerCode":"C1","user":"ws","date":"2024-01-31"}`, false},
		{"no date", created, `{"customerCode":"C1","user":"ws","subject":"s"}`, false},
		{"date format", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"31.01.2024"}`, false},
		{"time format", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","time":"9:00"}`, false},
		{"negative time spent", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTime":-1}`, false},
		{"unit DİA code", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"D"}`, true},
		{"unit DİA code lower case", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"g"}`, true},
		{"unit English upper case", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"HOURS"}`, true},
		{"unit Turkish", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"Gün"}`, true},
		{"unit unknown", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"weeks"}`, false},
		{"unit unknown code", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":"X"}`, false},
		{"unit not a string", created, `{"customerCode":"C1","user":"ws","subject":"s","date":"2024-01-31","spentTimeUnit":1}`, false},
		{"code over 30", created, `{"customerCode":"` + strings.Repeat("x", 31) + `","user":"ws","subject":"s","date":"2024-01-31"}`, false},
		{"synced needs key", synced, `{"requestId":"r","route":"dia-service-note","target":"dia"}`, false},
		{"synced target is dia", synced, `{"requestId":"r","route":"dia-service-note","target":"licrus","key":"1"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.schema.Validate(load(tc.doc))
			if (err == nil) != tc.ok {
				t.Fatalf("valid=%t, want %t: %v", err == nil, tc.ok, err)
			}
		})
	}
}
