package leansoft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"go.uber.org/zap/zapcore"
)

// Config is what the adapter needs to reach one Lean Soft company. The zero value is not usable: call
// Validate before New.
//
// AuthValue is a secret. Config never shows it: String, GoString (%#v), MarshalJSON, zap's
// MarshalLogObject and slog's LogValue all print "[REDACTED]" in its place, and no error built from a
// Config contains it.
type Config struct {
	// BaseURL is the API root as the vendor's doc prints it, e.g. https://api.leanbilisim.com/api (it
	// differs per company, and some companies run Lean Soft on premises). A trailing slash is ignored.
	BaseURL string
	// CompanyID is the {CompanyID} path segment of CustomerSave.
	CompanyID string
	// AuthHeader and AuthValue are sent as one request header. The doc does not say how Lean Soft
	// authenticates, so both are configurable; leave both empty to send none.
	AuthHeader string
	AuthValue  string
	// DefaultReferenceGroupCode is sent as CustomerReferenceGroupCode (required by Lean Soft) when the
	// event carries none, e.g. "PYTY".
	DefaultReferenceGroupCode string
	// Checksums sets what Köprü does when a number fails a check that Köprü adds on top of the doc
	// (see RULES.md). The zero value is the default: tax number enforced, identity numbers warned.
	Checksums Checksums
}

// Policy is what a Köprü-added check does when it fails: PolicyEnforce dead-letters the event as
// invalid (nothing is sent), PolicyWarn sends it and reports a masked warning (Target.Warned, the log),
// PolicyOff skips the check. "" means the field's default.
type Policy string

// The policies.
const (
	PolicyEnforce Policy = "enforce"
	PolicyWarn    Policy = "warn"
	PolicyOff     Policy = "off"
)

// Checksums holds the policy of each Köprü-added number check. The doc's own rules (required, at most
// 11 characters, no ? / & % + ^ ' * _ " or spaces, the placeholder's e-archive e-mail) are always
// enforced; these policies cover only what Köprü adds: the digit count and the public check digits.
type Checksums struct {
	// TaxNumber covers taxNumber (CustomerTaxNo): a 10-digit VKN or an 11-digit TCKN with valid check
	// digits, the placeholder 11111111111 excepted. Default PolicyEnforce.
	TaxNumber Policy
	// UserIdentityNumber covers users[].identityNumber (CustomerUserIdentityCardNumber): an 11-digit TCKN
	// with valid check digits. Default PolicyWarn: the doc's own example (12346578901) fails it.
	UserIdentityNumber Policy
}

// Default checksum policies (RULES.md says why).
const (
	DefaultTaxNumberPolicy          = PolicyEnforce
	DefaultUserIdentityNumberPolicy = PolicyWarn
)

// withDefaults normalises the policies and fills the empty ones. A policy Validate would refuse counts
// as PolicyEnforce, the safe side.
func (c Checksums) withDefaults() Checksums {
	c.TaxNumber = policyOr(c.TaxNumber, DefaultTaxNumberPolicy)
	c.UserIdentityNumber = policyOr(c.UserIdentityNumber, DefaultUserIdentityNumberPolicy)
	return c
}

func policyOr(p, def Policy) Policy {
	switch q, err := ParsePolicy(string(p)); {
	case err != nil:
		return PolicyEnforce
	case q == "":
		return def
	default:
		return q
	}
}

// ParsePolicy reads a policy name, ignoring case and surrounding space; "" is the field's default.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "", PolicyEnforce, PolicyWarn, PolicyOff:
		return p, nil
	}
	return "", fmt.Errorf("%w: checksum policy %q is not enforce, warn or off", ErrConfig, s)
}

