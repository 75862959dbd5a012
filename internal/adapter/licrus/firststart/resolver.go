package firststart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kopru/kopru/internal/adapter"
)

// negativeRefetchAge: a name that a cached list does not hold makes one early refetch when the list is
// at least this old, so a district or group added in Licrus today is found before LookupRefresh ends.
const negativeRefetchAge = 10 * time.Minute

// Resolver turns city, district and product-main-group names into Licrus ids. Cities come from the
// built-in province table (or Licrus, with Config.CityLookup); districts per city and product main
// groups are fetched from Licrus on first need and trusted for Config.LookupRefresh. Concurrent misses
// of one list make one fetch. A list that cannot be refreshed is served stale if one is held. Safe for
// concurrent use.
//
// Errors: a name with no or several matches is ClassInvalid naming it (and the candidates); a lookup
// that fails is a *adapter.Error of class NotSent or Retryable (a lookup changes nothing, so an
// unanswered one is safe to repeat), or Rejected when Licrus answers HasError.
type Resolver struct {
	cfg    Config
	client *adapter.Client
	now    func() time.Time

	mu    sync.Mutex
	lists map[string]*list
}

type list struct {
	items  []Item
	at     time.Time
	pinned bool // from the lookup file: authoritative, never fetched
	call   *fetchCall
}

type fetchCall struct {
	done  chan struct{}
	items []Item
	err   error
}

// NewResolver returns a resolver; cfg is used with its defaults applied. c nil means a default client.
func NewResolver(cfg Config, c *adapter.Client) *Resolver {
	if c == nil {
		c = &adapter.Client{Target: "licrus"}
	}
	return &Resolver{cfg: cfg.withDefaults(), client: c, now: time.Now, lists: map[string]*list{}}
}

const (
	keyCities     = "cities"
	keyMainGroups = "mainGroups"
)

func keyDistricts(cityID string) string { return "districts/" + cityID }

// City returns the Licrus id of the city named name (a province name, or its plate code as digits).
func (r *Resolver) City(ctx context.Context, name string) (string, error) {
	name = strings.TrimSpace(name)
	if isDigits(name) {
		return r.CityID(ctx, name)
	}
	it, err := r.match(ctx, "city", name, keyCities, r.fetchCities)
	if err != nil && r.cfg.CityLookup && IsInvalid(err) {
		// Licrus's list has one spelling per city; the built-in table also knows short and old names
		// (Afyon, Urfa). Its ids are the same plate codes.
		if b, berr := matchName("city", name, builtinCities); berr == nil {
			if id, cerr := r.CityID(ctx, b.ID); cerr == nil {
				return id, nil
			}
		}
	}
	return it.ID, err
}

// CityID checks a city id given by the event: a plate code 1–81 (or an id of the Licrus list with
// Config.CityLookup). Leading zeros are dropped ("06" → "6").
func (r *Resolver) CityID(ctx context.Context, id string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(id))
	if err != nil || n <= 0 {
		return "", errorInvalid("city id '%s' is not a positive integer", id)
	}
	id = strconv.Itoa(n)
	if !r.cfg.CityLookup {
		if ProvinceName(n) == "" {
			return "", errorInvalid("unknown city id '%s' (provinces are 1–81)", id)
		}
		return id, nil
	}
	items, err := r.Cities(ctx)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if it.ID == id {
			return id, nil
		}
	}
	return "", errorInvalid("unknown city id '%s'", id)
}

// District returns the Licrus id of the district named name in the city with id cityID.
func (r *Resolver) District(ctx context.Context, cityID, name string) (string, error) {
	it, err := r.match(ctx, "district", strings.TrimSpace(name), keyDistricts(cityID),
		func(ctx context.Context) ([]Item, error) { return r.fetchDistricts(ctx, cityID) })
	if err != nil {
		var te *adapter.Error
		if errors.As(err, &te) && te.Class == adapter.ClassInvalid {
			te.Msg += " in city " + cityLabel(cityID)
		}
	}
	return it.ID, err
}

// MainGroup returns the Licrus id of the product main group named name (its Text, or else its Code).
func (r *Resolver) MainGroup(ctx context.Context, name string) (int, error) {
	it, err := r.match(ctx, "product main group", strings.TrimSpace(name), keyMainGroups, r.fetchMainGroups)
	if err != nil {
		var te *adapter.Error
		if !errors.As(err, &te) || te.Class != adapter.ClassInvalid {
			return 0, err
		}
		items, lerr := r.list(ctx, keyMainGroups, r.fetchMainGroups, false)
		if lerr != nil {
			return 0, err
		}
		var byCode []Item
		for _, g := range items {
			if g.Code != "" && foldCase(g.Code) == foldCase(name) {
				byCode = append(byCode, g)
			}
		}
		if byCode = uniqueIDs(byCode); len(byCode) != 1 {
			return 0, err
		}
		it = byCode[0]
	}
	n, cerr := strconv.Atoi(it.ID)
	if cerr != nil {
		return 0, errorInvalid("product main group '%s' has a non-numeric Licrus id '%s'", it.Text, it.ID)
	}
	return n, nil
}

