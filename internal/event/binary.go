package event

import (
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"
)

// Header names of the CloudEvents NATS (and HTTP) binary content mode.
const (
	HeaderPrefix      = "ce-"          // every context attribute but datacontenttype, as ce-<name>
	HeaderContentType = "content-type" // the datacontenttype in binary mode
	HeaderTraceparent = "traceparent"  // W3C trace context, also accepted beside ce-traceparent
	ContentTypeJSON   = "application/json"
	// ContentTypeStructured marks a whole CloudEvent as the payload (structured mode).
	ContentTypeStructured = "application/cloudevents+json"
	// ContentTypeBatch is the batch mode, which Köprü does not take.
	ContentTypeBatch = "application/cloudevents-batch+json"
)

// Header returns the first value of header name in h, matched without regard to case (NATS headers
// are case-sensitive; producers write ce-id, Ce-Id or CE-ID).
func Header(h map[string][]string, name string) string {
	if v, ok := h[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if len(v) > 0 && len(k) == len(name) && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

// IsBinary reports whether a message with headers h carries its event in binary content mode: a
// ce-specversion header and a content type other than the structured one.
func IsBinary(h map[string][]string) bool {
	if len(h) == 0 || Header(h, HeaderPrefix+attrSpecVersion) == "" {
		return false
	}
	ct, _, _ := mime.ParseMediaType(Header(h, HeaderContentType))
	return ct != ContentTypeStructured
}

// headerTracestate is the W3C trace context's vendor part, which travels beside traceparent.
const headerTracestate = "tracestate"

// BinaryHeaders returns the headers of h that carry a binary-mode event's attributes (ce-*,
// content-type, and the W3C traceparent and tracestate DecodeMessage reads beside them), by their
// names in h; nil when h is not binary mode.
func BinaryHeaders(h map[string][]string) map[string]string {
	if !IsBinary(h) {
		return nil
	}
	out := map[string]string{}
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		if lk := strings.ToLower(k); strings.HasPrefix(lk, HeaderPrefix) || lk == HeaderContentType ||
			lk == HeaderTraceparent || lk == headerTracestate {
			out[k] = v[0]
		}
	}
	return out
}

// DecodeMessage reads the event of a NATS message: binary content mode when its headers say so
// (IsBinary: attributes from ce-* headers, datacontenttype from content-type, the payload is the
// data), else the payload is a structured-mode document (Decode). Both give the same envelope and
// are checked alike. Errors wrap ErrInvalid and read as one line.
func DecodeMessage(h map[string][]string, payload []byte) (*Envelope, error) {
	if !IsBinary(h) {
		return Decode(payload)
	}
	switch {
	case len(payload) > MaxSize:
		return nil, invalidf("event data is %d bytes, over the %d byte limit", len(payload), MaxSize)
	case !utf8.Valid(payload):
		return nil, invalidf("event data is not valid UTF-8")
	}
	env := &Envelope{Data: payload}
	seen := make([]string, 0, len(h))
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		lk := strings.ToLower(k)
		if lk == HeaderContentType || lk == HeaderTraceparent || strings.HasPrefix(lk, HeaderPrefix) {
			// Header names are case-sensitive in NATS and the map order is random: two spellings of
			// one attribute (ce-id and CE-ID) would give a different event per delivery.
			for _, s := range seen {
				if s == lk {
					return nil, invalidf("header %q is given under more than one spelling", clip(lk))
				}
			}
			seen = append(seen, lk)
		}
		if lk == HeaderContentType {
			env.DataContentType = v[0]
			continue
		}
		if lk == HeaderTraceparent {
			if env.Traceparent == "" {
				env.Traceparent = v[0]
			}
			continue
		}
		name, ok := strings.CutPrefix(lk, HeaderPrefix)
		if !ok {
			continue
		}
		if err := env.setAttribute(name, v[0]); err != nil {
			return nil, err
		}
	}
	if !json.Valid(payload) {
		return nil, invalidf("event data is not JSON")
	}
	if err := env.check(); err != nil {
		return nil, err
	}
	env.dropBadTraceparent()
	return env, nil
}

// setAttribute sets the attribute name (lower case) to the text v, as a binary-mode header gives it.
func (e *Envelope) setAttribute(name, v string) error {
	if dst := e.stringAttribute(name); dst != nil {
		if name != attrDataContentType || *dst == "" { // the content-type header wins
			*dst = v
		}
		return nil
	}
	switch name {
	case attrData, attrDataBase64:
		return invalidf("header ce-%s is not an attribute", name)
	default:
		if !ValidAttributeName(name) {
			return invalidf("header %q does not name a CloudEvents attribute (ASCII letters and digits)", clip(HeaderPrefix+name))
		}
		e.SetExtension(name, v)
	}
	return nil
}
