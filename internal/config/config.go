// Package config reads Köprü's configuration: a YAML file (--config) and KOPRU_* environment variables,
// which win. Every secret may also come from a file named by the variable with a _FILE suffix. The
// zero Config is valid and means: embedded NATS, no targets.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is everything a Köprü process needs.
type Config struct {
	NATS     NATS              `yaml:"nats"`
	Streams  Streams           `yaml:"streams"`
	HTTPAddr string            `yaml:"httpAddr"`
	Log      Log               `yaml:"log"`
	Ingest   Tokens            `yaml:"ingest"`
	Admin    Tokens            `yaml:"admin"`
	Licrus   Licrus            `yaml:"licrus"`
	LeanSoft LeanSoft          `yaml:"leansoft"`
	DIA      DIA               `yaml:"dia"`
	Routes   map[string]Route  `yaml:"routes"`  // by route name: enable/disable, retry budget
	Targets  map[string]Target `yaml:"targets"` // by target name: limits
}

// NATS says where JetStream is.
type NATS struct {
	URL        string `yaml:"url"`        // empty: start an embedded server
	Creds      string `yaml:"creds"`      // credentials file
	DataDir    string `yaml:"dataDir"`    // embedded server's store (default ./data/nats)
	Listen     string `yaml:"listen"`     // embedded server's client address (default 127.0.0.1:4222; ":0" picks a port)
	SyncAlways *bool  `yaml:"syncAlways"` // embedded server: fsync every write (default true for run)

	// Other ways to authenticate than Creds (set at most one; see bus.ConnectOptions), and TLS.
	NKeySeedFile string `yaml:"nkeySeedFile"` // file holding an NKey user seed (KOPRU_NATS_NKEY_SEED_FILE)
	User         string `yaml:"user"`         // KOPRU_NATS_USER
	Password     string `yaml:"password"`     // secret: KOPRU_NATS_PASSWORD or KOPRU_NATS_PASSWORD_FILE
	Token        string `yaml:"token"`        // secret: KOPRU_NATS_TOKEN or KOPRU_NATS_TOKEN_FILE
	TLSCA        string `yaml:"tlsCA"`        // CA file of the server's certificate (KOPRU_NATS_TLS_CA)
	TLSCert      string `yaml:"tlsCert"`      // client certificate file (KOPRU_NATS_TLS_CERT)
	TLSKey       string `yaml:"tlsKey"`       // client key file (KOPRU_NATS_TLS_KEY)
}

