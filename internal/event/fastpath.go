package event

import (
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fastSchema answers one question quickly: is an instance certainly valid? It is built from the
// schema jsonschema/v6 compiled (so $refs, patterns and bounds are the library's own) and covers the
// keywords Köprü's schemas use: type, properties, required, additionalProperties, items,
// min/maxItems, min/maxLength, pattern, integer minimum/maximum, enum and const of strings, booleans
// and null, allOf, anyOf, $ref and annotations. A schema using anything else (oneOf, if/then/else,
// format, …) gets no fast path and is validated by the library alone.
//
// The library stays the authority: validJSON reads the document's bytes and reports true only when
// every keyword holds under the same rules; anything it cannot decide (an escape sequence, a number
// written 2.0 or 1e3, an integer beyond int64) or any violation returns false, and the caller then
// runs the full validation, which decides and explains. Reading the bytes skips building the instance
// tree and the library's per-node bookkeeping (error locations, evaluated-property sets): a valid event
// is validated with no allocation (`go test -bench Validate ./internal/event`).
// FuzzFastPath checks it never accepts what the library refuses.
//
// This file builds it from the compiled schema; fastpath_valid.go checks a document against it, and
// fastpath_walk.go steps through the document's bytes.
type fastSchema struct {
	types      map[string]bool // the JSON types allowed; nil: any
	ref        *fastSchema
	properties map[string]*fastSchema
	required   []string
	noExtra    bool        // additionalProperties: false
	extra      *fastSchema // additionalProperties: a schema
	allOf      []*fastSchema
	anyOf      []*fastSchema
	enum       []any // enum or const values: strings, booleans and nil
	hasEnum    bool  // enum or const present (an empty enum admits nothing)
	items      *fastSchema
	minItems   int
	maxItems   int // -1: no limit
	minLength  int
	maxLength  int // -1: no limit
	pattern    jsonschema.Regexp
	min, max   *int64 // integer bounds (nil: none)
	broken     bool   // compiling it failed; a schema reaching it gets no fast path
}

// newFastSchema returns the fast path for s, or nil when s uses a keyword it does not cover.
func newFastSchema(s *jsonschema.Schema) *fastSchema {
	f := compileFast(s, map[*jsonschema.Schema]*fastSchema{})
	if f == nil || f.reaches(func(n *fastSchema) bool { return n.broken }, map[*fastSchema]bool{}) {
		return nil // a node that failed may still be referenced through a recursive $ref
	}
	if sameValueCycle(f) {
		return nil
	}
	return f
}

// sameValueCycle reports whether a node reaches itself through $ref, allOf and anyOf alone: edges
// that look at the same value again. The library reports such a schema ({"$ref": "#"}) as a
// reference cycle; walking it would never end.
func sameValueCycle(root *fastSchema) bool {
	all := map[*fastSchema]bool{}
	root.reaches(func(n *fastSchema) bool { all[n] = true; return false }, map[*fastSchema]bool{})
	state := map[*fastSchema]int{} // 1: on the current path, 2: explored
	var visit func(n *fastSchema) bool
	visit = func(n *fastSchema) bool {
		if n == nil || state[n] == 2 {
			return false
		}
		if state[n] == 1 {
			return true
		}
		state[n] = 1
		for _, k := range append(append([]*fastSchema{n.ref}, n.allOf...), n.anyOf...) {
			if visit(k) {
				return true
			}
		}
		state[n] = 2
		return false
	}
	for n := range all {
		if visit(n) {
			return true
		}
	}
	return false
}

// reaches reports whether bad holds for f or any node reachable from it.
func (f *fastSchema) reaches(bad func(*fastSchema) bool, seen map[*fastSchema]bool) bool {
	if f == nil || seen[f] {
		return false
	}
	seen[f] = true
	if bad(f) {
		return true
	}
	kids := append(append([]*fastSchema{f.ref, f.extra, f.items}, f.allOf...), f.anyOf...)
	for _, p := range f.properties {
		kids = append(kids, p)
	}
	for _, k := range kids {
		if k.reaches(bad, seen) {
			return true
		}
	}
	return false
}

// compileFast builds the fast path of s and what it reaches; seen holds the nodes built so far (a
// recursive $ref finds its node there). It returns nil when s, or a schema it needs, uses a keyword
// or a bound the fast path does not cover; a node already built for s is then marked broken.
func compileFast(s *jsonschema.Schema, seen map[*jsonschema.Schema]*fastSchema) *fastSchema {
	if f, ok := seen[s]; ok {
		if f.broken {
			return nil
		}
		return f // built already, or a recursive $ref to a node being built further up
	}
	if s.DraftVersion < 2020 || !supported(s) {
		return nil
	}
	f := &fastSchema{required: s.Required, maxItems: -1, maxLength: -1, pattern: s.Pattern}
	if s.Types != nil {
		f.types = map[string]bool{}
		for _, t := range s.Types.ToStrings() {
			f.types[t] = true
		}
	}
	seen[s] = f
	ok := true
	sub := func(c *jsonschema.Schema) *fastSchema {
		if c == nil {
			return nil
		}
		cf := compileFast(c, seen)
		if cf == nil {
			ok = false
		}
		return cf
	}
	f.ref = sub(s.Ref)
	switch ap := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		f.noExtra = !ap
	case *jsonschema.Schema:
		f.extra = sub(ap)
	default:
		ok = false
	}
	for _, c := range s.AllOf {
		f.allOf = append(f.allOf, sub(c))
	}
	for _, c := range s.AnyOf {
		if cf := compileFast(c, seen); cf != nil { // a branch without a fast path just never proves anything
			f.anyOf = append(f.anyOf, cf)
		}
	}
	if len(s.AnyOf) > 0 && len(f.anyOf) == 0 {
		ok = false
	}
	if s.Enum != nil {
		f.hasEnum = true
		for _, v := range s.Enum.Values {
			ok = ok && scalar(v)
			f.enum = append(f.enum, v)
		}
	}
	if s.Const != nil {
		if f.hasEnum || !scalar(*s.Const) {
			ok = false
		}
		f.hasEnum, f.enum = true, []any{*s.Const}
	}
	if len(s.Properties) > 0 {
		f.properties = make(map[string]*fastSchema, len(s.Properties))
		for name, ps := range s.Properties {
			f.properties[name] = sub(ps)
		}
	}
	f.items = sub(s.Items2020)
	// The library keeps these as int: a bound beyond int64 wraps to a negative number, which it then
	// compares against (refusing everything) while -1 means "no limit" here. Leave those to it.
	for _, b := range []struct {
		from *int
		to   *int
	}{{s.MinItems, &f.minItems}, {s.MaxItems, &f.maxItems}, {s.MinLength, &f.minLength}, {s.MaxLength, &f.maxLength}} {
		if b.from != nil {
			ok = ok && *b.from >= 0
			*b.to = *b.from
		}
	}
	var bok bool
	f.min, bok = intBound(s.Minimum)
	ok = ok && bok
	f.max, bok = intBound(s.Maximum)
	ok = ok && bok
	if !ok {
		f.broken = true
		return nil
	}
	return f
}

