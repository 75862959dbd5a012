package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/devstack"
)

// key is one (route, event id).
type key struct{ route, id string }

// outcomeRec is what the OUTCOMES stream holds for one (route, event).
type outcomeRec struct {
	ids    map[string]bool // distinct outcome envelope ids
	msgs   int             // messages (JetStream drops re-emits with the same id)
	result string          // callNumber / formNumber / customerId / key
	typ    string
}

// deadRec is what the DLQ stream holds for one (route, event).
type deadRec struct {
	msgs    int
	classes []string
	errs    []string
}

// resultField is the outcome field that names the vendor's record, per route.
var resultField = map[string]string{
	"licrus-installation": "callNumber",
	"licrus-first-start":  "formNumber",
	"leansoft-customer":   "customerId",
	"dia-customer":        "key",
	"dia-service-note":    "key",
}

// vendorRec is one record a simulator accepted, traced to its event.
type vendorRec struct {
	result string // what the outcome should carry: call/form number, customer id, card/note key
}

type collected struct {
	outcomes map[key]*outcomeRec
	dead     map[key]*deadRec
	vendor   map[key][]vendorRec
	strays   []string // outcomes, dead letters or vendor records that belong to no published event/route
	outMsgs  int
	dlqMsgs  int
	cardsDup map[string]int // carikartkodu → cards, where > 1
}

// readStream reads every message of stream with an ordered consumer.
func readStream(ctx context.Context, js jetstream.JetStream, stream string, f func(jetstream.Msg)) (int, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	last := info.State.LastSeq
	oc, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, err
	}
	it, err := oc.Messages()
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	n := 0
	for {
		m, err := it.Next()
		if err != nil {
			return n, fmt.Errorf("read %s after %d messages: %w", stream, n, err)
		}
		n++
		f(m)
		meta, err := m.Metadata()
		if err == nil && meta.Sequence.Stream >= last {
			return n, nil
		}
	}
}

func collect(ctx context.Context, js jetstream.JetStream, sims *devstack.Sims, pub map[string]published, routes map[string][]string) (*collected, error) {
	c := &collected{outcomes: map[key]*outcomeRec{}, dead: map[key]*deadRec{}, vendor: map[key][]vendorRec{}, cardsDup: map[string]int{}}
	var perr error
	n, err := readStream(ctx, js, bus.StreamOutcomes, func(m jetstream.Msg) {
		var env struct {
			ID   string         `json:"id"`
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			perr = fmt.Errorf("outcome on %s is not JSON: %w", m.Subject(), err)
			return
		}
		k := key{str(env.Data["route"]), str(env.Data["requestId"])}
		o := c.outcomes[k]
		if o == nil {
			o = &outcomeRec{ids: map[string]bool{}, typ: env.Type}
			c.outcomes[k] = o
		}
		o.ids[env.ID] = true
		o.msgs++
		o.result = str(env.Data[resultField[k.route]])
	})
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	c.outMsgs = n
	n, err = readStream(ctx, js, bus.StreamDLQ, func(m jetstream.Msg) {
		h := m.Headers()
		k := key{h.Get(deadletter.HdrRoute), h.Get(deadletter.HdrEventID)}
		d := c.dead[k]
		if d == nil {
			d = &deadRec{}
			c.dead[k] = d
		}
		d.msgs++
		d.classes = append(d.classes, h.Get(deadletter.HdrErrorClass))
		d.errs = append(d.errs, h.Get(deadletter.HdrError))
	})
	if err != nil {
		return nil, err
	}
	c.dlqMsgs = n

	add := func(route, id, result, what string) {
		p, ok := pub[id]
		if !ok || !contains(routes[p.typ], route) {
			c.strays = append(c.strays, fmt.Sprintf("%s record %q (%s) belongs to no published event of route %s", what, id, result, route))
			return
		}
		k := key{route, id}
		c.vendor[k] = append(c.vendor[k], vendorRec{result: result})
	}
	for _, call := range sims.Licrus.Calls() {
		add("licrus-installation", str(call.Body["ProductSerialNumberList"]), strconv.Itoa(call.Number), "Licrus call")
	}
	for _, f := range sims.Licrus.Forms() {
		form, _ := f.Body["Form"].(map[string]any)
		add("licrus-first-start", str(form["ProductSerialNumber1"]), strconv.Itoa(f.Number), "Licrus form")
	}
	for _, r := range sims.LeanSoft.Accepted() {
		add("leansoft-customer", r.Customer.CustomerIntegrationCompanyCode, r.CustomerID, "Lean Soft customer")
	}
	perCode := map[string]int{}
	for _, card := range sims.DIA.Cards() {
		code := str(card.Fields["carikartkodu"])
		if code == "0000008" { // seeded by devstack for the service-note example
			continue
		}
		perCode[code]++
		add("dia-customer", code, strconv.Itoa(card.Key), "DİA card")
	}
	for code, n := range perCode {
		if n > 1 {
			c.cardsDup[code] = n
		}
	}
	for _, note := range sims.DIA.Notes() {
		add("dia-service-note", str(note.Fields["konu"]), strconv.Itoa(note.Key), "DİA note")
	}
	for k := range c.outcomes {
		if p, ok := pub[k.id]; !ok || !contains(routes[p.typ], k.route) {
			c.strays = append(c.strays, fmt.Sprintf("outcome for route %s, requestId %q: no such published event on that route", k.route, k.id))
		}
	}
	for k := range c.dead {
		if p, ok := pub[k.id]; !ok || !contains(routes[p.typ], k.route) {
			c.strays = append(c.strays, fmt.Sprintf("dead letter for route %s, event %q: no such published event on that route", k.route, k.id))
		}
	}
	return c, nil
}

