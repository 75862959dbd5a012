package leansoft

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	leansoftsim "github.com/kopru/kopru/internal/sim/leansoft"
)

// TestDocExamples: the doc's example CustomerSave, written as a customer.created event with English
// names and again with the doc's own codes (spelled in the ways a producer might), goes to the
// simulator under the default configuration: the body received is the doc's example request (its
// white space removed) byte for byte, the answer is an outcome with the simulator's CustomerID, and
// the doc's identity number, which fails Köprü's TCKN check, is reported once, masked.
func TestDocExamples(t *testing.T) {
	doc := compactDoc(t)
	var base map[string]any
	if err := json.Unmarshal(readFile(t, "doc-example.event.json"), &base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit map[string]any // top-level fields replaced in the doc-example event
	}{
		{"English names", nil},
		{"the doc's codes", map[string]any{"recordType": 3, "organizationType": "0", "currency": "TRY"}},
		{"the doc's codes as text", map[string]any{"recordType": "3", "organizationType": 0, "currency": "try"}},
		{"the doc's letters and Turkish names", map[string]any{"recordType": "A+S", "organizationType": "Tanımsız", "currency": "Turkish lira"}},
		{"DİA's code, upper-case English", map[string]any{"recordType": "AS", "organizationType": "UNDEFINED", "currency": "TRY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.edit {
				m[k] = v
			}
			tg, s, _ := setup(t)
			var warned []*Violation
			tg.Warned = func(v *Violation) { warned = append(warned, v) }

			res, err := tg.Call(context.Background(), request(encode(t, m)))
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			recs := s.Accepted()
			if len(recs) != 1 {
				t.Fatalf("simulator accepted %d customers, want 1", len(recs))
			}
			if !bytes.Equal(recs[0].Body, doc) {
				t.Errorf("body is not the doc's, byte for byte:\n got %s\nwant %s", recs[0].Body, doc)
			}
			if res.Fields["customerId"] != recs[0].CustomerID || recs[0].CustomerID == "" || res.Fields["message"] != leansoftsim.SuccessMessage {
				t.Errorf("outcome fields %v, simulator's CustomerID %q", res.Fields, recs[0].CustomerID)
			}
			if len(warned) != 1 || warned[0].Field != "users[0].identityNumber" || warned[0].Check() != "userIdentityNumber" ||
				warned[0].Detail != "*********01 fails the TCKN checksum" {
				t.Errorf("warnings %v, want the identity number's, masked", warned)
			}
		})
	}
}
