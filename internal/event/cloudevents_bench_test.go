package event

import (
	"context"
	"encoding/json"
	"testing"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/schemas"
)

// benchEvent is the installation example as a structured document and as a binary-mode NATS message.
func benchEvent(b *testing.B) (structured []byte, binary *nats.Msg) {
	b.Helper()
	data, _ := schemas.FS.ReadFile("examples/installation.requested.json")
	env := New("installation.requested", "bench", data)
	env.SetExtension("tenant", "acme")
	structured, err := env.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	binary = nats.NewMsg(EventsPrefix + env.Type)
	binary.Data = data
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": env.ID, "ce-source": env.Source,
		"ce-type": env.Type, "ce-time": env.Time, "ce-tenant": "acme", "content-type": ContentTypeJSON} {
		binary.Header.Set(k, v)
	}
	return structured, binary
}

// The worker's decode entry, Köprü's own decoder against the CloudEvents Go SDK, in both content
// modes: `go test -run - -bench CloudEventDecode ./internal/event`. The figures are in the README.
func BenchmarkCloudEventDecode(b *testing.B) {
	structured, binary := benchEvent(b)
	b.Run("own/structured", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := DecodeMessage(nil, structured); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own/binary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := DecodeMessage(binary.Header, binary.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk/structured", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var e ce.Event
			if err := json.Unmarshal(structured, &e); err != nil {
				b.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk/binary", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			e, err := binding.ToEvent(ctx, cejs.NewMessage(binary))
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
