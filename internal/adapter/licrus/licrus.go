// Package licrus is the Licrus ExternalCall adapter (route licrus-installation): the mapping of an
// installation.requested event to the documented ExternalCall/Create form, and the reading of Licrus's
// answer, whose only trace of the created call is a number inside a Turkish message.
package licrus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/redact"
)

// Operation is the metric label of ExternalCall/Create.
const Operation = "ExternalCall/Create"

// Config configures the adapter. AuthTicket is a static secret issued by Licrus.
type Config struct {
	BaseURL    string // the API root as the doc prints it, e.g. https://test-ecostar-api.licrus.com/api
	AuthTicket string
}

// Validate reports what is missing.
func (c Config) Validate() error {
	switch {
	case c.BaseURL == "":
		return fmt.Errorf("licrus: base URL is empty (set KOPRU_LICRUS_URL)")
	case c.AuthTicket == "":
		return fmt.Errorf("licrus: AuthTicket is empty (set KOPRU_LICRUS_AUTH_TICKET or KOPRU_LICRUS_AUTH_TICKET_FILE)")
	}
	return nil
}

// String shows the configuration with the AuthTicket masked.
func (c Config) String() string {
	return fmt.Sprintf("licrus{url=%s authTicket=%s}", c.BaseURL, mask(c.AuthTicket))
}

func mask(s string) string { return redact.Secret(s) }

// Installation is the data of an installation.requested v1 event.
type Installation struct {
	Dealer struct {
		CompanyName   string `json:"companyName"`
		ContactPerson string `json:"contactPerson"`
		MobilePhone   string `json:"mobilePhone"`
		WorkPhone     string `json:"workPhone"`
		Email         string `json:"email"`
	} `json:"dealer"`
	Customer struct {
		CompanyName string `json:"companyName"`
		FullName    string `json:"fullName"`
		MobilePhone string `json:"mobilePhone"`
		WorkPhone   string `json:"workPhone"`
		Email       string `json:"email"`
		City        string `json:"city"`
		District    string `json:"district"`
		Address     string `json:"address"`
	} `json:"customer"`
	Product struct {
		Names         []string `json:"names"`
		Group         string   `json:"group"`
		SerialNumbers []string `json:"serialNumbers"`
	} `json:"product"`
	DeviceCount int `json:"deviceCount"`
}

// ExternalCall is the documented request body of ExternalCall/Create, in the doc's field order.
type ExternalCall struct {
	AuthTicket              string `json:"AuthTicket"`
	DealerCompanyName       string `json:"DealerCompanyName"`
	DealerContactPerson     string `json:"DealerContactPerson"`
	DealerMobilePhone       string `json:"DealerMobilePhone"`
	DealerWorkPhone         string `json:"DealerWorkPhone"`
	DealerEmail             string `json:"DealerEmail"`
	CustomerCompanyName     string `json:"CustomerCompanyName"`
	CustomerFullName        string `json:"CustomerFullName"`
	CustomerMobilePhone     string `json:"CustomerMobilePhone"`
	CustomerWorkPhone       string `json:"CustomerWorkPhone"`
	CustomerEmail           string `json:"CustomerEmail"`
	CustomerCity            string `json:"CustomerCity"`
	CustomerDistrict        string `json:"CustomerDistrict"`
	CustomerAddress         string `json:"CustomerAddress"`
	ProductNameList         string `json:"ProductNameList"`
	ProductGroupName        string `json:"ProductGroupName"`
	ProductSerialNumberList string `json:"ProductSerialNumberList"`
	DeviceCount             int    `json:"DeviceCount"`
}

