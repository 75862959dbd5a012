package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/event"
)

// A binary-mode event not yet handled is found by its ce-id whatever the header's spelling (NATS
// header names are case-sensitive): GET /v1/events/{id} says pending, not 404.
func TestEventPendingFoundByCEIDInCapitals(t *testing.T) {
	h := newHTTPStack(t, 0)
	ctx := context.Background()
	if _, err := h.js.PauseConsumer(ctx, bus.StreamEvents, "licrus-installation", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(event.EventsPrefix + "installation.requested")
	m.Data = exampleData(t)
	m.Header["CE-SPECVERSION"] = []string{"1.0"}
	m.Header["CE-ID"] = []string{"caps-1"}
	m.Header["CE-SOURCE"] = []string{"shop"}
	m.Header["CE-TYPE"] = []string{"installation.requested"}
	if _, err := h.js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	code, _, sb := h.do("GET", "/v1/events/caps-1", ingestToken, nil, nil)
	if code != 200 || len(sb.Routes) != 1 || sb.Routes[0].State != "pending" {
		t.Fatalf("GET of a pending event published with CE-ID: %d %+v", code, sb)
	}
}
