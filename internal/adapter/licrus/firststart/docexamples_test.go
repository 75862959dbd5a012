package firststart

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
	"github.com/kopru/kopru/internal/sim/licrus"
)

// TestDocExamples: the doc's "Create JSON Request Modeli" written as a first-start.requested event
// (schemas/examples/first-start.requested.json), with the coded fields in English and in the doc's own
// values (ContactInfoType 4, RequestReason 1, ServiceType 32) spelled the ways a producer might, goes to
// the simulator: the body received is docBody (the doc's, with its two documented differences) byte for
// byte once its white space is removed, and the answer is an outcome with the form number.
func TestDocExamples(t *testing.T) {
	var doc bytes.Buffer
	if err := json.Compact(&doc, []byte(docBody)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "schemas", "examples", "first-start.requested.json"))
	if err != nil {
		t.Fatal(err)
	}
	phone := func(m map[string]any) map[string]any {
		return m["customer"].(map[string]any)["phones"].([]any)[0].(map[string]any)
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"English names", nil},
		{"the doc's ContactInfoType id", func(m map[string]any) { phone(m)["type"] = 4 }},
		{"the doc's ContactInfoType id as text", func(m map[string]any) { phone(m)["type"] = "4" }},
		{"English name in upper case", func(m map[string]any) { phone(m)["type"] = "MOBILE" }},
		{"the doc's RequestReason and ServiceType", func(m map[string]any) { m["requestReason"], m["serviceType"] = 1, 32 }},
		{"RequestReason and ServiceType as text", func(m map[string]any) { m["requestReason"], m["serviceType"] = "1", "32" }},
		{"RequestReason by name", func(m map[string]any) { m["requestReason"] = "first-start" }},
		{"RequestReason by Turkish name", func(m map[string]any) { m["requestReason"] = "İlk Çalıştırma" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(m)
			}
			e := newEnv(t, "DEMODEMODEMODEMO")
			res, err := e.call(t, m)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			forms := e.sim.Forms()
			if len(forms) != 1 {
				t.Fatalf("forms = %d, want 1", len(forms))
			}
			if !bytes.Equal(forms[0].Raw, doc.Bytes()) {
				t.Errorf("body is not the doc's, byte for byte:\n got %s\nwant %s", forms[0].Raw, doc.Bytes())
			}
			if res.Fields["formNumber"] != "100001" || res.Fields["message"] != licrus.FormMessage(100001) {
				t.Errorf("outcome %v", res.Fields)
			}
		})
	}
}

// TestCodedFieldsRefused: values that are neither the doc's nor an English name are refused before any
// call.
func TestCodedFieldsRefused(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"unknown phone type", func(m map[string]any) {
			m["customer"].(map[string]any)["phones"].([]any)[0].(map[string]any)["type"] = "fax"
		}},
		{"unconfigured ContactInfoType id", func(m map[string]any) {
			m["customer"].(map[string]any)["phones"].([]any)[0].(map[string]any)["type"] = 9
		}},
		{"another request reason", func(m map[string]any) { m["requestReason"] = 2 }},
		{"another request reason by name", func(m map[string]any) { m["requestReason"] = "repair" }},
		{"another service type", func(m map[string]any) { m["serviceType"] = 31 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testTicket)
			_, err := e.call(t, event(tt.edit))
			if err == nil || classOf(t, err) != adapter.ClassInvalid {
				t.Fatalf("err = %v, want invalid", err)
			}
			if n := len(e.sim.Forms()); n != 0 {
				t.Fatalf("%d forms sent", n)
			}
		})
	}
}
