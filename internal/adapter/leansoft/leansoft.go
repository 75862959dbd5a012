// Package leansoft is the Lean Soft adapter of route leansoft-customer: it turns a customer.created v1
// event into a CustomerSave call (POST {BaseURL}/Definitions/CustomerSave/{CompanyID}, body
// {"Customer":{…}}) and Lean Soft's answer into a adapter.Result (customerId, message) or a classified
// *adapter.Error. The vendor doc is api-docs/leansoft-customer-save.txt; NOTES.md §3 restates it.
//
// # Rules checked before any call
//
// Map refuses an event (ClassInvalid, nothing sent) that breaks one of these rules. RULES.md says the
// same for readers of the README.
//
// From the Lean Soft doc:
//   - required: name (CustomerName), recordType, referenceGroupCode (from the event or
//     Config.DefaultReferenceGroupCode), currency, address.country, address.city, address.district,
//     address.neighborhood, taxNumber (CustomerTaxNo); for each element of users: firstName,
//     lastName, identityNumber;
//   - at most 250 characters: name, email, eArchiveEmail, userText1-3, users[].firstName,
//     users[].lastName, users[].position; at most 11: taxNumber, users[].identityNumber
//     (characters, not bytes);
//   - no ? / & % + ^ ' * _ " and no spaces in taxNumber and users[].identityNumber;
//   - taxNumber 11111111111 (the doc's placeholder) requires eArchiveEmail;
//   - recordType is buyer, seller or both (1, 2, 3); organizationType is one of the doc's nine (0–8).
//
// Added by Köprü (the doc does not say Lean Soft checks these; they catch typing errors before a
// customer with a wrong tax number reaches invoicing):
//   - customerId is required (it becomes CustomerIntegrationCompanyCode, the way back upstream);
//   - taxNumber is a 10-digit VKN with a valid check digit or an 11-digit TCKN with valid check digits
//     (ValidVKN, ValidTCKN); the placeholder 11111111111 is accepted as it is. Policy
//     Config.Checksums.TaxNumber, default enforce;
//   - users[].identityNumber is an 11-digit TCKN with valid check digits. Policy
//     Config.Checksums.UserIdentityNumber, default warn (the doc's own example fails it).
//
// A check under PolicyWarn that fails does not stop the event: it is sent, and the warning goes to
// Target.Logger and Target.Warned; under PolicyOff the check is skipped.
//
// Error messages name the event field, the Lean Soft field and the rule; tax and identity numbers
// appear only masked (all but the last two digits), phones never.
package leansoft

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/adapter"
)

// Name is the target label ("leansoft") and Operation the operation label of CustomerSave, as used in
// metrics and in the customer.synced outcome.
const (
	Name      = "leansoft"
	Operation = "CustomerSave"
)

// Target calls CustomerSave for one configured Lean Soft company. It implements adapter.Target and is
// safe for concurrent use.
type Target struct {
	// Logger receives one warning per failed check under PolicyWarn (masked, like the dead-letter
	// messages); nil means none. Set it before the first Call.
	Logger *zap.Logger
	// Warned, when set, is called once per failed check under PolicyWarn, before each call is sent
	// (so again for every retry of an event; e.g. to count it). It must be safe for concurrent use.
	Warned func(v *Violation)

	cfg    Config
	cfgErr error // cfg.Validate(), checked once
	client *adapter.Client
	url    string
}

var _ adapter.Target = (*Target)(nil)

// New returns the adapter. cfg should have passed Validate; a Target built from an invalid Config fails
// every call with a ClassNotSent error of reason "config". c is the shared HTTP plumbing; nil means a
// default client labelled "leansoft".
func New(cfg Config, c *adapter.Client) *Target {
	if c == nil {
		c = &adapter.Client{Target: Name}
	}
	u := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/") + "/Definitions/CustomerSave/" + url.PathEscape(strings.TrimSpace(cfg.CompanyID))
	return &Target{cfg: cfg, cfgErr: cfg.Validate(), client: c, url: u}
}

// response is Lean Soft's answer envelope. Item is decoded only on success: on a failure it is null or
// of an unknown shape.
type response struct {
	Result  *bool           `json:"Result"`
	Message string          `json:"Message"`
	Item    json.RawMessage `json:"Item"`
}

