package leansoft

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The event data this adapter's tests rely on is valid against the published schemas, and the schemas
// say what DESIGN.md says. (internal/event validates events at run time; this only keeps the two in
// step.)

const schemaDir = "../../../schemas"

func compileSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(schemaDir, name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func instance(t testing.TB, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCustomerCreatedSchema(t *testing.T) {
	s := compileSchema(t, "customer.created.v1.json")
	example, err := os.ReadFile(filepath.Join(schemaDir, "examples", "customer.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Map(example, Config{}); err != nil {
		t.Errorf("the schema example is refused by the Lean Soft rules: %v", err)
	}
	tests := []struct {
		name  string
		data  []byte
		valid bool
	}{
		{"schema example", example, true},
		{"doc example event", readFile(t, "doc-example.event.json"), true},
		{"minimal", encode(t, valid()), true},
		{"unknown fields allowed", encode(t, with(valid(), func(m map[string]any) { m["x"] = 1; address(m)["y"] = true; user0(m)["z"] = "z" })), true},
		{"organizationType integer", encode(t, with(valid(), func(m map[string]any) { m["organizationType"] = 2 })), true},
		{"no referenceGroupCode", encode(t, with(valid(), func(m map[string]any) { delete(m, "referenceGroupCode") })), true},
		{"no customerId", encode(t, with(valid(), func(m map[string]any) { delete(m, "customerId") })), false},
		{"empty name", encode(t, with(valid(), func(m map[string]any) { m["name"] = " " })), false},
		{"recordType other", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "customer" })), false},
		{"recordType Lean Soft integer", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = 3 })), true},
		{"recordType Lean Soft integer out of range", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = 4 })), false},
		{"recordType Lean Soft string", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "2" })), true},
		{"recordType Lean Soft letters", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "A+S" })), true},
		{"recordType Lean Soft Turkish", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "Alıcı" })), true},
		{"recordType DİA code", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "sat" })), true},
		{"recordType English upper case", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = "BUYER" })), true},
		{"recordType number with fraction", encode(t, with(valid(), func(m map[string]any) { m["recordType"] = 1.5 })), false},
		{"no currency", encode(t, with(valid(), func(m map[string]any) { delete(m, "currency") })), false},
		{"no taxNumber", encode(t, with(valid(), func(m map[string]any) { delete(m, "taxNumber") })), false},
		{"no address", encode(t, with(valid(), func(m map[string]any) { delete(m, "address") })), false},
		{"no country", encode(t, with(valid(), func(m map[string]any) { delete(address(m), "country") })), false},
		{"no city", encode(t, with(valid(), func(m map[string]any) { delete(address(m), "city") })), false},
		{"no district", encode(t, with(valid(), func(m map[string]any) { address(m)["district"] = "" })), false},
		{"no neighborhood", encode(t, with(valid(), func(m map[string]any) { delete(address(m), "neighborhood") })), false},
		{"phones objects", encode(t, with(valid(), func(m map[string]any) { m["phones"] = []any{map[string]any{"number": "1"}} })), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(instance(t, tt.data))
			if (err == nil) != tt.valid {
				t.Errorf("valid = %v, want %v: %v", err == nil, tt.valid, err)
			}
		})
	}
}

func TestCustomerSyncedSchema(t *testing.T) {
	s := compileSchema(t, "customer.synced.v1.json")
	example, err := os.ReadFile(filepath.Join(schemaDir, "examples", "customer.synced.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The outcome the worker builds from this adapter's Result (requestId, route and target added).
	tg, _, _ := setup(t)
	res, err := tg.Call(context.Background(), request(encode(t, valid())))
	if err != nil {
		t.Fatal(err)
	}
	outcome := map[string]any{"requestId": "01JBQ5Z8M3V7K2R4T6W8Y0A1C3", "route": "leansoft-customer", "target": Name}
	for k, v := range res.Fields {
		outcome[k] = v
	}
	tests := []struct {
		name  string
		data  any
		valid bool
	}{
		{"example", example, true},
		{"from a Call", outcome, true},
		{"dia with key", map[string]any{"requestId": "1", "route": "dia-customer", "target": "dia", "key": "330389", "message": "eklendi"}, true},
		{"leansoft without customerId", map[string]any{"requestId": "1", "route": "leansoft-customer", "target": "leansoft"}, false},
		{"dia without key", map[string]any{"requestId": "1", "route": "dia-customer", "target": "dia", "customerId": "x"}, false},
		{"unknown target", map[string]any{"requestId": "1", "route": "r", "target": "licrus", "customerId": "x"}, false},
		{"no requestId", map[string]any{"route": "r", "target": "leansoft", "customerId": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := tt.data.([]byte)
			if !ok {
				var err error
				if b, err = json.Marshal(tt.data); err != nil {
					t.Fatal(err)
				}
			}
			err := s.Validate(instance(t, b))
			if (err == nil) != tt.valid {
				t.Errorf("valid = %v, want %v: %v", err == nil, tt.valid, err)
			}
		})
	}
}

func with(m map[string]any, f func(map[string]any)) map[string]any {
	f(m)
	return m
}
