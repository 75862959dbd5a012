package event

import (
	"testing"

	"github.com/kopru/kopru/schemas"
)

// BenchmarkDecodeAndValidate is the per-event cost of the contract checks the bare loop of `make bench`
// does not do: envelope decoding and JSON Schema validation of the data.
func BenchmarkDecodeAndValidate(b *testing.B) {
	s := MustLoadSchemas()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	raw, _ := New("installation.requested", "bench", data).Marshal()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		env, err := Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Validate(env.Type, env.Data); err != nil {
			b.Fatal(err)
		}
	}
}
