package event

import (
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/kopru/kopru/schemas"
)

// Schemas validates `data` documents against the embedded JSON Schemas. It is safe for concurrent use.
type Schemas struct {
	byType map[string]*jsonschema.Schema
	ids    map[string]string      // the schema's $id per type: an outcome's dataschema
	fast   map[string]*fastSchema // the certainly-valid fast path per type (fastpath.go); nil: none
}

// LoadSchemas compiles every `<type>.v1.json` in schemas/.
func LoadSchemas() (*Schemas, error) {
	files, err := fs.Glob(schemas.FS, "*.v1.json")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	urls := map[string]string{}
	ids := map[string]string{}
	for _, f := range files {
		b, err := schemas.FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", f, err)
		}
		url := "mem:///" + f
		if m, ok := doc.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok {
				ids[strings.TrimSuffix(f, ".v1.json")] = id
			}
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", f, err)
		}
		urls[strings.TrimSuffix(f, ".v1.json")] = url
	}
	s := &Schemas{byType: map[string]*jsonschema.Schema{}, ids: ids, fast: map[string]*fastSchema{}}
	for typ, url := range urls {
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", typ, err)
		}
		s.byType[typ] = sch
		if f := newFastSchema(sch); f != nil {
			s.fast[typ] = f
		}
	}
	return s, nil
}

// MustLoadSchemas is LoadSchemas for programs and tests; the schemas are embedded, so a failure is a
// build defect.
func MustLoadSchemas() *Schemas {
	s, err := LoadSchemas()
	if err != nil {
		panic(err)
	}
	return s
}

// Types lists the types that have a schema.
func (s *Schemas) Types() []string {
	out := make([]string, 0, len(s.byType))
	for t := range s.byType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// DataSchema is the $id of typ's schema (a CloudEvent's dataschema), or "" when it has none.
func (s *Schemas) DataSchema(typ string) string { return s.ids[typ] }

// Has reports whether typ has a schema.
func (s *Schemas) Has(typ string) bool { _, ok := s.byType[typ]; return ok }

// Validate checks data against typ's schema. The error wraps ErrInvalid; Problems lists every
// violation, and its Error() is one line naming the first few.
func (s *Schemas) Validate(typ string, data []byte) error {
	sch, ok := s.byType[typ]
	if !ok {
		return invalidf("unknown event type %q (no schema)", clip(typ))
	}
	if f := s.fast[typ]; f != nil && f.validJSON(data) {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return invalidf("data is not JSON: %s", clip(err.Error()))
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return invalidf("%s", clip(err.Error()))
	}
	return &SchemaError{Type: typ, Problems: problems(ve)}
}

// SchemaError lists every way a document breaks its schema.
type SchemaError struct {
	Type     string
	Problems []string // "/customer/city: missing" …
}

func (e *SchemaError) Error() string {
	const show = 3
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf(" (and %d more)", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("%s: data breaks schema %s.v1: %s%s", ErrInvalid, e.Type, strings.Join(p, "; "), more)
}

func (e *SchemaError) Unwrap() error { return ErrInvalid }

var printer = message.NewPrinter(language.English)

func problems(ve *jsonschema.ValidationError) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			msg := loc + ": " + clip(e.ErrorKind.LocalizedString(printer))
			if !seen[msg] {
				seen[msg] = true
				out = append(out, msg)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out) // the library walks properties in map order: give callers a stable one, by location
	return out
}