// supported reports whether s uses only keywords the fast path covers.
func supported(s *jsonschema.Schema) bool {
	return s.Bool == nil && s.RecursiveRef == nil && s.DynamicRef == nil &&
		s.Not == nil && len(s.OneOf) == 0 && s.If == nil && s.Then == nil && s.Else == nil && s.Format == nil &&
		s.MaxProperties == nil && s.MinProperties == nil && s.PropertyNames == nil && len(s.PatternProperties) == 0 &&
		len(s.Dependencies) == 0 && len(s.DependentRequired) == 0 &&
		len(s.DependentSchemas) == 0 && s.UnevaluatedProperties == nil &&
		!s.UniqueItems && s.Contains == nil && s.MinContains == nil && s.MaxContains == nil && s.Items == nil &&
		s.AdditionalItems == nil && len(s.PrefixItems) == 0 && s.UnevaluatedItems == nil &&
		s.ContentEncoding == nil && s.ContentMediaType == nil && s.ContentSchema == nil &&
		s.ExclusiveMaximum == nil && s.ExclusiveMinimum == nil && s.MultipleOf == nil && len(s.Extensions) == 0
}

// scalar reports whether an enum or const value is one the fast path compares: a string, a boolean
// or null (numbers compare by value in JSON Schema, 1 == 1.0, and are left to the library).
func scalar(v any) bool {
	switch v.(type) {
	case string, bool, nil:
		return true
	}
	return false
}

// intBound converts a minimum or maximum to an int64; ok is false for a bound that is not one.
func intBound(r *big.Rat) (*int64, bool) {
	if r == nil {
		return nil, true
	}
	if !r.IsInt() || !r.Num().IsInt64() {
		return nil, false
	}
	v := r.Num().Int64()
	return &v, true
}