// Streams sets retention and durability of the streams and the ledger.
type Streams struct {
	Replicas        int           `yaml:"replicas"`
	EventsMaxAge    time.Duration `yaml:"eventsMaxAge"`
	OutcomesMaxAge  time.Duration `yaml:"outcomesMaxAge"`
	DLQMaxAge       time.Duration `yaml:"dlqMaxAge"`
	LedgerMaxAge    time.Duration `yaml:"ledgerMaxAge"`
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`
}

// Log sets the logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error (default info)
	Format string `yaml:"format"` // json (default for run) or console
}

// Tokens is a list of bearer tokens.
type Tokens struct {
	Tokens []string `yaml:"tokens"`
	// MaxWait (ingest only) caps `Prefer: wait=N` on POST /v1/events/{type} (0: 30 s).
	MaxWait time.Duration `yaml:"maxWait"`
}

// Licrus configures both Licrus routes.
type Licrus struct {
	URL        string `yaml:"url"` // API root, e.g. https://test-ecostar-api.licrus.com/api
	AuthTicket string `yaml:"authTicket"`
}

// LeanSoft configures the Lean Soft route.
type LeanSoft struct {
	URL                string `yaml:"url"` // API root, e.g. https://api.leanbilisim.com/api
	CompanyID          string `yaml:"companyId"`
	AuthHeader         string `yaml:"authHeader"`
	AuthValue          string `yaml:"authValue"`
	ReferenceGroupCode string `yaml:"referenceGroupCode"`
	// Checksums sets the policy (enforce, warn or off; empty: the default) of each number check Köprü
	// adds on top of the Lean Soft doc; internal/adapter/leansoft/RULES.md says what each does.
	Checksums LeanSoftChecksums `yaml:"checksums"`
}

// LeanSoftChecksums is leansoft.checksums: {taxNumber: enforce, userIdentityNumber: warn} are the
// defaults.
type LeanSoftChecksums struct {
	TaxNumber          string `yaml:"taxNumber"`
	UserIdentityNumber string `yaml:"userIdentityNumber"`
}

// DIA configures the DİA routes.
type DIA struct {
	URL       string `yaml:"url"` // API root, e.g. https://acme.ws.dia.com.tr/api/v3
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
	APIKey    string `yaml:"apiKey"`
	FirmaKodu int    `yaml:"firmaKodu"`
	DonemKodu int    `yaml:"donemKodu"`
	// DisconnectSameUser asks DİA to end the user's other sessions at login. Every Köprü replica logs
	// in with the same user, so this stays false unless a single worker runs (default false).
	DisconnectSameUser bool `yaml:"disconnectSameUser"`
}

// Route overrides one route's defaults, or — under a new name, with eventType, outcomeType, target and
// operation — adds a route of its own.
type Route struct {
	Enabled        *bool         `yaml:"enabled"`
	EventType      string        `yaml:"eventType"`
	OutcomeType    string        `yaml:"outcomeType"`
	Target         string        `yaml:"target"`    // licrus, leansoft, dia
	Operation      string        `yaml:"operation"` // e.g. scf_carikart_ekle
	Concurrency    int           `yaml:"concurrency"`
	MaxAttempts    int           `yaml:"maxAttempts"`
	MaxDeliveries  int           `yaml:"maxDeliveries"`
	AttemptTimeout time.Duration `yaml:"attemptTimeout"`
	// Backoff between calls that had no effect: InitialInterval doubling (±50% jitter) up to
	// MaxInterval; waits longer than InProcessWait go back to JetStream (NakWithDelay).
	InitialInterval time.Duration `yaml:"initialInterval"`
	MaxInterval     time.Duration `yaml:"maxInterval"`
	InProcessWait   time.Duration `yaml:"inProcessWait"`
	AckWait         time.Duration `yaml:"ackWait"`
	MaxAckPending   int           `yaml:"maxAckPending"`
}

// Target sets limits shared by every route of one target.
type Target struct {
	Concurrency      int           `yaml:"concurrency"`      // calls in flight at once per process (default 64)
	Rate             float64       `yaml:"rate"`             // calls per second per process (0: unlimited)
	Burst            int           `yaml:"burst"`            // token bucket size (default: concurrency)
	FailureThreshold int           `yaml:"failureThreshold"` // consecutive failures that open the circuit (default 5)
	OpenFor          time.Duration `yaml:"openFor"`          // circuit open time before a probe (default 30s)
}

// Load reads path (optional) then applies the environment (getenv is os.Getenv in production).
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(b, &c); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return c, err
	}
	return c, nil
}

// decodeYAML checks the document's keys and value kinds first (checkYAML says what to write, by YAML
// path and line), then decodes it strictly.
func decodeYAML(b []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		if bytes.Contains(b, []byte("\n\t")) || bytes.HasPrefix(b, []byte("\t")) {
			return fmt.Errorf("%w (YAML indents with spaces, not tabs)", err)
		}
		return err
	}
	if err := checkYAML(&doc); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (c *Config) applyEnv(getenv func(string) string) error {
	var errs []error
	str := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	secret := func(dst *string, name string) {
		str(dst, name)
		if f := getenv(name + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return
			}
			*dst = strings.TrimSpace(string(b))
		}
	}
	num := func(dst *int, name string) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a number", name, v))
				return
			}
			*dst = n
		}
	}
	list := func(dst *[]string, name string) {
		var s string
		secret(&s, name)
		if s == "" {
			return
		}
		*dst = nil
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				*dst = append(*dst, t)
			}
		}
	}
	str(&c.NATS.URL, "KOPRU_NATS_URL")
	str(&c.NATS.Creds, "KOPRU_NATS_CREDS")
	str(&c.NATS.NKeySeedFile, "KOPRU_NATS_NKEY_SEED_FILE")
	str(&c.NATS.User, "KOPRU_NATS_USER")
	secret(&c.NATS.Password, "KOPRU_NATS_PASSWORD")
	secret(&c.NATS.Token, "KOPRU_NATS_TOKEN")
	str(&c.NATS.TLSCA, "KOPRU_NATS_TLS_CA")
	str(&c.NATS.TLSCert, "KOPRU_NATS_TLS_CERT")
	str(&c.NATS.TLSKey, "KOPRU_NATS_TLS_KEY")
	str(&c.HTTPAddr, "KOPRU_HTTP_ADDR")
	list(&c.Ingest.Tokens, "KOPRU_INGEST_TOKENS")
	list(&c.Admin.Tokens, "KOPRU_ADMIN_TOKENS")
	num(&c.Streams.Replicas, "KOPRU_STREAM_REPLICAS")
	str(&c.Licrus.URL, "KOPRU_LICRUS_URL")
	secret(&c.Licrus.AuthTicket, "KOPRU_LICRUS_AUTH_TICKET")
	str(&c.LeanSoft.URL, "KOPRU_LEANSOFT_URL")
	str(&c.LeanSoft.CompanyID, "KOPRU_LEANSOFT_COMPANY_ID")
	str(&c.LeanSoft.AuthHeader, "KOPRU_LEANSOFT_AUTH_HEADER")
	secret(&c.LeanSoft.AuthValue, "KOPRU_LEANSOFT_AUTH_VALUE")
	str(&c.DIA.URL, "KOPRU_DIA_URL")
	str(&c.DIA.Username, "KOPRU_DIA_USERNAME")
	secret(&c.DIA.Password, "KOPRU_DIA_PASSWORD")
	secret(&c.DIA.APIKey, "KOPRU_DIA_API_KEY")
	num(&c.DIA.FirmaKodu, "KOPRU_DIA_FIRMA_KODU")
	num(&c.DIA.DonemKodu, "KOPRU_DIA_DONEM_KODU")
	str(&c.Log.Level, "KOPRU_LOG_LEVEL")
	str(&c.Log.Format, "KOPRU_LOG_FORMAT")
	return errors.Join(errs...)
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if r := c.Streams.Replicas; r != 0 && r != 1 && r != 3 {
		return fmt.Errorf("stream replicas must be 1 or 3 (KOPRU_STREAM_REPLICAS), not %d", r)
	}
	return nil
}

// RouteEnabled reports whether route name is switched on (default true when its target is set).
func (c Config) RouteEnabled(name string) bool {
	if r, ok := c.Routes[name]; ok && r.Enabled != nil {
		return *r.Enabled
	}
	return true
}
