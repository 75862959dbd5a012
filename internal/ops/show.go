package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
)

// Detail is one dead letter in full.
type Detail struct {
	DeadLetter
	Headers map[string][]string `json:"headers"` // every header, Köprü's and any other
	// Event is the original event pretty-printed when it is JSON; Raw holds the bytes as stored.
	Event json.RawMessage `json:"event,omitempty"`
	Raw   []byte          `json:"raw"`
	Valid bool            `json:"validJSON"`
}

// HeaderNames returns the header names of d, sorted.
func (d *Detail) HeaderNames() []string {
	out := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Pretty returns the event pretty-printed, or its raw text when it is not JSON.
func (d *Detail) Pretty() string {
	if d.Valid {
		return string(d.Event)
	}
	return string(d.Raw)
}

// Show returns dead letter id in full (ErrNotFound when there is none).
func (o *Ops) Show(ctx context.Context, id uint64) (*Detail, error) {
	m, err := o.get(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &Detail{DeadLetter: fromHeaders(m.Sequence, m.Subject, m.Header, m.Time), Headers: map[string][]string{}, Raw: m.Data}
	d.EventID = storedEventID(m.Header, m.Data, d.EventID)
	for k, v := range m.Header {
		d.Headers[k] = append([]string(nil), v...)
	}
	var buf bytes.Buffer
	if json.Valid(m.Data) && json.Indent(&buf, m.Data, "", "  ") == nil {
		d.Event, d.Valid = buf.Bytes(), true
	}
	return d, nil
}
