package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDecodeRefusesIDsNATSWouldAlter: NATS trims header values, so an id with surrounding space or a
// CR/LF would not match its own Kopru-Event-Id; such ids (and any control or format character) are
// refused at decode as invalid, with a one-line reason.
func TestDecodeRefusesIDsNATSWouldAlter(t *testing.T) {
	for _, id := range []string{" lead", "trail ", "\tx", "x\r\n", "a\nb", "a\x00b", "esc\x1b[31m", "nbsp\u00a0",
		"\u2003em", "bidi\u202e", "c1\u009b", "del\x7f"} {
		b, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "s", "type": "t", "data": map[string]any{}})
		_, err := Decode(b)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("id %q accepted", id)
			continue
		}
		if r := Reason(err); strings.ContainsAny(r, "\r\n\x1b\x00") || !strings.Contains(r, "id") {
			t.Errorf("id %q: reason %q is not one clean line about the id", id, r)
		}
	}
	for _, id := range []string{"01J5ZK3N0000000000000000AB", "order 42/line 3", "müşteri-ş", "a"} {
		b, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "s", "type": "t", "data": map[string]any{}})
		if _, err := Decode(b); err != nil {
			t.Errorf("id %q refused: %v", id, err)
		}
	}
}