// verdict is the result of the invariant checks.
type verdict struct {
	violations []string
	missing    []key // (route, event) with no terminal record
	expected   int   // (route, event) pairs
	outcomes   int
	dead       int
	classes    map[string]int
	ambiguous  map[string]int // ambiguous dead letters by cause
	hist       map[string][3]int
	histAll    [3]int
}

// check applies the invariants to every (route, event) the run published.
func check(c *collected, pub map[string]published, routes map[string][]string) verdict {
	v := verdict{classes: map[string]int{}, ambiguous: map[string]int{}, hist: map[string][3]int{}}
	bad := func(format string, args ...any) { v.violations = append(v.violations, fmt.Sprintf(format, args...)) }
	v.violations = append(v.violations, c.strays...)
	for code, n := range c.cardsDup {
		bad("DİA has %d customer cards with carikartkodu %s (natural key must be unique)", n, code)
	}
	ids := make([]string, 0, len(pub))
	for id := range pub {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := pub[id]
		for _, route := range routes[p.typ] {
			k := key{route, id}
			v.expected++
			o, d, recs := c.outcomes[k], c.dead[k], c.vendor[k]
			calls := len(recs)
			h := v.hist[route]
			h[min(calls, 2)]++
			v.hist[route] = h
			v.histAll[min(calls, 2)]++
			if o != nil {
				v.outcomes++
			}
			if d != nil {
				v.dead++
				for _, cl := range d.classes {
					v.classes[cl]++
				}
			}
			switch {
			case o == nil && d == nil:
				v.missing = append(v.missing, k)
				continue
			case o != nil && d != nil:
				bad("%s %s: both an outcome and a dead letter (%s) — %d vendor record(s)", route, id, strings.Join(d.classes, ","), calls)
				continue
			}
			if o != nil {
				if len(o.ids) > 1 {
					bad("%s %s: %d outcomes with different ids", route, id, len(o.ids))
				}
				switch {
				case p.kind != kindGood:
					bad("%s %s: an outcome for an event that must fail (%s)", route, id, kindName(p.kind))
				case calls != 1:
					bad("%s %s: outcome %s but %d accepted vendor records (want exactly 1)", route, id, o.result, calls)
				case recs[0].result != o.result:
					bad("%s %s: outcome says %q, the vendor's record is %q", route, id, o.result, recs[0].result)
				}
				continue
			}
			if d.msgs > 1 {
				bad("%s %s: %d dead letters (classes %s)", route, id, d.msgs, strings.Join(d.classes, ","))
			}
			class := deadletter.Class(d.classes[0])
			if class == deadletter.Ambiguous {
				v.ambiguous[ambiguousCause(d.errs[0])]++
			}
			switch {
			case class != deadletter.Ambiguous && calls > 0:
				bad("%s %s: dead letter %q but %d accepted vendor record(s) (only an ambiguous dead letter may follow a call that acted): %s",
					route, id, class, calls, d.errs[0])
			case p.kind == kindInvalid && class != deadletter.Invalid:
				bad("%s %s: schema-invalid event dead-lettered as %q, want invalid", route, id, class)
			case p.kind == kindGood && class == deadletter.Invalid:
				bad("%s %s: a valid event dead-lettered as invalid: %s", route, id, d.errs[0])
			}
		}
	}
	return v
}

// ambiguousCause sorts an ambiguous dead letter's Kopru-Error into what caused it.
func ambiguousCause(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "never recorded its result"):
		return "worker died mid-call"
	case strings.Contains(m, "500") || strings.Contains(m, "may or may not have been written"):
		return "vendor 5xx"
	case strings.Contains(m, "deadline") || strings.Contains(m, "timeout"):
		return "timeout after sending"
	case strings.Contains(m, "eof") || strings.Contains(m, "reset") || strings.Contains(m, "broke"):
		return "connection reset"
	}
	return "other"
}

func kindName(k kind) string {
	switch k {
	case kindInvalid:
		return "schema-invalid"
	case kindRejected:
		return "note for an unknown card"
	}
	return "valid"
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
