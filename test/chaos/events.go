package chaos

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
	"github.com/kopru/kopru/schemas"
)

// Event types the run publishes, one per route family.
var eventTypes = []string{"installation.requested", "first-start.requested", "customer.created", "service-note.created"}

// kind says what the harness expects of an event.
type kind int

const (
	kindGood     kind = iota // should succeed (unless a fault or a kill makes it ambiguous)
	kindInvalid              // breaks its schema: dead-lettered as invalid, no vendor call
	kindRejected             // a DİA note for a card that does not exist: refused by DİA, never an outcome
)

// published is what the harness remembers of one event.
type published struct {
	id   string
	typ  string
	kind kind
}

// routesOf maps an event type to the names of the routes that consume it (routes.Builtin()).
func routesOf() map[string][]string {
	m := map[string][]string{}
	for _, s := range routes.Builtin() {
		m[s.EventType] = append(m[s.EventType], s.Name)
	}
	return m
}

// generator makes events from schemas/examples/*.json with the event id in a field every simulator
// keeps, so each accepted vendor record can be traced back to its event:
//   - installation.requested: product.serialNumbers = [id] → Licrus ProductSerialNumberList
//   - first-start.requested: serialNumber = id → Licrus Form.ProductSerialNumber1
//   - customer.created: customerId = id → Lean Soft CustomerIntegrationCompanyCode, DİA carikartkodu
//   - service-note.created: subject = id → DİA konu (customerCode 0000008 is pre-seeded by devstack)
type generator struct {
	rng       *rand.Rand
	templates map[string][]byte
	badShare  float64
}

func newGenerator(rng *rand.Rand, badShare float64) (*generator, error) {
	g := &generator{rng: rng, templates: map[string][]byte{}, badShare: badShare}
	for _, t := range eventTypes {
		b, err := schemas.FS.ReadFile("examples/" + t + ".json")
		if err != nil {
			return nil, fmt.Errorf("example of %s: %w", t, err)
		}
		g.templates[t] = b
	}
	return g, nil
}

// next returns event number i (types in turn, so every type gets its share at any moment).
func (g *generator) next(i int) (*event.Envelope, published, error) {
	typ := eventTypes[i%len(eventTypes)]
	var d map[string]any
	if err := json.Unmarshal(g.templates[typ], &d); err != nil {
		return nil, published{}, err
	}
	env := event.New(typ, "kopru-chaos", nil)
	p := published{id: env.ID, typ: typ}
	bad := g.rng.Float64() < g.badShare
	switch typ {
	case "installation.requested":
		prod := d["product"].(map[string]any)
		prod["serialNumbers"] = []any{env.ID}
		d["deviceCount"] = 1
		if bad {
			d["deviceCount"] = 0 // schema: minimum 1
			p.kind = kindInvalid
		}
	case "first-start.requested":
		d["serialNumber"] = env.ID
	case "customer.created":
		d["customerId"] = env.ID
	case "service-note.created":
		d["subject"] = env.ID
		d["note"] = "chaos " + env.ID
		if bad {
			d["customerCode"] = fmt.Sprintf("NOCARD%08d", i) // no such DİA card: DİA answers 400
			p.kind = kindRejected
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, published{}, err
	}
	env.Data = raw
	return env, p, nil
}
