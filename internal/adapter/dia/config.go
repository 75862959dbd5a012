// Package dia is Köprü's adapter for the DİA ERP web-service API v3 (the `_ekle` insert services of
// api-docs/erp-ekle-insert-services.txt, plus login, logout and `scf_carikart_listele`).
//
// One *Session holds the process's single DİA session (login once, shared by every goroutine, renewed
// once when DİA says it expired) and performs the calls; two targets share it:
//
//   - CustomerTarget: customer.created → scf_carikart_ekle (also a target.Finder by carikartkodu and a
//     target.Closer that logs out);
//   - ServiceNoteTarget: service-note.created → gts_notlar_ekle.
//
// The mappings are pure functions (CustomerMapping.Kart, ServiceNoteMapping.Kart). Which DİA field names
// come from the vendor's doc and which are assumptions is listed in MAPPING.md beside this file.
//
// Secrets (password, API key, session id) never appear in an error, in a header or in Config.String:
// they travel only inside the JSON body DİA asks for.
package dia

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/redact"
)

// Defaults for the optional Config fields.
const (
	DefaultLoginCooldown = 30 * time.Second
	DefaultLoginTimeout  = 30 * time.Second
)

// Config is what the adapter needs to reach one DİA company and fiscal period. The zero value is not
// usable: Username, Password, APIKey, BaseURL, FirmaKodu and DonemKodu are required (Validate says
// which is missing). Print it freely: String, GoString, LogValue and MarshalJSON mask the secrets.
type Config struct {
	// BaseURL is the API root as DİA prints it, e.g. https://<server>.ws.dia.com.tr/api/v3. Calls go
	// to {BaseURL}/<module>/json, module being the service's prefix (sis, scf, gts).
	BaseURL  string
	Username string
	Password string // secret
	APIKey   string // secret; sent as login.params.apikey
	// FirmaKodu and DonemKodu select the company and fiscal period (firma_kodu, donem_kodu).
	FirmaKodu int
	DonemKodu int
	// DisconnectSameUser ends the other sessions of the same DİA user at login. Use a dedicated
	// web-service user if you turn it on.
	DisconnectSameUser bool

	// LoginCooldown is how long calls fail fast with the same rejected error after DİA refused a login
	// (wrong credentials, licence), instead of logging in again per event. 0 means DefaultLoginCooldown.
	LoginCooldown time.Duration
	// LoginTimeout bounds one login request. A login is shared by every caller waiting for it, so it
	// does not run under any single caller's context. 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration
}

// ErrConfig is wrapped by every error of Validate.
var ErrConfig = errors.New("dia: invalid configuration")

// Validate reports the first problem of c, wrapping ErrConfig. It never echoes a secret.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(c.BaseURL) == "" {
		return bad("BaseURL is empty (want https://<server>.ws.dia.com.tr/api/v3)")
	}
	u, err := url.Parse(strings.TrimSpace(c.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("BaseURL %q is not an http(s) URL (want https://<server>.ws.dia.com.tr/api/v3)", redactURL(c.BaseURL))
	}
	if u.User != nil {
		return bad("BaseURL must not carry credentials; use Username/Password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("BaseURL must not have a query or fragment (want https://<server>.ws.dia.com.tr/api/v3)")
	}
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, "/json") {
		return bad("BaseURL %q should be the API root (…/api/v3), not a service URL", redactURL(c.BaseURL))
	}
	if strings.TrimSpace(c.Username) == "" {
		return bad("Username is empty")
	}
	if c.Password == "" {
		return bad("Password is empty")
	}
	if c.APIKey == "" {
		return bad("APIKey is empty")
	}
	if c.FirmaKodu <= 0 {
		return bad("FirmaKodu must be a positive company code, got %d", c.FirmaKodu)
	}
	if c.DonemKodu <= 0 {
		return bad("DonemKodu must be a positive period code, got %d", c.DonemKodu)
	}
	if c.LoginCooldown < 0 || c.LoginTimeout < 0 {
		return bad("LoginCooldown and LoginTimeout must not be negative")
	}
	return nil
}

func (c Config) loginCooldown() time.Duration {
	if c.LoginCooldown > 0 {
		return c.LoginCooldown
	}
	return DefaultLoginCooldown
}

func (c Config) loginTimeout() time.Duration {
	if c.LoginTimeout > 0 {
		return c.LoginTimeout
	}
	return DefaultLoginTimeout
}

// endpoint is {BaseURL}/<module>/json.
func (c Config) endpoint(module string) string {
	return strings.TrimRight(strings.TrimSpace(c.BaseURL), "/") + "/" + module + "/json"
}

func mask(s string) string { return redact.Secret(s) }

// String prints c with the password and API key masked.
func (c Config) String() string {
	return fmt.Sprintf("dia.Config{BaseURL:%q, Username:%q, Password:%s, APIKey:%s, FirmaKodu:%d, DonemKodu:%d, DisconnectSameUser:%t, LoginCooldown:%s, LoginTimeout:%s}",
		redactURL(c.BaseURL), c.Username, mask(c.Password), mask(c.APIKey), c.FirmaKodu, c.DonemKodu,
		c.DisconnectSameUser, c.loginCooldown(), c.loginTimeout())
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog print the masked form.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", redactURL(c.BaseURL)),
		slog.String("username", c.Username),
		slog.String("password", mask(c.Password)),
		slog.String("apiKey", mask(c.APIKey)),
		slog.Int("firmaKodu", c.FirmaKodu),
		slog.Int("donemKodu", c.DonemKodu),
		slog.Bool("disconnectSameUser", c.DisconnectSameUser),
	)
}

// MarshalJSON writes the masked form, so a reflection-based logger (zap.Any) cannot leak a secret.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BaseURL            string `json:"baseURL"`
		Username           string `json:"username"`
		Password           string `json:"password"`
		APIKey             string `json:"apiKey"`
		FirmaKodu          int    `json:"firmaKodu"`
		DonemKodu          int    `json:"donemKodu"`
		DisconnectSameUser bool   `json:"disconnectSameUser"`
	}{redactURL(c.BaseURL), c.Username, mask(c.Password), mask(c.APIKey), c.FirmaKodu, c.DonemKodu, c.DisconnectSameUser})
}

// redactURL drops user info and query from a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User(redact.Mask)
	}
	if u.RawQuery != "" {
		u.RawQuery = redact.Mask
	}
	return u.String()
}