func (c Checksums) String() string {
	d := c.withDefaults()
	return fmt.Sprintf("{taxNumber:%s userIdentityNumber:%s}", d.TaxNumber, d.UserIdentityNumber)
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("invalid Lean Soft configuration")

const redacted = "[REDACTED]"

// Validate checks that BaseURL is an absolute http(s) URL, CompanyID is set, and AuthHeader and
// AuthValue are both set (with a valid header name) or both empty. The errors wrap ErrConfig and never
// hold AuthValue or URL credentials.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.BaseURL) == "" {
		errs = append(errs, errors.New("BaseURL is required"))
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("BaseURL must be an absolute http or https URL like https://api.leanbilisim.com/api"))
	}
	if strings.TrimSpace(c.CompanyID) == "" {
		errs = append(errs, errors.New("CompanyID is required"))
	} else if strings.ContainsAny(c.CompanyID, "/?#") {
		errs = append(errs, errors.New("CompanyID must not contain '/', '?' or '#'"))
	}
	switch {
	case c.AuthHeader == "" && c.AuthValue != "":
		errs = append(errs, errors.New("AuthValue is set but AuthHeader is empty"))
	case c.AuthHeader != "" && c.AuthValue == "":
		errs = append(errs, fmt.Errorf("AuthHeader %q is set but AuthValue is empty", c.AuthHeader))
	case c.AuthHeader != "" && !validHeaderName(c.AuthHeader):
		errs = append(errs, fmt.Errorf("AuthHeader %q is not a valid HTTP header name", c.AuthHeader))
	}
	for _, p := range []struct {
		name string
		p    Policy
	}{{"taxNumber", c.Checksums.TaxNumber}, {"userIdentityNumber", c.Checksums.UserIdentityNumber}} {
		if _, err := ParsePolicy(string(p.p)); err != nil {
			errs = append(errs, fmt.Errorf("Checksums.%s %q must be enforce, warn or off", p.name, p.p))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// safeBaseURL is BaseURL with any user:password removed.
func (c Config) safeBaseURL() string {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

func (c Config) authShown() string {
	if c.AuthValue == "" {
		return ""
	}
	return redacted
}

// String shows the configuration with AuthValue redacted.
func (c Config) String() string {
	return fmt.Sprintf("leansoft.Config{BaseURL:%q CompanyID:%q AuthHeader:%q AuthValue:%q DefaultReferenceGroupCode:%q Checksums:%s}",
		c.safeBaseURL(), c.CompanyID, c.AuthHeader, c.authShown(), c.DefaultReferenceGroupCode, c.Checksums)
}

// GoString is String, so %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb (%v, %+v, %#v, %s, %d, ...) prints String, so no verb
// falls back to printing the fields one by one.
func (c Config) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// MarshalJSON writes the configuration with AuthValue redacted (for status pages and reflection-based
// loggers). It is not meant for saving a configuration.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"baseURL":                   c.safeBaseURL(),
		"companyID":                 c.CompanyID,
		"authHeader":                c.AuthHeader,
		"authValue":                 c.authShown(),
		"defaultReferenceGroupCode": c.DefaultReferenceGroupCode,
		"checksums":                 c.Checksums.String(),
	})
}

// MarshalLogObject implements zapcore.ObjectMarshaler, so zap.Any("leansoft", cfg) and
// zap.Object(...) log it with AuthValue redacted.
func (c Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("baseURL", c.safeBaseURL())
	enc.AddString("companyID", c.CompanyID)
	enc.AddString("authHeader", c.AuthHeader)
	enc.AddString("authValue", c.authShown())
	enc.AddString("defaultReferenceGroupCode", c.DefaultReferenceGroupCode)
	enc.AddString("checksums", c.Checksums.String())
	return nil
}

// LogValue implements slog.LogValuer with AuthValue redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", c.safeBaseURL()),
		slog.String("companyID", c.CompanyID),
		slog.String("authHeader", c.AuthHeader),
		slog.String("authValue", c.authShown()),
		slog.String("defaultReferenceGroupCode", c.DefaultReferenceGroupCode),
		slog.String("checksums", c.Checksums.String()),
	)
}
