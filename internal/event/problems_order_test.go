package event

import (
	"errors"
	"slices"
	"testing"
)

// TestSchemaProblemsComeInAStableOrder: the same broken document lists its problems the same way every
// time, sorted by location.
func TestSchemaProblemsComeInAStableOrder(t *testing.T) {
	s := MustLoadSchemas()
	data := []byte(`{"dealer":{"email":5},"customer":{"fullName":1,"mobilePhone":2,"city":3,"district":4,"address":5},"product":{"group":6,"serialNumbers":"x"},"deviceCount":"y"}`)
	var first []string
	for i := 0; i < 30; i++ {
		var se *SchemaError
		if err := s.Validate("installation.requested", data); !errors.As(err, &se) {
			t.Fatalf("not a schema error: %v", err)
		}
		if i == 0 {
			first = se.Problems
			if len(first) < 5 || !slices.IsSorted(first) {
				t.Fatalf("problems %q", first)
			}
			continue
		}
		if !slices.Equal(first, se.Problems) {
			t.Fatalf("run %d: %q, first %q", i, se.Problems, first)
		}
	}
}
