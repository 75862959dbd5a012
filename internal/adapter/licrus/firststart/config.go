// Package firststart is the Licrus adapter of the route licrus-first-start: a first-start.requested event
// becomes an "İlk Çalıştırma" service form (POST {BaseURL}/OperationForms/ServiceForm/Create), with the
// city, district and product main group that the event names resolved to Licrus ids first.
//
// The mapping follows api-docs/licrus-first-start-serviceform.md field for field; what that doc leaves
// open is a Config field or is marked "assumption" where it is decided.
package firststart

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/redact"
)

// Phone types of the event, and the keys of Config.ContactTypeIDs.
const (
	PhoneMobile = "mobile"
	PhoneWork   = "work"
	PhoneHome   = "home"
)

// Config configures the adapter. Its zero value is usable once BaseURL and AuthTicket are set: New
// fills every other zero field from Default.
type Config struct {
	// BaseURL is the Licrus API root as its doc prints it (…/api); documented paths are appended.
	BaseURL string
	// AuthTicket is the static ticket Licrus issues to the integrator. It is never logged or put in an
	// error (String masks it).
	AuthTicket string

	AppSource   string // "66292"
	AppPlatform int    // 2
	AppCulture  string // "TR"
	Culture     string // "TR"

	RequestReasonID int  // 1 = first start ("ilk çalıştırma")
	ServiceTypeID   int  // 32
	AutoClose       bool // false, as in the doc

	// ContactTypeIDs maps an event phone type (mobile, work, home) to a Licrus ContactInfoType id. The
	// doc shows only mobile = 4. ASSUMPTION: work = 2 and home = 3 are guesses, not documented; set them
	// from the Licrus installation before sending work or home phones.
	ContactTypeIDs map[string]int

	// TimeZone is where the appointment's wall-clock time is written (AppointmentDateTimeAsString has no
	// offset). Default "Europe/Istanbul".
	TimeZone string

	// LookupRefresh is how long fetched districts and product groups are trusted. Default 24h.
	LookupRefresh time.Duration
	// LookupFile, when set, is a JSON export of lookups loaded at start (see LoadLookupFile). Lists it
	// holds are authoritative and never fetched.
	LookupFile string
	// CityLookup resolves city names with Licrus address/City/GetAll instead of the built-in table of
	// the 81 provinces (Licrus city ids are the licence-plate codes). Default false.
	CityLookup bool
}

// Default returns the documented values. BaseURL and AuthTicket stay empty.
func Default() Config {
	return Config{
		AppSource:       "66292",
		AppPlatform:     2,
		AppCulture:      "TR",
		Culture:         "TR",
		RequestReasonID: 1,
		ServiceTypeID:   32,
		AutoClose:       false,
		ContactTypeIDs:  map[string]int{PhoneMobile: 4, PhoneWork: 2, PhoneHome: 3},
		TimeZone:        "Europe/Istanbul",
		LookupRefresh:   24 * time.Hour,
	}
}

// withDefaults fills the zero fields of c from Default. The map is copied, never shared.
func (c Config) withDefaults() Config {
	d := Default()
	if c.AppSource == "" {
		c.AppSource = d.AppSource
	}
	if c.AppPlatform == 0 {
		c.AppPlatform = d.AppPlatform
	}
	if c.AppCulture == "" {
		c.AppCulture = d.AppCulture
	}
	if c.Culture == "" {
		c.Culture = d.Culture
	}
	if c.RequestReasonID == 0 {
		c.RequestReasonID = d.RequestReasonID
	}
	if c.ServiceTypeID == 0 {
		c.ServiceTypeID = d.ServiceTypeID
	}
	ids := make(map[string]int, 3)
	for k, v := range d.ContactTypeIDs {
		ids[k] = v
	}
	for k, v := range c.ContactTypeIDs {
		ids[k] = v
	}
	c.ContactTypeIDs = ids
	if c.TimeZone == "" {
		c.TimeZone = d.TimeZone
	}
	if c.LookupRefresh == 0 {
		c.LookupRefresh = d.LookupRefresh
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// ErrConfig is wrapped by every error of Validate.
var ErrConfig = errors.New("licrus first-start: bad configuration")

// Validate reports what is wrong with c once defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.BaseURL == "" {
		bad("BaseURL is required")
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BaseURL must be an absolute http(s) URL")
	}
	if strings.TrimSpace(c.AuthTicket) == "" {
		bad("AuthTicket is required")
	}
	for _, k := range []string{PhoneMobile, PhoneWork, PhoneHome} {
		if c.ContactTypeIDs[k] <= 0 {
			bad("ContactTypeIDs[%q] must be a positive id", k)
		}
	}
	for k := range c.ContactTypeIDs {
		if k != PhoneMobile && k != PhoneWork && k != PhoneHome {
			bad("ContactTypeIDs has unknown phone type %q (mobile, work, home)", k)
		}
	}
	if c.AppPlatform < 0 || c.RequestReasonID < 0 || c.ServiceTypeID < 0 {
		bad("AppPlatform, RequestReasonID and ServiceTypeID must be positive")
	}
	if _, err := loadLocation(c.TimeZone); err != nil {
		bad("TimeZone %q: %v", c.TimeZone, err)
	}
	if c.LookupRefresh < 0 {
		bad("LookupRefresh must not be negative")
	}
	return errors.Join(errs...)
}

// String prints c with the AuthTicket masked.
func (c Config) String() string {
	return fmt.Sprintf("firststart.Config{BaseURL:%q AuthTicket:%s AppSource:%q AppPlatform:%d AppCulture:%q Culture:%q "+
		"RequestReasonID:%d ServiceTypeID:%d AutoClose:%t ContactTypeIDs:%v TimeZone:%q LookupRefresh:%s LookupFile:%q CityLookup:%t}",
		c.BaseURL, maskSecret(c.AuthTicket), c.AppSource, c.AppPlatform, c.AppCulture, c.Culture,
		c.RequestReasonID, c.ServiceTypeID, c.AutoClose, c.ContactTypeIDs, c.TimeZone, c.LookupRefresh, c.LookupFile, c.CityLookup)
}

// GoString masks the AuthTicket for %#v too.
func (c Config) GoString() string { return c.String() }

func maskSecret(s string) string { return redact.Secret(s) }
