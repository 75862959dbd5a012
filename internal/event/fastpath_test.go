package event

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fullValid is the library's own verdict, without the fast path.
func fullValid(t testing.TB, s *Schemas, typ string, inst any) bool {
	t.Helper()
	return s.byType[typ].Validate(inst) == nil
}

func instance(t testing.TB, data string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return v
}

// Every schema Köprü ships gets a fast path, except those using a keyword it leaves to the library,
// and every example passes it: otherwise the hot path silently falls back to the full validation.
func TestFastPathCoversEverySchema(t *testing.T) {
	s := MustLoadSchemas()
	libraryOnly := map[string]string{"service-note.created": "oneOf", "customer.synced": "if/then"}
	for typ := range s.byType {
		if got := s.fast[typ] != nil; got == (libraryOnly[typ] != "") {
			t.Errorf("%s: fast path %v; want %v (library-only keyword: %q)", typ, got, !got, libraryOnly[typ])
		}
	}
	for typ, data := range exampleSeeds(t) {
		f := s.fast[typ]
		if f == nil {
			continue
		}
		if !f.validJSON(data) {
			t.Errorf("%s: the fast path does not accept the example", typ)
		}
	}
}

// The fast path accepts only what the library accepts, and hands every doubtful or invalid
// instance to it (where the error message comes from).
func TestFastPathDefersToTheLibrary(t *testing.T) {
	s := MustLoadSchemas()
	const typ = "installation.requested"
	base := `{"customer":{"fullName":"Ada","mobilePhone":"555 1234","city":"İzmir","district":"Konak","address":"Kordon 1"},` +
		`"product":{"group":"KOMBİ","serialNumbers":["SN1"]},"deviceCount":%s}`
	cases := []struct {
		data       string
		fast, full bool
	}{
		{strings.Replace(base, "%s", "2", 1), true, true},
		{strings.Replace(base, "%s", "2.0", 1), false, true},  // an integer written as a fraction: the library decides
		{strings.Replace(base, "%s", "2e0", 1), false, true},  // ditto, with an exponent
		{strings.Replace(base, "%s", "2.5", 1), false, false}, // not an integer
		{strings.Replace(base, "%s", "0", 1), false, false},   // below minimum
		{strings.Replace(base, "%s", "10001", 1), false, false},
		{strings.Replace(base, "%s", "99999999999999999999", 1), false, false},
		{strings.Replace(base, "%s", `"2"`, 1), false, false},
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"SN1"`, `"SN1,SN2"`, 1), false, false}, // pattern
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `["SN1"]`, `[]`, 1), false, false},      // minItems
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"Ada"`, `"\u00a0 "`, 1), false, false}, // $ref'd pattern
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"Ada"`, `"`+strings.Repeat("ş", 251)+`"`, 1), false, false},
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"Ada"`, `"`+strings.Repeat("ş", 250)+`"`, 1), true, true},
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"fullName":"Ada",`, ``, 1), false, false}, // required
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"product":{`, `"extra":[1,{"x":null}],"product":{`, 1), true, true},
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"customer":{`, `"dealer":7,"customer":{`, 1), false, false},
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"Ada"`, `"A\u0064a"`, 1), false, true},                 // an escape: the library unescapes
		{strings.Replace(base, "%s", `0,"deviceCount":2`, 1), false, true},                                            // duplicate key: the last one counts
		{strings.Replace(base, "%s", `2,"deviceCount":0`, 1), false, false},                                           // ditto
		{strings.ReplaceAll(strings.Replace(base, "%s", "1", 1), `,`, " ,\n\t"), true, true},                          // white space
		{strings.Replace(strings.Replace(base, "%s", "1", 1), `"Kordon 1"`, `"Kordon 1 \"A\" blok"`, 1), false, true}, // escaped quotes
		{`[]`, false, false},
		{`null`, false, false},
		{` {} `, false, false},
	}
	for _, c := range cases {
		inst := instance(t, c.data)
		if got := s.fast[typ].validJSON([]byte(c.data)); got != c.fast {
			t.Errorf("fast path says %v, want %v: %s", got, c.fast, c.data)
		}
		if got := fullValid(t, s, typ, inst); got != c.full {
			t.Errorf("library says %v, want %v: %s", got, c.full, c.data)
		}
		if got := s.Validate(typ, []byte(c.data)) == nil; got != c.full {
			t.Errorf("Validate says %v, want the library's %v: %s", got, c.full, c.data)
		}
	}
}

// BenchmarkValidate: the library alone (instance already decoded), the library with decoding, and the
// fast path, which reads the bytes.
func BenchmarkValidate(b *testing.B) {
	s := MustLoadSchemas()
	data := exampleSeeds(b)["installation.requested"]
	inst := instance(b, string(data))
	b.Run("decode+library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err := s.byType["installation.requested"].Validate(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.byType["installation.requested"].Validate(inst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fastpath", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !s.fast["installation.requested"].validJSON(data) {
				b.Fatal("not valid")
			}
		}
	})
}

// Schemas the fast path must leave to the library (found by review): a bound beyond int64, which the
// library wraps to a negative number, and a $ref cycle on the same value, which would never end.
func TestFastPathRefusesOddSchemas(t *testing.T) {
	for _, src := range []string{
		`{"maxLength": 18446744073709551615}`,
		`{"maxItems": 9223372036854775808}`,
		`{"properties": {"a": {"maxLength": 18446744073709551615}}}`,
		`{"$ref": "#"}`,
		`{"anyOf": [{"$ref": "#"}, {"type": "string"}]}`,
		`{"allOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"anyOf": [{"$ref": "#"}]}}}`,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(src, "{", `{"$schema": "https://json-schema.org/draft/2020-12/schema", `, 1)))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("mem:///odd.json", doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("mem:///odd.json")
		if err != nil {
			t.Fatalf("%s: the library no longer compiles it (%v); the case tests nothing", src, err)
		}
		if f := newFastSchema(sch); f != nil {
			t.Errorf("%s: got a fast path", src)
		}
	}
	// A recursive $ref that does descend into the value is fine.
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object", "properties": {"child": {"$ref": "#"}, "name": {"type": "string"}}}`))
	c := jsonschema.NewCompiler()
	_ = c.AddResource("mem:///tree.json", doc)
	sch, err := c.Compile("mem:///tree.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newFastSchema(sch)
	if f == nil || !f.validJSON([]byte(`{"name":"a","child":{"child":{"name":"c"}}}`)) || f.validJSON([]byte(`{"child":{"name":1}}`)) {
		t.Fatalf("recursive schema: fast path %v", f != nil)
	}
}
