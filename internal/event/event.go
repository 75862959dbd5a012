// Package event is Köprü's envelope: CloudEvents 1.0 in structured JSON mode, decoded strictly, and the
// JSON Schemas (schemas/) that every event's and outcome's data must satisfy.
package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// MaxSize is the largest event Köprü accepts: NATS's default max payload (1 MiB) less room for the
// dead-letter headers, so that any event JetStream accepts can also be dead-lettered whole. The EVENTS
// stream refuses larger messages (bus.Ensure sets its MaxMsgSize).
const MaxSize = 1<<20 - 16<<10

// Subject prefixes of the public contract.
const (
	EventsPrefix   = "events."
	OutcomesPrefix = "outcomes."
	DLQPrefix      = "dlq."
)

// ErrInvalid is wrapped by every error Decode and Validate return.
var ErrInvalid = errors.New("invalid event")

// Envelope is a CloudEvents 1.0 event: every context attribute and the data. It is encoded as the
// structured-mode JSON document (MarshalJSON, Decode) and can be read from the NATS binary mode
// (DecodeMessage). Nothing the producer sent is dropped: attributes Köprü does not name are kept in
// Extensions and written back.
type Envelope struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Time            string // RFC 3339 as the producer wrote it; "" when absent
	DataContentType string
	Subject         string
	DataSchema      string
	Traceparent     string // the distributed-tracing extension
	// Extensions holds every other attribute by name, as its JSON value (a string, number or
	// boolean). nil when there are none.
	Extensions map[string]json.RawMessage
	Data       json.RawMessage
}

// Decode parses and checks a structured-mode envelope: valid UTF-8 JSON object, specversion "1.0",
// an id CheckID accepts, source and type, an RFC 3339 time when present, datacontenttype
// application/json when present, attribute names of ASCII letters and digits, extension values that
// are strings, numbers or booleans, and data a JSON object. Errors wrap ErrInvalid and read as one line.
func Decode(b []byte) (*Envelope, error) {
	switch {
	case len(b) == 0:
		return nil, invalidf("empty message")
	case len(b) > MaxSize:
		return nil, invalidf("event is %d bytes, over the %d byte limit", len(b), MaxSize)
	case !utf8.Valid(b):
		return nil, invalidf("event is not valid UTF-8")
	}
	var env Envelope
	if err := env.unmarshal(b); err != nil {
		return nil, err
	}
	if err := env.check(); err != nil {
		return nil, err
	}
	return &env, nil
}

func (e *Envelope) check() error {
	switch {
	case e.SpecVersion == "":
		return invalidf("envelope has no specversion (want \"1.0\")")
	case e.SpecVersion != "1.0":
		return invalidf("unsupported specversion %q (want \"1.0\")", clip(e.SpecVersion))
	case CheckID(e.ID) != nil:
		return CheckID(e.ID)
	case strings.TrimSpace(e.Source) == "":
		return invalidf("envelope has no source")
	case strings.TrimSpace(e.Type) == "":
		return invalidf("envelope has no type")
	case e.DataContentType != "" && !strings.HasPrefix(e.DataContentType, "application/json"):
		return invalidf("datacontenttype %q is not application/json", clip(e.DataContentType))
	}
	if e.Time != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			return invalidf("envelope time %q is not RFC 3339", clip(e.Time))
		}
	}
	d := bytes.TrimSpace(e.Data)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return invalidf("envelope has no data")
	}
	if d[0] != '{' {
		return invalidf("data is not a JSON object")
	}
	return nil
}

// EventTime is the envelope's time, or zero when it has none.
func (e *Envelope) EventTime() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Time)
	return t
}

// New wraps data in a fresh envelope of type typ with a ULID id and the current time.
func New(typ, source string, data json.RawMessage) *Envelope {
	return &Envelope{SpecVersion: "1.0", ID: ulid.Make().String(), Source: source, Type: typ,
		Time: time.Now().UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: data}
}

// Marshal encodes the envelope as a structured-mode JSON document.
func (e *Envelope) Marshal() ([]byte, error) { return json.Marshal(e) }

// OutcomeID derives an outcome's id from (route, request id), so that an outcome emitted twice carries
// the same id and JetStream drops the second copy. It has the shape of a UUID (version 8, RFC 9562).
func OutcomeID(route, requestID string) string {
	sum := sha256.Sum256([]byte("kopru-outcome\x00" + route + "\x00" + requestID))
	b := sum[:16]
	b[6] = (b[6] & 0x0f) | 0x80
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Reason returns err's one-line text without the "invalid event: " prefix.
func Reason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a %s, not %s", te.Field, te.Type, te.Value)
	case errors.Is(err, errors.ErrUnsupported):
		return "unsupported"
	}
	s := err.Error()
	if s == "unexpected EOF" || s == "EOF" {
		return "truncated document"
	}
	return clip(s)
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