// Cities returns the city list: Licrus's with Config.CityLookup, else the built-in provinces.
func (r *Resolver) Cities(ctx context.Context) ([]Item, error) {
	return r.list(ctx, keyCities, r.fetchCities, false)
}

// Districts returns the districts of the city with id cityID.
func (r *Resolver) Districts(ctx context.Context, cityID string) ([]Item, error) {
	return r.list(ctx, keyDistricts(cityID), func(ctx context.Context) ([]Item, error) { return r.fetchDistricts(ctx, cityID) }, false)
}

// MainGroups returns the product main groups.
func (r *Resolver) MainGroups(ctx context.Context) ([]Item, error) {
	return r.list(ctx, keyMainGroups, r.fetchMainGroups, false)
}

func (r *Resolver) match(ctx context.Context, kind, name, key string, fetch func(context.Context) ([]Item, error)) (Item, error) {
	items, err := r.list(ctx, key, fetch, false)
	if err != nil {
		return Item{}, err
	}
	it, merr := matchName(kind, name, items)
	if merr == nil || !r.staleFor(key, negativeRefetchAge) {
		return it, merr
	}
	if items, err = r.list(ctx, key, fetch, true); err != nil {
		return Item{}, merr // the name was not in the list we hold; the failed refetch does not change that
	}
	return matchName(kind, name, items)
}

// staleFor reports whether the list under key was fetched (not pinned) at least age ago.
func (r *Resolver) staleFor(key string, age time.Duration) bool {
	if key == keyCities && !r.cfg.CityLookup {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lists[key]
	return l != nil && !l.pinned && l.items != nil && r.now().Sub(l.at) >= age
}

// list returns the items under key, fetching them when absent, expired or force is set. One fetch per
// key runs at a time; callers that arrive meanwhile share its result.
func (r *Resolver) list(ctx context.Context, key string, fetch func(context.Context) ([]Item, error), force bool) ([]Item, error) {
	if key == keyCities && !r.cfg.CityLookup {
		return builtinCities, nil
	}
	r.mu.Lock()
	l := r.lists[key]
	if l == nil {
		l = &list{}
		r.lists[key] = l
	}
	if l.pinned || (!force && l.items != nil && r.now().Sub(l.at) < r.cfg.LookupRefresh) {
		items := l.items
		r.mu.Unlock()
		return items, nil
	}
	if c := l.call; c != nil {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.items, c.err
		case <-ctx.Done():
			return nil, adapter.Errorf(adapter.ClassNotSent, adapter.ReasonCanceled, "lookup canceled while waiting: %v", ctx.Err())
		}
	}
	c := &fetchCall{done: make(chan struct{})}
	l.call = c
	r.mu.Unlock()

	items, err := fetch(ctx)

	r.mu.Lock()
	l.call = nil
	switch {
	case err == nil:
		l.items, l.at = items, r.now()
	case l.items != nil:
		// Serve the list we hold; try again in a minute rather than on every event.
		items, err = l.items, nil
		l.at = r.now().Add(time.Minute - r.cfg.LookupRefresh)
	}
	r.mu.Unlock()
	c.items, c.err = items, err
	close(c.done)
	return items, err
}

var builtinCities = provinceItems()

// LookupFile is the JSON shape of Config.LookupFile: Licrus Results arrays, districts keyed by city id.
//
//	{"cities": [{"Id": 35, "Text": "İZMİR"}],
//	 "districts": {"35": [{"Id": 511, "Text": "KARABAĞLAR"}]},
//	 "productMainGroups": [{"Id": 224, "Text": "KAZANLAR", "Code": "UA002", "IsActive": true}]}
type LookupFile struct {
	Cities            []wireItem            `json:"cities"`
	Districts         map[string][]wireItem `json:"districts"`
	ProductMainGroups []wireItem            `json:"productMainGroups"`
}

// LoadLookupFile loads lists from a JSON export (see LookupFile). The lists it holds are pinned:
// authoritative, never fetched. Lists it lacks are still fetched from Licrus.
func (r *Resolver) LoadLookupFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: lookup file: %v", ErrConfig, err)
	}
	var f LookupFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("%w: lookup file %s: %v", ErrConfig, path, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pin := func(key string, ws []wireItem) {
		r.lists[key] = &list{items: wireItems(ws), at: r.now(), pinned: true}
	}
	if f.Cities != nil {
		pin(keyCities, f.Cities)
	}
	for city, ds := range f.Districts {
		n, err := strconv.Atoi(strings.TrimSpace(city))
		if err != nil {
			return fmt.Errorf("%w: lookup file %s: district key %q is not a city id", ErrConfig, path, city)
		}
		pin(keyDistricts(strconv.Itoa(n)), ds)
	}
	if f.ProductMainGroups != nil {
		pin(keyMainGroups, f.ProductMainGroups)
	}
	return nil
}

func cityLabel(id string) string {
	n, _ := strconv.Atoi(id)
	if name := ProvinceName(n); name != "" {
		return id + " (" + name + ")"
	}
	return id
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
