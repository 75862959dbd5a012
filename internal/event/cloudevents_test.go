package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A structured event keeps subject, dataschema and every extension through Decode and Marshal.
func TestEnvelopeKeepsEveryAttribute(t *testing.T) {
	in := `{"specversion":"1.0","id":"e-1","source":"shop","type":"t","time":"2026-01-02T03:04:05+03:00",` +
		`"datacontenttype":"application/json","subject":"order/7","dataschema":"https://example.com/s.json",` +
		`"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tenant":"acme","count":3,` +
		`"flag":true,"gone":null,"data":{"a":1}}`
	env, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if env.Subject != "order/7" || env.DataSchema != "https://example.com/s.json" || env.Time != "2026-01-02T03:04:05+03:00" {
		t.Fatalf("attributes lost: %+v", env)
	}
	if v, _ := env.Extension("tenant"); v != "acme" {
		t.Fatalf("tenant = %q", v)
	}
	if _, ok := env.Extension("gone"); ok {
		t.Fatal("a null attribute is absent")
	}
	out, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	delete(a, "gone")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the event:\n in %s\nout %s", in, out)
	}
}

// The binary content mode on NATS gives the same envelope as the structured one.
func TestDecodeMessageBinaryMatchesStructured(t *testing.T) {
	structured := `{"specversion":"1.0","id":"e-1","source":"shop","type":"t","time":"2026-01-02T03:04:05Z",` +
		`"datacontenttype":"application/json","subject":"s","dataschema":"urn:x","tenant":"acme","data":{"a":1}}`
	want, err := DecodeMessage(map[string][]string{"Nats-Msg-Id": {"e-1"}}, []byte(structured))
	if err != nil {
		t.Fatal(err)
	}
	h := map[string][]string{"ce-specversion": {"1.0"}, "Ce-Id": {"e-1"}, "ce-source": {"shop"}, "ce-type": {"t"},
		"ce-time": {"2026-01-02T03:04:05Z"}, "ce-subject": {"s"}, "ce-dataschema": {"urn:x"}, "CE-TENANT": {"acme"},
		"content-type": {"application/json"}, "Nats-Msg-Id": {"e-1"}}
	got, err := DecodeMessage(h, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("binary %+v\nstructured %+v", got, want)
	}
	// The structured content type wins over stray ce- headers.
	h["content-type"] = []string{ContentTypeStructured}
	if got, err := DecodeMessage(h, []byte(structured)); err != nil || got.ID != "e-1" {
		t.Fatalf("structured with ce- headers: %v %v", got, err)
	}
}

func TestDecodeRefusals(t *testing.T) {
	base := `"specversion":"1.0","id":"1","source":"s","type":"t"`
	for _, tc := range []struct{ name, doc, want string }{
		{"base64 data", `{` + base + `,"data_base64":"e30="}`, "data_base64"},
		{"object extension", `{` + base + `,"x":{},"data":{}}`, "must be a string, number or boolean"},
		{"bad name", `{` + base + `,"a-b":"1","data":{}}`, "not a CloudEvents name"},
		{"id not a string", `{"specversion":"1.0","id":1,"source":"s","type":"t","data":{}}`, `attribute "id" must be a string`},
		{"array", `[]`, "not a JSON object"},
		{"upper-case id", `{"specversion":"1.0","ID":"1","source":"s","type":"t","data":{}}`, `must be written "id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			checkOneLine(t, err)
		})
	}
	bin := map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
	for _, tc := range []struct{ name, data, want string }{
		{"not json", `{"a":`, "not JSON"},
		{"not an object", `[1]`, "not a JSON object"},
	} {
		t.Run("binary "+tc.name, func(t *testing.T) {
			_, err := DecodeMessage(bin, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	delete(bin, "ce-id")
	if _, err := DecodeMessage(bin, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Fatalf("binary without ce-id: %v", err)
	}
}

// Two spellings of one header (NATS header names are case-sensitive) are refused: the map order is
// random, so taking either would give a different event id (ledger key) per delivery.
func TestDecodeMessageRefusesTwoSpellings(t *testing.T) {
	for _, tc := range []struct{ name, a, b, va, vb string }{
		{"id differing", "ce-id", "CE-ID", "A", "B"},
		{"id same", "ce-id", "Ce-Id", "A", "A"},
		{"source", "ce-source", "CE-SOURCE", "s", "t"},
		{"extension", "ce-tenant", "Ce-Tenant", "x", "y"},
		{"content type", "content-type", "Content-Type", "application/json", "text/json"},
		{"traceparent", "traceparent", "Traceparent",
			"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203332-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
			delete(h, tc.a)
			h[tc.a], h[tc.b] = []string{tc.va}, []string{tc.vb}
			for range 20 { // map order is random: every walk must refuse
				env, err := DecodeMessage(h, []byte(`{}`))
				if err == nil || !strings.Contains(err.Error(), "more than one spelling") {
					t.Fatalf("%s + %s: %+v %v", tc.a, tc.b, env, err)
				}
				checkOneLine(t, err)
			}
		})
	}
}

// A binary-mode event's plain traceparent and tracestate headers (DecodeMessage takes traceparent
// beside ce-traceparent) are kept with its attributes, so a dead letter and its replay keep the trace.
func TestBinaryHeadersKeepTraceContext(t *testing.T) {
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	h := map[string][]string{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"},
		"Traceparent": {tp}, "tracestate": {"vendor=abc"}, "Nats-Msg-Id": {"1"}, "X-Other": {"x"}}
	got := BinaryHeaders(h)
	if got["Traceparent"] != tp || got["tracestate"] != "vendor=abc" || got["ce-id"] != "1" {
		t.Fatalf("BinaryHeaders lost the trace context: %v", got)
	}
	if _, ok := got["Nats-Msg-Id"]; ok || got["X-Other"] != "" {
		t.Fatalf("BinaryHeaders kept a header that is not the event's: %v", got)
	}
	back := map[string][]string{}
	for k, v := range got {
		back[k] = []string{v}
	}
	if env, err := DecodeMessage(back, []byte(`{}`)); err != nil || env.Traceparent != tp {
		t.Fatalf("the kept headers decode to %+v %v", env, err)
	}
}
