package deadletter_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/deadletter"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	failed := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	stored := failed.Add(time.Second)
	cases := []struct {
		name string
		in   deadletter.Letter
		want deadletter.Letter // what Parse gives back
	}{
		{name: "structured", in: deadletter.Letter{Route: "licrus-installation", EventID: "01J0", OriginalSubject: "events.installation.requested",
			Class: deadletter.Rejected, Error: "Seri numarası\nsistemde  bulunamadı.", Attempts: 1, TargetStatus: "HasError", FailedAt: failed},
			want: deadletter.Letter{Route: "licrus-installation", EventID: "01J0", OriginalSubject: "events.installation.requested",
				Class: deadletter.Rejected, Error: "Seri numarası sistemde bulunamadı.", Attempts: 1, TargetStatus: "HasError", FailedAt: failed}},
		{name: "replay failing again", in: deadletter.Letter{Route: "dia-customer", EventID: "e1", OriginalSubject: "events.customer.created",
			Class: deadletter.Ambiguous, Error: "timeout", Attempts: 3, FailedAt: failed.In(time.FixedZone("TRT", 3*3600)), ReplayOf: "42"},
			want: deadletter.Letter{Route: "dia-customer", EventID: "e1", OriginalSubject: "events.customer.created",
				Class: deadletter.Ambiguous, Error: "timeout", Attempts: 3, FailedAt: failed, ReplayOf: "42"}},
		{name: "binary-mode CloudEvent keeps its ce-* headers", in: deadletter.Letter{Route: "licrus-installation", EventID: "ce-1",
			OriginalSubject: "events.installation.requested", Class: deadletter.Invalid, Error: "data.deviceCount: must be >= 1", FailedAt: failed,
			CloudEvent: map[string]string{"ce-id": "ce-1", "ce-type": "installation.requested", "ce-source": "shop", "ce-specversion": "1.0",
				"ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "content-type": "application/json"}},
			want: deadletter.Letter{Route: "licrus-installation", EventID: "ce-1",
				OriginalSubject: "events.installation.requested", Class: deadletter.Invalid, Error: "data.deviceCount: must be >= 1", FailedAt: failed,
				CloudEvent: map[string]string{"ce-id": "ce-1", "ce-type": "installation.requested", "ce-source": "shop", "ce-specversion": "1.0",
					"ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "content-type": "application/json"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.in.Header()
			if got := h.Get(deadletter.HdrFailedAt); got != "2026-11-03T10:00:00Z" {
				t.Errorf("Kopru-Failed-At = %q, want RFC 3339 UTC", got)
			}
			if strings.ContainsAny(h.Get(deadletter.HdrError), "\n\r") {
				t.Errorf("Kopru-Error %q is not one line", h.Get(deadletter.HdrError))
			}
			if c.in.ReplayOf == "" && h.Get(deadletter.HdrReplayOf) != "" {
				t.Errorf("Kopru-Replay-Of set without a replay")
			}
			got := deadletter.Parse(deadletter.Subject(c.in.Route), h, stored)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(Encode) =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

func TestContractHeadersWinOverCloudEvent(t *testing.T) {
	h := deadletter.Letter{Route: "r", Class: deadletter.Exhausted, CloudEvent: map[string]string{deadletter.HdrRoute: "forged"}}.Encode()
	if h[deadletter.HdrRoute] != "r" {
		t.Fatalf("Kopru-Route = %q, want r", h[deadletter.HdrRoute])
	}
}

func TestParseFallbacks(t *testing.T) {
	stored := time.Date(2026, 11, 3, 10, 0, 0, 0, time.FixedZone("TRT", 3*3600))
	h := nats.Header{}
	h.Set(deadletter.HdrFailedAt, "yesterday")
	h.Set(deadletter.HdrAttempts, "many")
	l := deadletter.Parse("dlq.leansoft-customer", h, stored)
	if l.Route != "leansoft-customer" || !l.FailedAt.Equal(stored) || l.FailedAt.Location() != time.UTC || l.Attempts != 0 || l.CloudEvent != nil {
		t.Fatalf("Parse of a bare dead letter = %+v", l)
	}
}

func TestClasses(t *testing.T) {
	if got := strings.Join(deadletter.ClassNames(), "|"); got != "invalid|rejected|exhausted|ambiguous" {
		t.Fatalf("classes = %s", got)
	}
	for _, c := range []struct {
		c  deadletter.Class
		ok bool
	}{{deadletter.Invalid, true}, {deadletter.Ambiguous, true}, {"Invalid", false}, {"", false}, {"retryable", false}} {
		if c.c.Valid() != c.ok {
			t.Errorf("%q.Valid() = %v", c.c, !c.ok)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"dead letter", deadletter.MsgID("licrus-installation", "01J0", 7, ""), "dlq/licrus-installation/01J0"},
		{"no event id", deadletter.MsgID("licrus-installation", "", 7, ""), "dlq/licrus-installation/seq-7"},
		{"replay dead-lettered again", deadletter.MsgID("dia-customer", "e1", 9, "42"), "dlq/dia-customer/e1/replay-42"},
		{"replay", deadletter.ReplayMsgID("e1", 42), "e1/replay/42"},
		{"replay without id", deadletter.ReplayMsgID("", 3), "no-id/replay/3"},
		{"replay of an id a header cannot carry", deadletter.ReplayMsgID(" e1\n", 3), "sha256-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "sha256-" {
				if !strings.HasPrefix(c.got, "sha256-") || !strings.HasSuffix(c.got, "/replay/3") {
					t.Fatalf("got %q, want a digest id", c.got)
				}
				return
			}
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
}
