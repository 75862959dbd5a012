package event

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FuzzFastPath: whatever the instance, the fast path never accepts what the library refuses.
func FuzzFastPath(f *testing.F) {
	s := MustLoadSchemas()
	types, idx := typeIndex(s)
	for typ, data := range exampleSeeds(f) {
		f.Add(uint8(idx[typ]), data)
		f.Add(uint8(idx[typ]), bytes.Replace(data, []byte(`"`), []byte(`"\n`), 3))
		f.Add(uint8(idx[typ]), bytes.ReplaceAll(data, []byte(`2`), []byte(`-2`)))
		f.Add(uint8(idx[typ]), bytes.ReplaceAll(data, []byte(`": "`), []byte(`":"\u00`)))
		f.Add(uint8(idx[typ]), bytes.ReplaceAll(data, []byte("\n"), nil))
		f.Add(uint8(idx[typ]), bytes.Replace(data, []byte(`{`), []byte(`{"customer":{},"dealer":[],`), 1))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		fp := s.fast[typ]
		if fp == nil || !fp.validJSON(data) {
			return
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: the fast path accepted what is not JSON to the library (%v): %q", typ, err, data)
		}
		if err := s.byType[typ].Validate(inst); err != nil {
			t.Fatalf("%s: the fast path accepted what the library refuses (%v): %s", typ, err, data)
		}
	})
}
