package licrus

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/kopru/kopru/internal/adapter"
	licrussim "github.com/kopru/kopru/internal/sim/licrus"
	"github.com/kopru/kopru/schemas"
)

// docTicket is the AuthTicket of the doc's example request.
const docTicket = "aa1c99300ccd452aa518a52aa565****"

// TestDocExamples: the ExternalCall/Create doc example written as an installation.requested event
// (schemas/examples) goes to the simulator, which issues the ticket the doc prints: the body received
// is the doc's example request (testdata/doc-request.json, its white space removed) byte for byte, and
// the answer is an outcome with the call number read from the doc's success message. The form has no
// coded fields (cities and products go by name); the first-start doc's table is in firststart.
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile("testdata/doc-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if err := json.Compact(&doc, raw); err != nil {
		t.Fatal(err)
	}
	example, err := schemas.FS.ReadFile("examples/installation.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"the doc's example", example},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := licrussim.New(docTicket)
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			tg := New(Config{BaseURL: srv.URL + "/api", AuthTicket: docTicket}, &adapter.Client{Target: "licrus"})
			res, err := tg.Call(context.Background(), adapter.Request{EventID: "e1", Type: "installation.requested", Data: tt.data})
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			calls := s.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			if !bytes.Equal(calls[0].Raw, doc.Bytes()) {
				t.Errorf("body is not the doc's, byte for byte:\n got %s\nwant %s", calls[0].Raw, doc.Bytes())
			}
			if res.Fields["callNumber"] != "43090" {
				t.Errorf("outcome %v, want call number 43090 (the doc's)", res.Fields)
			}
		})
	}
}
