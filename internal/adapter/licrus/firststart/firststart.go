package firststart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

// OpCreate is the operation label of the form creation; PathCreate its path under BaseURL.
const (
	OpCreate   = "ServiceForm/Create"
	PathCreate = "/OperationForms/ServiceForm/Create"
)

// Target creates Licrus first-start service forms. It implements adapter.Target and is safe for
// concurrent use.
type Target struct {
	cfg    Config
	client *adapter.Client
	loc    *time.Location
	res    *Resolver
}

var _ adapter.Target = (*Target)(nil)

// New checks cfg (defaults applied), loads its lookup file if any and returns the target. c nil means
// a default client labelled "licrus". The error wraps ErrConfig.
func New(cfg Config, c *adapter.Client) (*Target, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if c == nil {
		c = &adapter.Client{Target: "licrus"}
	}
	loc, err := loadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%w: TimeZone: %v", ErrConfig, err)
	}
	t := &Target{cfg: cfg, client: c, loc: loc, res: NewResolver(cfg, c)}
	if cfg.LookupFile != "" {
		if err := t.res.LoadLookupFile(cfg.LookupFile); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Resolver returns the name → id resolver the target uses (to warm it, or to inspect lookups).
func (t *Target) Resolver() *Resolver { return t.res }

// Call maps the first-start.requested event in req to a service form, resolves its names to Licrus
// ids and creates the form.
//
// On success Result.Fields holds "formNumber" and "callNumber" (parsed from Licrus's message; "" when
// it gives none, which is still a success), "message" (the messages joined with " | ") and "messages"
// ([]string). Failures are *adapter.Error: ClassInvalid for an event that cannot be mapped (missing
// field, unusable phone, unknown or ambiguous name), the lookup's class when a lookup fails (NotSent or
// Retryable: nothing was created), ClassRejected (reason "vendor_rejected") when Licrus answers
// HasError, and the transport/status class of adapter.Client otherwise. No error holds the AuthTicket.
func (t *Target) Call(ctx context.Context, req adapter.Request) (adapter.Result, error) {
	body, err := t.Build(ctx, req.Data)
	if err != nil {
		return adapter.Result{}, err
	}
	resp, err := t.client.PostJSON(ctx, OpCreate, t.cfg.BaseURL+PathCreate, body, nil)
	if err != nil {
		return adapter.Result{}, t.httpError(resp, err)
	}
	return t.answer(resp)
}

// Build maps event data to the request body, resolving names through the resolver (which may call
// Licrus lookups). It does not create anything.
func (t *Target) Build(ctx context.Context, data []byte) (CreateRequest, error) {
	d, err := decodeData(data)
	if err != nil {
		return CreateRequest{}, err
	}
	c, err := check(d, t.cfg, t.loc)
	if err != nil {
		return CreateRequest{}, err
	}
	id, err := t.resolve(ctx, d)
	if err != nil {
		return CreateRequest{}, err
	}
	return build(c, id, t.cfg), nil
}

func (t *Target) resolve(ctx context.Context, d Data) (ids, error) {
	var id ids
	var err error
	a := d.Customer.Address
	if s := strings.TrimSpace(string(a.CityID)); s != "" {
		id.City, err = t.res.CityID(ctx, s)
	} else {
		id.City, err = t.res.City(ctx, a.City)
	}
	if err != nil {
		return ids{}, err
	}
	if s := strings.TrimSpace(string(a.DistrictID)); s != "" {
		id.District = s // an id from the producer is Licrus's own: sent as given, no lookup
	} else if id.District, err = t.res.District(ctx, id.City, a.District); err != nil {
		return ids{}, err
	}
	if s := strings.TrimSpace(string(d.ProductMainGroupID)); s != "" {
		id.MainGroup, _ = strconv.Atoi(s) // check() proved it a positive integer
	} else if id.MainGroup, err = t.res.MainGroup(ctx, d.ProductMainGroup); err != nil {
		return ids{}, err
	}
	return id, nil
}

// httpError turns a failed PostJSON into the *adapter.Error to return, adding Licrus's own message
// when a non-2xx answer carries its envelope.
func (t *Target) httpError(resp *adapter.Response, err error) error {
	te := *adapter.AsError(err)
	if resp != nil {
		var env envelope
		if json.Unmarshal(resp.Body, &env) == nil && len(env.texts()) > 0 {
			te.Msg += ": " + strings.Join(env.texts(), "; ")
			if env.HasError && te.Class == adapter.ClassRejected {
				te.Reason = adapter.ReasonVendorRejected
			}
		}
	}
	te.Msg = adapter.OneLine(adapter.Scrub(te.Msg, t.cfg.AuthTicket))
	return &te
}

// answer reads a 2xx answer of ServiceForm/Create.
func (t *Target) answer(resp *adapter.Response) (adapter.Result, error) {
	var env envelope
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassUnknown, Reason: adapter.ReasonBadAnswer, Status: strconv.Itoa(resp.Status),
			Msg: "Licrus answered ServiceForm/Create with something that is not its JSON envelope; the form may have been created", Err: err}
	}
	texts := env.texts()
	for i := range texts {
		texts[i] = adapter.Scrub(texts[i], t.cfg.AuthTicket)
	}
	if env.HasError {
		msg := strings.Join(texts, "; ")
		if msg == "" {
			msg = "no message"
		}
		return adapter.Result{}, &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonVendorRejected,
			Msg: adapter.OneLine("Licrus refused the service form: " + msg)}
	}
	if texts == nil {
		texts = []string{}
	}
	var form, call string
	for _, m := range texts {
		f, c := ParseNumbers(m)
		if form == "" {
			form = f
		}
		if call == "" {
			call = c
		}
	}
	return adapter.Result{Fields: map[string]any{
		"formNumber": form,
		"callNumber": call,
		"message":    strings.Join(texts, " | "),
		"messages":   texts,
	}}, nil
}

// errorInvalid is adapter.Invalid; every refusal of an event goes through it.
func errorInvalid(format string, args ...any) *adapter.Error { return adapter.Invalid(format, args...) }

// IsInvalid reports whether err is a *adapter.Error of ClassInvalid.
func IsInvalid(err error) bool {
	var te *adapter.Error
	return errors.As(err, &te) && te.Class == adapter.ClassInvalid
}
