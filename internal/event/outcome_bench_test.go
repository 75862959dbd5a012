package event

import (
	"testing"
	"time"
)

func BenchmarkOutcomeEncode(b *testing.B) {
	req := &Envelope{ID: "01JABCDEFGHJKMNPQRSTVWXYZ0", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	o := Outcome{Route: "licrus-installation", Target: "licrus", Type: "installation.call-created", DataSchema: "https://kopru.dev/schemas/installation.call-created.v1.json",
		Request: req, Fields: map[string]any{"callNumber": "43090", "message": "Verdiğiniz bilgilere göre çağrı oluşturulmuştur. Çağrı numarası: 43090"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Encode(time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
