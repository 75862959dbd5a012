package event

import (
	"bytes"
	"encoding/json"
	"regexp"
	"unicode/utf8"
)

// validJSON reports whether the document data is certainly valid. It reads the bytes directly, with
// no tree built and no allocation: data must be valid UTF-8 and valid JSON (checked here), so the
// walk below only ever meets well-formed values. A string or a key with an escape sequence is left
// to the library (which compares unescaped text); so is a number that is not a plain integer.
func (f *fastSchema) validJSON(data []byte) bool {
	if !utf8.Valid(data) || !json.Valid(data) {
		return false
	}
	w := walker{b: data}
	w.ws()
	return f.validRaw(w.value())
}

// validRaw reports whether v, the bytes of one well-formed JSON value, is certainly valid.
func (f *fastSchema) validRaw(v []byte) bool {
	if f.ref != nil && !f.ref.validRaw(v) {
		return false
	}
	for _, c := range f.allOf {
		if !c.validRaw(v) {
			return false
		}
	}
	if len(f.anyOf) > 0 {
		found := false
		for _, c := range f.anyOf {
			if c.validRaw(v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	switch v[0] {
	case '{':
		return !f.hasEnum && f.allows("object") && f.validObject(v)
	case '[':
		return !f.hasEnum && f.allows("array") && f.validArray(v)
	case '"':
		raw := v[1 : len(v)-1]
		if bytes.IndexByte(raw, '\\') >= 0 || !f.allows("string") {
			return false // escapes: the library compares the unescaped text
		}
		if f.minLength > 0 || f.maxLength >= 0 {
			n := utf8.RuneCount(raw)
			if n < f.minLength || (f.maxLength >= 0 && n > f.maxLength) {
				return false
			}
		}
		if f.pattern != nil {
			if re, ok := f.pattern.(*regexp.Regexp); ok {
				if !re.Match(raw) {
					return false
				}
			} else if !f.pattern.MatchString(string(raw)) {
				return false
			}
		}
		return !f.hasEnum || f.inEnum(func(e any) bool { s, ok := e.(string); return ok && s == string(raw) })
	case 't', 'f':
		b := v[0] == 't'
		return f.allows("boolean") && (!f.hasEnum || f.inEnum(func(e any) bool { eb, ok := e.(bool); return ok && eb == b }))
	case 'n':
		return f.allows("null") && (!f.hasEnum || f.inEnum(func(e any) bool { return e == nil }))
	}
	n, ok := plainInt(v)
	if !ok || f.hasEnum || (!f.allows("integer") && !f.allows("number")) {
		return false // a fraction, an exponent, a huge integer: the library decides
	}
	return (f.min == nil || n >= *f.min) && (f.max == nil || n <= *f.max)
}

// validObject reports whether the object v is certainly valid: required members present (at most
// 64), each member valid against its property schema or additionalProperties.
func (f *fastSchema) validObject(v []byte) bool {
	if len(f.required) > 64 {
		return false
	}
	var have uint64 // bit i: required[i] is present
	w := walker{b: v, i: 1}
	for {
		w.ws()
		if w.b[w.i] == '}' {
			break
		}
		key := w.value()
		key = key[1 : len(key)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false // an escaped key: the library unescapes it
		}
		w.ws()
		w.i++ // ':'
		w.ws()
		val := w.value()
		for i, r := range f.required {
			if r == string(key) {
				have |= 1 << i
			}
		}
		if ps, declared := f.properties[string(key)]; declared {
			if !ps.validRaw(val) {
				return false
			}
		} else if f.noExtra || (f.extra != nil && !f.extra.validRaw(val)) {
			return false
		}
		w.ws()
		if w.b[w.i] == ',' {
			w.i++
		}
	}
	return have == 1<<len(f.required)-1
}

// validArray reports whether the array v is certainly valid: every item, and the item count.
func (f *fastSchema) validArray(v []byte) bool {
	n := 0
	w := walker{b: v, i: 1}
	for {
		w.ws()
		if w.b[w.i] == ']' {
			break
		}
		it := w.value()
		n++
		if f.items != nil && !f.items.validRaw(it) {
			return false
		}
		w.ws()
		if w.b[w.i] == ',' {
			w.i++
		}
	}
	return n >= f.minItems && (f.maxItems < 0 || n <= f.maxItems)
}

// inEnum reports whether eq holds for one of the enum (or const) values.
func (f *fastSchema) inEnum(eq func(any) bool) bool {
	for _, e := range f.enum {
		if eq(e) {
			return true
		}
	}
	return false
}

// allows reports whether the schema admits the JSON type typ (no "type" keyword admits every type).
func (f *fastSchema) allows(typ string) bool { return f.types == nil || f.types[typ] }
