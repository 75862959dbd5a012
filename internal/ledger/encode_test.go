package ledger

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// encode writes exactly what json.Marshal writes, on the hand-written path and off it.
func TestEncodeIsJSONMarshal(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC)
	outcome, _ := json.Marshal(map[string]any{"id": "o-1", "data": map[string]any{"message": "Çağrı <12345> oluşturuldu & \u2028 \"ok\"",
		"callNumber": "12345", "n": 1.5}})
	ok := Attempt{N: 1, At: now, DurationMS: 12.345, Class: "ok"}
	for name, e := range map[string]Entry{
		"zero":       {},
		"started":    {State: Started, Attempts: 1, StartedAt: now},
		"succeeded":  {State: Succeeded, Attempts: 2, StartedAt: now, Outcome: outcome, Uncounted: 3, History: []Attempt{ok, {N: 2, At: now, DurationMS: 0.25, Status: "503", Class: "retryable", Error: "503 Service Unavailable"}}},
		"unresolved": {State: Started, Attempts: 1, StartedAt: now, Unresolved: "timeout after the request was written"},
		"tiny ms":    {State: Started, History: []Attempt{{N: 1, At: now, DurationMS: 1e-9, Class: "ok"}}},
		"whole ms":   {State: Started, History: []Attempt{{N: 1, At: now, DurationMS: 3, Class: "ok"}}},
		"zero ms":    {State: Started, History: []Attempt{{N: 1, At: now, DurationMS: math.Copysign(0, -1), Class: "ok"}}},
		"escaped":    {State: Retrying, History: []Attempt{{N: 1, At: now, Class: "rejected", Error: "Licrus says \"no\" <b>é</b>\t"}}},
		"local time": {State: Started, StartedAt: now.In(time.FixedZone("TRT", 3*3600))},
		"dead":       {State: Dead, Attempts: 1, StartedAt: now, DLQ: map[string]string{"Kopru-Route": "r", "Kopru-Error": "x<y"}},
		"replayed":   {State: Started, Replays: []Replay{{By: "cli", At: now, DLQID: 7}}},
		"odd state":  {State: "with space\n"},
	} {
		want, werr := json.Marshal(e)
		got, err := encode(e)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: encode = %s (%v)\n json.Marshal = %s (%v)", name, got, err, want, werr)
		}
	}
	if _, err := encode(Entry{History: []Attempt{{DurationMS: math.NaN()}}}); err == nil {
		t.Error("NaN encoded; json.Marshal refuses it")
	}
}

func BenchmarkEncodeSucceeded(b *testing.B) {
	now := time.Now().UTC()
	outcome, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "01JDX3V5Q9M8K7H6G5F4E3D2C1", "data": map[string]any{
		"message": "Çağrı 12345 oluşturuldu", "callNumber": "12345", "requestId": "01JDX3V5Q9M8K7H6G5F4E3D2C1", "route": "licrus-installation"}})
	e := Entry{State: Succeeded, Attempts: 1, StartedAt: now, Outcome: outcome, History: []Attempt{{N: 1, At: now, DurationMS: 1.234, Class: "ok"}}}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = encode(e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(e)
		}
	})
}
