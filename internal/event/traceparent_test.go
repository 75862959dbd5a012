package event

import (
	"strings"
	"testing"
)

// A bad traceparent is dropped at decode, never a reason to refuse the event (issue 11, item 1).
func TestDecodeDropsBadTraceparent(t *testing.T) {
	const good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	bad := []string{
		good + "\r\nX-Injected: 1",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01", // all-zero trace id
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // all-zero parent id
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // upper case
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // unknown version
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
		" " + good, good + " ", "garbage", strings.Repeat("0", 55),
	}
	env := func(tp string) []byte {
		return []byte(`{"specversion":"1.0","id":"x1","source":"s","type":"t","traceparent":` + quoteJSON(tp) + `,"data":{}}`)
	}
	e, err := Decode(env(good))
	if err != nil || e.Traceparent != good || e.DroppedTraceparent != "" {
		t.Fatalf("good traceparent: %+v %v", e, err)
	}
	for _, tp := range bad {
		e, err := Decode(env(tp))
		if err != nil {
			t.Errorf("%q: event refused: %v", tp, err)
			continue
		}
		if e.Traceparent != "" || e.DroppedTraceparent != tp {
			t.Errorf("%q: traceparent %q kept (dropped %q)", tp, e.Traceparent, e.DroppedTraceparent)
		}
		if b, _ := e.Marshal(); strings.Contains(string(b), "traceparent") {
			t.Errorf("%q: re-encoded envelope still carries it: %s", tp, b)
		}
	}
}

func quoteJSON(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// The NATS binary mode drops a bad traceparent the same way (ce-traceparent or traceparent header).
func TestDecodeMessageDropsBadTraceparent(t *testing.T) {
	for _, hdr := range []string{"ce-traceparent", "traceparent"} {
		h := map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {"b1"}, "ce-source": {"s"}, "ce-type": {"t"},
			"content-type": {ContentTypeJSON}, hdr: {"00-zz-zz-01"}}
		e, err := DecodeMessage(h, []byte(`{}`))
		if err != nil || e.Traceparent != "" || e.DroppedTraceparent != "00-zz-zz-01" {
			t.Fatalf("%s: %+v %v", hdr, e, err)
		}
	}
}