type saveItem struct {
	CustomerID string `json:"CustomerID"`
}

// Call maps req.Data (Map) and posts it to CustomerSave. On Result:true it returns
// Fields {"customerId": Item.CustomerID, "message": Message}.
//
// Errors, all *adapter.Error:
//   - the event breaks a rule: ClassInvalid (nothing was sent);
//   - Result:false: ClassRejected, reason "vendor_rejected", status "200", with the vendor's Message;
//   - a 2xx answer that cannot be read, or Result:true without a CustomerID: ClassUnknown, reason
//     "undecodable" (the customer may have been created: check Lean Soft before replaying);
//   - transport failures, 429/503/5xx and other 4xx: as adapter.Client classifies them; a 4xx carries
//     the vendor's Message when its body has one.
func (t *Target) Call(ctx context.Context, req adapter.Request) (adapter.Result, error) {
	if t.cfgErr != nil {
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassNotSent, Reason: adapter.ReasonConfig, Msg: adapter.OneLine(t.cfgErr.Error()), Err: t.cfgErr}
	}
	body, warns, err := MapWarn(req.Data, t.cfg)
	if err != nil {
		return adapter.Result{}, err
	}
	for _, w := range warns {
		if t.Logger != nil {
			t.Logger.Warn("Lean Soft customer sent although a Köprü check failed (policy warn)",
				zap.String("eventId", req.EventID), zap.String("field", w.Field), zap.String("vendorField", w.Vendor),
				zap.String("rule", string(w.Rule)), zap.String("detail", w.Detail))
		}
		if t.Warned != nil {
			t.Warned(w)
		}
	}
	h := http.Header{}
	if t.cfg.AuthHeader != "" {
		h.Set(t.cfg.AuthHeader, t.cfg.AuthValue)
	}
	resp, err := t.client.PostJSON(ctx, Operation, t.url, body, h)
	if err != nil {
		return adapter.Result{}, t.failed(resp, err)
	}
	return decodeAnswer(resp, t.cfg.AuthValue)
}

// failed adds what Lean Soft said to a refused (4xx) answer; every other failure is returned as the
// client classified it.
func (t *Target) failed(resp *adapter.Response, err error) error {
	te := adapter.AsError(err)
	if resp == nil || te.Class != adapter.ClassRejected {
		return te
	}
	var r response
	if json.Unmarshal(resp.Body, &r) == nil && strings.TrimSpace(r.Message) != "" {
		te.Msg = adapter.OneLine(te.Msg + ": Lean Soft says: " + adapter.Scrub(r.Message, t.cfg.AuthValue))
	}
	if resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden {
		te.Msg = adapter.OneLine(te.Msg + " (check the configured auth header name and value)")
	}
	return te
}

func decodeAnswer(resp *adapter.Response, secrets ...string) (adapter.Result, error) {
	status := strconv.Itoa(resp.Status)
	var r response
	err := json.Unmarshal(resp.Body, &r)
	r.Message = adapter.Scrub(r.Message, secrets...) // a vendor that echoes the auth value must not put it in our logs
	if err != nil || r.Result == nil {
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonUndecodable, Status: status, Err: err,
			Msg: "Lean Soft answered " + status + " with a body that is not its Result envelope; the customer may have been created: check Lean Soft before replaying"}
	}
	if !*r.Result {
		msg := strings.TrimSpace(r.Message)
		if msg == "" {
			msg = "(no message)"
		}
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonVendorRejected, Status: status,
			Msg: adapter.OneLine("Lean Soft refused the customer: " + msg)}
	}
	var item saveItem
	if len(r.Item) > 0 {
		_ = json.Unmarshal(r.Item, &item)
	}
	id := strings.TrimSpace(item.CustomerID)
	if id == "" {
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonUndecodable, Status: status,
			Msg: adapter.OneLine("Lean Soft answered Result:true without a CustomerID (" + r.Message + "); the customer was probably created: find it by its integration code before replaying")}
	}
	return adapter.Result{Fields: map[string]any{"customerId": id, "message": r.Message}}, nil
}
