package firststart

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/kopru/kopru/internal/adapter"
)

// Operation labels of the lookups (metric label "operation").
const (
	OpCities     = "City/GetAll"
	OpDistricts  = "District/GetByCityId"
	OpMainGroups = "ProductGroup/GetMainGroups"
)

// Lookup paths under BaseURL, as the Licrus docs print them.
const (
	PathCities     = "/address/City/GetAll"
	PathDistricts  = "/address/District/GetByCityId"
	PathMainGroups = "/ProductCatalog/ProductGroup/GetMainGroups"
)

// lookupBody is what every Licrus lookup carries.
type lookupBody struct {
	CityID      *int   `json:"CityId,omitempty"`
	AuthTicket  string `json:"AuthTicket"`
	AppSource   string `json:"AppSource"`
	AppPlatform int    `json:"AppPlatform"`
	AppCulture  string `json:"AppCulture"`
	Culture     string `json:"Culture"`
}

func (r *Resolver) body() lookupBody {
	return lookupBody{AuthTicket: r.cfg.AuthTicket, AppSource: r.cfg.AppSource, AppPlatform: r.cfg.AppPlatform,
		AppCulture: r.cfg.AppCulture, Culture: r.cfg.Culture}
}

func (r *Resolver) fetchCities(ctx context.Context) ([]Item, error) {
	return r.fetch(ctx, OpCities, PathCities, r.body())
}

// fetchDistricts sends CityId as a number. ASSUMPTION: the docs name the field but print no example;
// Licrus's lookups answer numeric ids, so the number is the likelier type.
func (r *Resolver) fetchDistricts(ctx context.Context, cityID string) ([]Item, error) {
	n, err := strconv.Atoi(cityID)
	if err != nil {
		return nil, errorInvalid("city id '%s' is not an integer", cityID)
	}
	b := r.body()
	b.CityID = &n
	return r.fetch(ctx, OpDistricts, PathDistricts, b)
}

func (r *Resolver) fetchMainGroups(ctx context.Context) ([]Item, error) {
	return r.fetch(ctx, OpMainGroups, PathMainGroups, r.body())
}

func (r *Resolver) fetch(ctx context.Context, op, path string, body lookupBody) ([]Item, error) {
	resp, err := r.client.PostJSON(ctx, op, r.cfg.BaseURL+path, body, nil)
	if err != nil {
		te := *adapter.AsError(err)
		if te.Class == adapter.ClassUnknown {
			// A lookup changes nothing in Licrus: an unanswered or failed one is safe to repeat.
			te.Class = adapter.ClassRetryable
		}
		te.Msg = adapter.Scrub("Licrus lookup "+op+": "+te.Msg, r.cfg.AuthTicket)
		return nil, &te
	}
	var env envelope
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return nil, &adapter.Error{Class: adapter.ClassRetryable, Reason: adapter.ReasonBadAnswer, Status: strconv.Itoa(resp.Status),
			Msg: "Licrus lookup " + op + " answered something that is not its JSON envelope", Err: err}
	}
	if env.HasError {
		return nil, &adapter.Error{Class: adapter.ClassRejected, Reason: adapter.ReasonVendorRejected,
			Msg: adapter.Scrub("Licrus lookup "+op+" refused: "+strings.Join(env.texts(), "; "), r.cfg.AuthTicket)}
	}
	return wireItems(env.Results), nil
}

// envelope is the Licrus answer: Results for lookups, HasError/MessageList for everything.
type envelope struct {
	Results     []wireItem `json:"Results"`
	HasError    bool       `json:"HasError"`
	HasMessage  bool       `json:"HasMessage"`
	MessageList []struct {
		Type    json.RawMessage `json:"Type"`
		Message string          `json:"Message"`
	} `json:"MessageList"`
}

func (e envelope) texts() []string {
	var out []string
	for _, m := range e.MessageList {
		if s := strings.TrimSpace(m.Message); s != "" {
			out = append(out, adapter.OneLine(s))
		}
	}
	return out
}

// wireItem is one Results entry as Licrus (or a lookup file) writes it. Id may be a number or a
// string; the public web-site API says Name where the lookups say Text.
type wireItem struct {
	ID       json.RawMessage `json:"Id"`
	Text     string          `json:"Text"`
	Name     string          `json:"Name"`
	Code     string          `json:"Code"`
	IsActive *bool           `json:"IsActive"`
}

func wireItems(ws []wireItem) []Item {
	items := make([]Item, 0, len(ws))
	for _, w := range ws {
		id := string(bytes.TrimSpace(w.ID))
		if strings.HasPrefix(id, `"`) {
			_ = json.Unmarshal(w.ID, &id)
		}
		text := w.Text
		if text == "" {
			text = w.Name
		}
		if id == "" || id == "null" || strings.TrimSpace(text) == "" {
			continue
		}
		items = append(items, Item{ID: id, Text: text, Code: w.Code, Inactive: w.IsActive != nil && !*w.IsActive})
	}
	return items
}
