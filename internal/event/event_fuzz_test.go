package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/kopru/kopru/schemas"
)

// exampleSeeds returns every example data document of schemas/examples, keyed by type.
func exampleSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := fs.Glob(schemas.FS, "examples/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no schema examples: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := schemas.FS.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(f, "examples/"), ".json")] = b
	}
	return out
}

// typeIndex lists the schema types and each one's position: fuzz targets pick a type with a byte.
func typeIndex(s *Schemas) ([]string, map[string]int) {
	types := s.Types()
	idx := map[string]int{}
	for i, t := range types {
		idx[t] = i
	}
	return types, idx
}

// checkOneLine fails unless err wraps ErrInvalid and reads as one line.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %q (%T) does not wrap ErrInvalid", err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// FuzzDecode: Decode never panics; what it accepts is an envelope of the contract, and what it refuses
// comes back as a one-line error wrapping ErrInvalid.
func FuzzDecode(f *testing.F) {
	for typ, data := range exampleSeeds(f) {
		b, err := New(typ, "seed", data).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"specversion":"1.0"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}} {}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2025-02-11T06:00:00Z","datacontenttype":"application/json","data":{"a":1}}`,
		`{"specversion":"0.3","id":"1","source":"s","type":"t","data":{}}`,
		`{"specversion":"1.0","id":" ","source":"s","type":"t","data":{}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":[]}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":null}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":"{}"}`,
		`{"specversion":1.0,"id":"1","source":"s","type":"t","data":{}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday","data":{}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/xml","data":{}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":"\u0000"}}`,
		`{"specversion":"1.0","ID":"1","Source":"s","TYPE":"t","data":{}}`,
		"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data\":{\"a\":\"\xff\"}}",
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":1e999}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{` + strings.Repeat(`"a":[`, 50) + strings.Repeat(`]`, 50) + `}}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := Decode(b)
		if err != nil {
			if env != nil {
				t.Fatalf("Decode returned an envelope and an error")
			}
			checkOneLine(t, err)
			return
		}
		if env.SpecVersion != "1.0" {
			t.Fatalf("specversion %q accepted", env.SpecVersion)
		}
		if strings.TrimSpace(env.ID) == "" || strings.TrimSpace(env.Source) == "" || strings.TrimSpace(env.Type) == "" {
			t.Fatalf("empty id/source/type accepted: %+v", env)
		}
		d := bytes.TrimSpace(env.Data)
		if len(d) == 0 || d[0] != '{' {
			t.Fatalf("data %q is not an object", clip(string(env.Data)))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(env.Data, &obj); err != nil {
			t.Fatalf("data does not decode as an object: %v", err)
		}
		if env.Time != "" && env.EventTime().IsZero() {
			t.Fatalf("time %q accepted but unreadable", env.Time)
		}
		// What was accepted survives a round trip.
		again, err := env.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if len(again) <= MaxSize {
			if _, err := Decode(again); err != nil {
				t.Fatalf("re-encoded envelope refused: %v", err)
			}
		}
	})
}

// FuzzValidate: Validate never panics for any known type, and every refusal is a one-line error
// wrapping ErrInvalid. The typ byte picks one of the schemas.
func FuzzValidate(f *testing.F) {
	s := MustLoadSchemas()
	types, idx := typeIndex(s)
	for typ, data := range exampleSeeds(f) {
		f.Add(uint8(idx[typ]), data)
		// The same document with each required field broken in a common way.
		f.Add(uint8(idx[typ]), bytes.Replace(data, []byte(`"`), []byte(`"\n`), 3))
	}
	for _, d := range []string{`{}`, `[]`, `null`, `1`, `"x"`, `{"customer":[]}`, `{"deviceCount":1e400}`,
		`{"deviceCount":-1}`, `{"deviceCount":1.5}`, `{"customer":{"fullName":"\u0000"}}`, `{"a":{"b\nc":1}}`,
		`{"product":{"serialNumbers":["a,b"]}}`, `{"customer":{"phones":[{"number":{}}]}}`, `{} x`, `{`} {
		for i := range types {
			f.Add(uint8(i), []byte(d))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		err := s.Validate(typ, data)
		if err == nil {
			if !json.Valid(data) {
				t.Fatalf("%s: invalid JSON accepted", typ)
			}
			return
		}
		checkOneLine(t, err)
		if len(err.Error()) > 2000 {
			t.Fatalf("%s: error is %d bytes long", typ, len(err.Error()))
		}
	})
}
