package event

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// The context attributes of CloudEvents 1.0 that Envelope names; every other attribute is an
// extension.
const (
	attrSpecVersion     = "specversion"
	attrID              = "id"
	attrSource          = "source"
	attrType            = "type"
	attrTime            = "time"
	attrDataContentType = "datacontenttype"
	attrSubject         = "subject"
	attrDataSchema      = "dataschema"
	attrTraceparent     = "traceparent"
	attrData            = "data"
	attrDataBase64      = "data_base64"
)

// maxAttributeName bounds an attribute's name (the spec asks for at most 20 characters; Köprü is
// lenient up to this).
const maxAttributeName = 64

// ValidAttributeName reports whether name may name a CloudEvents attribute: ASCII letters and digits
// (the spec asks for lower case; the CloudEvents Go SDK also accepts upper case).
func ValidAttributeName(name string) bool {
	if name == "" || len(name) > maxAttributeName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads a structured-mode document without Decode's checks (json.Unmarshal into an
// Envelope keeps every attribute, as Decode does).
func (e *Envelope) UnmarshalJSON(b []byte) error {
	*e = Envelope{}
	return e.unmarshal(b)
}

// unmarshal reads a structured-mode JSON document into e. Errors wrap ErrInvalid.
func (e *Envelope) unmarshal(b []byte) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil { // also refuses trailing data after the document
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && json.Valid(t) {
			return invalidf("event is not a JSON object")
		}
		return invalidf("event is not a JSON CloudEvents envelope: %s", jsonErr(err))
	}
	for k, raw := range doc {
		switch k {
		case attrData:
			e.Data = raw
			continue
		case attrDataBase64:
			return invalidf("data_base64 is not accepted: the data must be a JSON object in \"data\"")
		}
		dst := e.stringAttribute(k)
		if dst == nil {
			if !ValidAttributeName(k) {
				return invalidf("attribute name %q is not a CloudEvents name (ASCII letters and digits)", clip(k))
			}
			if isNamedAttribute(strings.ToLower(k)) {
				return invalidf("attribute %q must be written %q", k, strings.ToLower(k))
			}
			switch raw[0] {
			case 'n': // null: the attribute is absent
				continue
			case '{', '[':
				return invalidf("extension %q must be a string, number or boolean", k)
			}
			if e.Extensions == nil {
				e.Extensions = map[string]json.RawMessage{}
			}
			e.Extensions[k] = raw
			continue
		}
		if raw[0] == 'n' { // null: the attribute is absent
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			return invalidf("attribute %q must be a string", k)
		}
		*dst = s
	}
	return nil
}

// jsonString decodes a JSON string value, without the decoder when it holds no escape.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// MarshalJSON writes the structured-mode JSON document: the named attributes, the extensions in
// name order, then data.
func (e Envelope) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(e.Data) + 256)
	buf.WriteByte('{')
	first := true
	field := func(name string, raw []byte) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.WriteByte('"')
		buf.WriteString(name)
		buf.WriteString(`":`)
		buf.Write(raw)
	}
	str := func(name, v string, always bool) error {
		if v == "" && !always {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		field(name, b)
		return nil
	}
	for _, a := range []struct {
		name, v string
		always  bool
	}{
		{attrSpecVersion, e.SpecVersion, true}, {attrID, e.ID, true}, {attrSource, e.Source, true},
		{attrType, e.Type, true}, {attrTime, e.Time, false}, {attrDataContentType, e.DataContentType, false},
		{attrSubject, e.Subject, false}, {attrDataSchema, e.DataSchema, false}, {attrTraceparent, e.Traceparent, false},
	} {
		if err := str(a.name, a.v, a.always); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(e.Extensions))
	for k := range e.Extensions {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !ValidAttributeName(k) || isNamedAttribute(k) {
			return nil, invalidf("extension name %q is not allowed", clip(k))
		}
		field(k, e.Extensions[k])
	}
	if len(e.Data) == 0 {
		field(attrData, []byte("null"))
	} else {
		field(attrData, e.Data)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func isNamedAttribute(k string) bool {
	switch k {
	case attrSpecVersion, attrID, attrSource, attrType, attrTime, attrDataContentType, attrSubject,
		attrDataSchema, attrTraceparent, attrData, attrDataBase64:
		return true
	}
	return false
}

// Extension returns the extension attribute name as text (a JSON string unquoted, a number or
// boolean as written), and whether it is present.
func (e *Envelope) Extension(name string) (string, bool) {
	raw, ok := e.Extensions[name]
	if !ok {
		return "", false
	}
	if s, ok := jsonString(raw); ok {
		return s, true
	}
	return string(raw), true
}

// SetExtension sets the extension attribute name to the string v.
func (e *Envelope) SetExtension(name, v string) {
	b, _ := json.Marshal(v) // a string always encodes
	if e.Extensions == nil {
		e.Extensions = map[string]json.RawMessage{}
	}
	e.Extensions[name] = b
}

// stringAttribute is where the named string attribute (its exact, lower-case name) lives on e, or nil
// for data, data_base64 and extensions: the one map from attribute names to fields that both the
// structured and the binary decoder use.
func (e *Envelope) stringAttribute(name string) *string {
	switch name {
	case attrSpecVersion:
		return &e.SpecVersion
	case attrID:
		return &e.ID
	case attrSource:
		return &e.Source
	case attrType:
		return &e.Type
	case attrTime:
		return &e.Time
	case attrDataContentType:
		return &e.DataContentType
	case attrSubject:
		return &e.Subject
	case attrDataSchema:
		return &e.DataSchema
	case attrTraceparent:
		return &e.Traceparent
	}
	return nil
}
