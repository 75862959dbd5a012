package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeMessage: reading the NATS binary mode never panics; what it accepts is an envelope of the
// contract that survives the structured encoding (the form ingest stores and replay compares), and
// what it refuses is a one-line error wrapping ErrInvalid.
func FuzzDecodeMessage(f *testing.F) {
	for typ, data := range exampleSeeds(f) {
		f.Add("1.0", "e-1", typ, "2026-01-02T03:04:05Z", "tenant", "acme", data)
	}
	for _, s := range [][7]string{
		{"1.0", "", "t", "", "x", "1", `{}`},
		{"0.3", "1", "t", "", "x", "1", `{}`},
		{"1.0", "1", "t", "yesterday", "x", "1", `{}`},
		{"1.0", "1", "t", "", "data", "1", `{}`},
		{"1.0", "1", "t", "", "a-b", "1", `{}`},
		{"1.0", "1", "t", "", "specversion", "2.0", `{}`},
		{"1.0", "1", "t", "", "x", "\xff", `{"a":"\xff"}`},
		{"1.0", " 1\r\n", "t", "", "x", "1", `[]`},
		{"1.0", "1", "t", "", "x", "1", `{"a":`},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], []byte(s[6]))
	}
	f.Fuzz(func(t *testing.T, specversion, id, typ, tm, ext, extValue string, data []byte) {
		h := map[string][]string{"ce-specversion": {specversion}, "ce-id": {id}, "ce-source": {"urn:fuzz"},
			"ce-type": {typ}, "ce-time": {tm}, "ce-" + ext: {extValue}, "content-type": {ContentTypeJSON}}
		env, err := DecodeMessage(h, data)
		if err != nil {
			if env != nil {
				t.Fatalf("DecodeMessage returned an envelope and an error")
			}
			checkOneLine(t, err)
			return
		}
		if env.SpecVersion != "1.0" || CheckID(env.ID) != nil || strings.TrimSpace(env.Type) == "" {
			t.Fatalf("accepted %+v", env)
		}
		if d := bytes.TrimSpace(env.Data); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
			t.Fatalf("data %q accepted", clip(string(env.Data)))
		}
		b, err := env.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if len(b) > MaxSize {
			return
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("the structured form is refused: %v\n%s", err, b)
		}
		if again.ID != env.ID || again.Time != env.Time || len(again.Extensions) != len(env.Extensions) {
			t.Fatalf("the structured form differs:\n%+v\n%+v", env, again)
		}
	})
}
