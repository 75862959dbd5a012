package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/redact"
)

// businessKeys are the data fields an operator may search events by.
var businessKeys = map[string]bool{"serialNumber": true, "serialNumbers": true, "customerId": true, "taxNumber": true, "customerCode": true}

// EventMatch is one event whose data holds a searched business key.
type EventMatch struct {
	ID    string    `json:"id"`
	Type  string    `json:"type"`
	Time  time.Time `json:"time"`  // when EVENTS stored it
	Field string    `json:"field"` // the data field that matched (serialNumbers, taxNumber…)
	Value string    `json:"value"` // its value, masked
}

// SearchKey returns the events, newest first and at most limit, among the latest MaxScan of EVENTS
// whose data holds key as a serial number, customer id, tax number or customer code.
func (ev *Events) SearchKey(ctx context.Context, key string, limit int) ([]EventMatch, error) {
	key = strings.TrimSpace(key)
	if len(key) < 3 {
		return nil, nil
	}
	s, err := ev.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	start := uint64(1)
	if n := uint64(ev.maxScan()); info.State.LastSeq > n {
		start = info.State.LastSeq - n + 1
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{event.EventsPrefix + ">"},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start, InactiveThreshold: 30 * time.Second}
	needle := []byte(key)
	var out []EventMatch
	err = ev.scan(ctx, bus.StreamEvents, cfg, func(m jetstream.Msg, meta *jetstream.MsgMetadata) bool {
		if !bytes.Contains(m.Data(), needle) {
			return true
		}
		var env struct {
			ID   string          `json:"id"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(m.Data(), &env) != nil {
			return true
		}
		var data any
		if json.Unmarshal(env.Data, &data) != nil {
			return true
		}
		if field := findKey(data, "", key); field != "" {
			out = append(out, EventMatch{ID: env.ID, Type: env.Type, Time: meta.Timestamp.UTC(), Field: field, Value: MaskKey(key)})
		}
		return true
	})
	// newest first, without repeats (a replay is the same event)
	seen := map[string]bool{}
	res := []EventMatch{}
	for i := len(out) - 1; i >= 0 && len(res) < limit; i-- {
		if !seen[out[i].ID] {
			seen[out[i].ID] = true
			res = append(res, out[i])
		}
	}
	return res, err
}

// findKey returns the name of the business-key field under which v holds key, or "".
func findKey(v any, field, key string) string {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if f := findKey(c, k, key); f != "" {
				return f
			}
		}
	case []any:
		for _, c := range x {
			if f := findKey(c, field, key); f != "" {
				return f
			}
		}
	case string:
		if businessKeys[field] && strings.EqualFold(strings.TrimSpace(x), key) {
			return field
		}
	}
	return ""
}

// MaskKey masks a business key as every personal value is masked (redact.Personal).
func MaskKey(s string) string { return redact.Personal(s) }