// Map turns installation.requested data into the ExternalCall body: names stay names (this endpoint
// takes cities, districts and products by name), product names and serial numbers are comma-joined
// (the doc's "99958,99959"), every text is trimmed. It refuses (ClassInvalid) what the schema cannot
// express: a serial number containing a comma.
func Map(data json.RawMessage, authTicket string) (ExternalCall, error) {
	var in Installation
	if err := json.Unmarshal(data, &in); err != nil {
		return ExternalCall{}, adapter.Invalid("installation.requested data does not decode: %v", err)
	}
	serials := make([]string, 0, len(in.Product.SerialNumbers))
	for i, s := range in.Product.SerialNumbers {
		s = strings.TrimSpace(s)
		if strings.Contains(s, ",") {
			return ExternalCall{}, adapter.Invalid("product.serialNumbers[%d] contains a comma; Licrus separates serial numbers with commas", i)
		}
		if s != "" {
			serials = append(serials, s)
		}
	}
	if len(serials) == 0 {
		return ExternalCall{}, adapter.Invalid("product.serialNumbers is empty; Licrus needs at least one serial number")
	}
	names := make([]string, 0, len(in.Product.Names))
	for _, n := range in.Product.Names {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	t := strings.TrimSpace // Unicode white space too: NBSP, em space, ideographic space
	c := in.Customer
	d := in.Dealer
	for _, f := range []struct{ name, v string }{{"customer.fullName", c.FullName}, {"customer.mobilePhone", c.MobilePhone},
		{"customer.city", c.City}, {"customer.district", c.District}, {"customer.address", c.Address}, {"product.group", in.Product.Group}} {
		if t(f.v) == "" {
			return ExternalCall{}, adapter.Invalid("%s is empty (white space only); Licrus requires it", f.name)
		}
	}
	if in.DeviceCount < 1 {
		return ExternalCall{}, adapter.Invalid("deviceCount must be at least 1")
	}
	return ExternalCall{
		AuthTicket:              authTicket,
		DealerCompanyName:       t(d.CompanyName),
		DealerContactPerson:     t(d.ContactPerson),
		DealerMobilePhone:       t(d.MobilePhone),
		DealerWorkPhone:         t(d.WorkPhone),
		DealerEmail:             t(d.Email),
		CustomerCompanyName:     t(c.CompanyName),
		CustomerFullName:        t(c.FullName),
		CustomerMobilePhone:     t(c.MobilePhone),
		CustomerWorkPhone:       t(c.WorkPhone),
		CustomerEmail:           t(c.Email),
		CustomerCity:            t(c.City),
		CustomerDistrict:        t(c.District),
		CustomerAddress:         t(c.Address),
		ProductNameList:         strings.Join(names, ","),
		ProductGroupName:        t(in.Product.Group),
		ProductSerialNumberList: strings.Join(serials, ","),
		DeviceCount:             in.DeviceCount,
	}, nil
}

// Response is the Licrus answer envelope (the fields Köprü reads).
type Response struct {
	MessageList []struct {
		Type    int    `json:"Type"`
		Message string `json:"Message"`
	} `json:"MessageList"`
	HasError   bool `json:"HasError"`
	HasMessage bool `json:"HasMessage"`
}

// Messages joins every message text with " | ".
func (r Response) Messages() string {
	var parts []string
	for _, m := range r.MessageList {
		if s := strings.TrimSpace(m.Message); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " | ")
}

// Target calls ExternalCall/Create. Safe for concurrent use.
type Target struct {
	cfg    Config
	client *adapter.Client
	// ParseFailed is called when Licrus reported success but no call number could be read.
	ParseFailed func()
}

// New returns the adapter.
func New(cfg Config, c *adapter.Client) *Target {
	return &Target{cfg: cfg, client: c}
}

// Call implements adapter.Target. Result fields: callNumber (digits, or "" when Licrus's message had
// none: still a success, never retried) and message.
func (t *Target) Call(ctx context.Context, req adapter.Request) (adapter.Result, error) {
	body, err := Map(req.Data, t.cfg.AuthTicket)
	if err != nil {
		return adapter.Result{}, err
	}
	resp, err := t.client.PostJSON(ctx, Operation, strings.TrimRight(t.cfg.BaseURL, "/")+"/ExternalCall/Create", body, nil)
	if err != nil {
		return adapter.Result{}, err
	}
	var r Response
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		// A 2xx we cannot read: Licrus may well have created the call.
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonUndecodable, Status: "200",
			Msg: "Licrus answered 200 with a body that is not its JSON envelope", Err: err}
	}
	msg := adapter.Scrub(r.Messages(), t.cfg.AuthTicket) // a vendor that echoes the ticket must not put it in our logs
	if r.HasError {
		if msg == "" {
			msg = "(no message)"
		}
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonVendorRejected, Status: "HasError",
			Msg: adapter.OneLine("Licrus refused the call: " + msg)}
	}
	number, ok := ParseCallNumber(msg)
	if !ok && t.ParseFailed != nil {
		t.ParseFailed()
	}
	return adapter.Result{Fields: map[string]any{"callNumber": number, "message": msg}}, nil
}
