package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrMissing is wrapped by every error of CheckTargets and CheckRoutes.
var ErrMissing = errors.New("configuration incomplete")

// setting names one setting the way a user sets it: the environment variable and the YAML path.
type setting struct {
	env, yaml, what string
	secret          bool // also settable as <env>_FILE
}

func (s setting) String() string {
	env := s.env
	if s.secret {
		env += " (or " + s.env + "_FILE)"
	}
	return fmt.Sprintf("set %s or %s in the config file: %s", env, s.yaml, s.what)
}

// CheckTargets reports, all at once, every setting missing for the named targets (licrus, leansoft,
// dia) whose URL is set, each by its environment variable and YAML path, e.g. "Lean Soft: set
// KOPRU_LEANSOFT_COMPANY_ID or leansoft.companyId …". A target whose URL is empty is not checked
// (its routes do not run). Errors wrap ErrMissing and never hold a secret or a URL's credentials.
func (c Config) CheckTargets(targets ...string) error {
	var errs []error
	need := func(vendor string, s setting, missing bool) {
		if missing {
			errs = append(errs, fmt.Errorf("%s: %s", vendor, s))
		}
	}
	checkURL := func(vendor, raw string, s setting) {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %s or %s is not an absolute http(s) URL: %s", vendor, s.env, s.yaml, s.what))
		}
	}
	for _, t := range targets {
		switch t {
		case "licrus":
			if c.Licrus.URL == "" {
				continue
			}
			checkURL("Licrus", c.Licrus.URL, setting{env: "KOPRU_LICRUS_URL", yaml: "licrus.url", what: "the API root, e.g. https://test-ecostar-api.licrus.com/api"})
			need("Licrus", setting{"KOPRU_LICRUS_AUTH_TICKET", "licrus.authTicket", "the AuthTicket Licrus gave you", true}, c.Licrus.AuthTicket == "")
		case "leansoft":
			l := c.LeanSoft
			if l.URL == "" {
				continue
			}
			checkURL("Lean Soft", l.URL, setting{env: "KOPRU_LEANSOFT_URL", yaml: "leansoft.url", what: "the API root, e.g. https://api.leanbilisim.com/api"})
			need("Lean Soft", setting{"KOPRU_LEANSOFT_COMPANY_ID", "leansoft.companyId", "the {CompanyID} of CustomerSave, e.g. 1001", false}, strings.TrimSpace(l.CompanyID) == "")
			need("Lean Soft", setting{"KOPRU_LEANSOFT_AUTH_HEADER", "leansoft.authHeader", "the header that carries the auth value (both or neither)", false}, l.AuthHeader == "" && l.AuthValue != "")
			need("Lean Soft", setting{"KOPRU_LEANSOFT_AUTH_VALUE", "leansoft.authValue", "the value of " + headerName(l.AuthHeader) + " (both or neither)", true}, l.AuthHeader != "" && l.AuthValue == "")
		case "dia":
			d := c.DIA
			if d.URL == "" {
				continue
			}
			checkURL("DİA", d.URL, setting{env: "KOPRU_DIA_URL", yaml: "dia.url", what: "the API root, e.g. https://<server>.ws.dia.com.tr/api/v3"})
			need("DİA", setting{"KOPRU_DIA_USERNAME", "dia.username", "the web-service user", false}, strings.TrimSpace(d.Username) == "")
			need("DİA", setting{"KOPRU_DIA_PASSWORD", "dia.password", "that user's password", true}, d.Password == "")
			need("DİA", setting{"KOPRU_DIA_API_KEY", "dia.apiKey", "the web-service API key", true}, d.APIKey == "")
			need("DİA", setting{"KOPRU_DIA_FIRMA_KODU", "dia.firmaKodu", "the company code sent as firma_kodu, a positive number (kopru sim expects 34)", false}, d.FirmaKodu <= 0)
			need("DİA", setting{"KOPRU_DIA_DONEM_KODU", "dia.donemKodu", "the fiscal-period code sent as donem_kodu, a positive number (kopru sim expects 1)", false}, d.DonemKodu <= 0)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrMissing, errors.Join(errs...))
}

func headerName(h string) string {
	if h == "" {
		return "the auth header"
	}
	return h
}

// CheckRoutes reports every routes.<name> entry that is not one of builtin and does not define a route
// of its own (eventType missing): most likely a misspelt route name, so the message suggests the
// closest built-in name. Errors wrap ErrMissing.
func (c Config) CheckRoutes(builtin []string) error {
	var errs []error
	for _, name := range sortedKeys(c.Routes) {
		known := false
		for _, b := range builtin {
			known = known || b == name
		}
		if known || c.Routes[name].EventType != "" {
			continue
		}
		msg := fmt.Sprintf("routes.%s: no such route", name)
		if s := Suggest(name, builtin); s != "" {
			msg += "; did you mean " + s + "?"
		} else {
			msg += " (built-in routes: " + strings.Join(builtin, ", ") + ")"
		}
		errs = append(errs, errors.New(msg+" A new route needs eventType, outcomeType, target and operation."))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrMissing, errors.Join(errs...))
}
