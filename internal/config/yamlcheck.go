package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkYAML walks the parsed document against the type of Config and reports, all at once and in
// document order, every key it does not know (with a did-you-mean), every bare number given for a
// duration and every value of the wrong kind. Each problem names its line and its YAML path
// ("routes.licrus-installation.attemptTimeout"), never a Go type, and never echoes a string value
// (it could be a secret).
func checkYAML(doc *yaml.Node) error {
	var errs []error
	walkYAML(doc, reflect.TypeOf(Config{}), "", &errs)
	return errors.Join(errs...)
}

var durationType = reflect.TypeOf(time.Duration(0))

func walkYAML(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if n == nil {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == 0 {
		return // an empty file
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walkYAML(c, t, path, errs)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("line %d: %s: %s", n.Line, displayPath(path), fmt.Sprintf(format, args...)))
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			bad("want a duration such as 15s, 2m or 168h")
			return
		}
		switch n.Tag {
		case "!!int", "!!float":
			bad("a duration needs a unit: write `%ss` (or ms, m, h), not %s", n.Value, n.Value)
		default:
			if _, err := time.ParseDuration(n.Value); err != nil {
				bad("%q is not a duration: write it like 15s, 2m or 168h", clip(n.Value))
			}
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("want a mapping of %s, not %s", strings.Join(yamlKeys(t), ", "), kindOf(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // a merge key: its mapping has the same keys
				walkYAML(v, t, path, errs)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if s := Suggest(k.Value, yamlKeys(t)); s != "" {
					msg += "; did you mean " + s + "?"
				} else {
					msg += " (known: " + strings.Join(yamlKeys(t), ", ") + ")"
				}
				*errs = append(*errs, fmt.Errorf("line %d: %s: %s", k.Line, displayPath(join(path, k.Value)), msg))
				continue
			}
			walkYAML(v, ft, join(path, k.Value), errs)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("want a mapping of names, not %s", kindOf(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkYAML(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), errs)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad("want a list, not %s", kindOf(n))
			return
		}
		for i, c := range n.Content {
			walkYAML(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			bad("want text, not %s", kindOf(n))
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" && !yes11(n.Value) {
			bad("want true or false, not %s", kindOrValue(n))
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if _, err := strconv.ParseInt(n.Value, 0, 64); n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			bad("want a whole number, not %s", kindOrValue(n))
		}
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" && n.Tag != "!!float" {
			bad("want a number, not %s", kindOrValue(n))
		}
	}
}

// yes11 accepts YAML 1.1's spellings of booleans, which the decoder takes for a bool field.
func yes11(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "no", "on", "off", "y", "n":
		return true
	}
	return false
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

// kindOrValue shows a scalar that is not a string in quotes (numbers and booleans are no secrets) and
// names the kind of anything else.
func kindOrValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindOf(n)
	}
	if n.Tag == "!!str" {
		return "text"
	}
	return strconv.Quote(clip(n.Value))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func displayPath(p string) string {
	if p == "" {
		return "the file"
	}
	return p
}

// yamlFields maps each YAML key of struct t to its field type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			out[name] = f.Type
		}
	}
	return out
}

// yamlKeys lists the YAML keys of struct t in declaration order.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

// Suggest returns the candidate closest to word when it is close enough to be a likely typo (case
// ignored; at most a fifth of the letters differ, or two), else "". Ties go to the candidate listed first.
func Suggest(word string, candidates []string) string {
	best, bestD := "", -1
	w := strings.ToLower(word)
	for _, c := range candidates {
		d := distance(w, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len([]rune(word))/5)
	if best == "" || bestD > limit || bestD == 0 && best == word {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, counted in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// sortedKeys returns the keys of m in order (for messages that list names).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
