package event

import (
	"encoding/json"
	"time"
)

// Outcome is the outcome of one request event on one route: a CloudEvent of type Type, id
// OutcomeID(Route, request id), source "kopru/<route>", subject the request id. The correlation
// (requestId, route, target) is in its data and, so a consumer can route on attributes alone, in the
// extension attributes requestid, route and target. The request's traceparent carries over.
type Outcome struct {
	Route, Target, Type string
	DataSchema          string // the outcome type's schema URI ("" for none)
	Request             *Envelope
	Fields              map[string]any // the target's result: Licrus call number, Lean Soft customer id, DİA key
}

// Encode is the outcome's structured-mode JSON document, stamped with now.
func (o Outcome) Encode(now time.Time) ([]byte, error) {
	data := make(map[string]any, len(o.Fields)+3)
	for k, v := range o.Fields {
		data[k] = v
	}
	data["requestId"], data["route"], data["target"] = o.Request.ID, o.Route, o.Target
	return json.Marshal(outcomeDoc{SpecVersion: "1.0", ID: OutcomeID(o.Route, o.Request.ID), Source: "kopru/" + o.Route, Type: o.Type,
		Time: now.UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Subject: o.Request.ID,
		DataSchema: o.DataSchema, Traceparent: o.Request.Traceparent, RequestID: o.Request.ID, Route: o.Route,
		Target: o.Target, Data: data})
}

// outcomeDoc is the outcome's document with its data still a value, so it is encoded in one pass.
type outcomeDoc struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Time            string         `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Subject         string         `json:"subject,omitempty"`
	DataSchema      string         `json:"dataschema,omitempty"`
	Traceparent     string         `json:"traceparent,omitempty"`
	RequestID       string         `json:"requestid"`
	Route           string         `json:"route"`
	Target          string         `json:"target"`
	Data            map[string]any `json:"data"`
}
