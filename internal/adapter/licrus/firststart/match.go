package firststart

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kopru/kopru/internal/adapter/licrus/licrustext"
)

// Item is one entry of a Licrus lookup list (a city, a district or a product main group). ID is kept as
// text whatever JSON type Licrus used for it.
type Item struct {
	ID       string
	Text     string
	Code     string
	Inactive bool // IsActive was false
}

// foldCase is licrustext.FoldName, foldAccents licrustext.FoldAccents.
var (
	foldCase    = licrustext.FoldName
	foldAccents = licrustext.FoldAccents
)

// matchName finds the one item whose Text is name. First an exact match after Turkish case folding;
// failing that, a match after folding accents too, accepted only when exactly one candidate has it.
// Inactive items take part only when no active one matches. kind names the list in errors ("city").
func matchName(kind, name string, items []Item) (Item, error) {
	key := foldCase(name)
	if key == "" {
		return Item{}, errorInvalid("empty %s name", kind)
	}
	for _, active := range []bool{true, false} {
		var exact []Item
		for _, it := range items {
			if it.Inactive == !active && foldCase(it.Text) == key {
				exact = append(exact, it)
			}
		}
		exact = uniqueIDs(exact)
		if len(exact) == 1 {
			return exact[0], nil
		}
		if len(exact) > 1 {
			return Item{}, ambiguous(kind, name, exact)
		}
		akey := foldAccents(key)
		var loose []Item
		for _, it := range items {
			if it.Inactive == !active && foldAccents(foldCase(it.Text)) == akey {
				loose = append(loose, it)
			}
		}
		loose = uniqueIDs(loose)
		if len(loose) == 1 {
			return loose[0], nil
		}
		if len(loose) > 1 {
			return Item{}, ambiguous(kind, name, loose)
		}
	}
	return Item{}, errorInvalid("unknown %s '%s'", kind, name)
}

func ambiguous(kind, name string, cands []Item) error {
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = fmt.Sprintf("'%s' (id %s)", c.Text, c.ID)
	}
	sort.Strings(names)
	return errorInvalid("ambiguous %s '%s': matches %s", kind, name, strings.Join(names, ", "))
}

// uniqueIDs drops items whose id an earlier item has (an alias and its province are one candidate).
func uniqueIDs(items []Item) []Item {
	if len(items) < 2 {
		return items
	}
	seen := make(map[string]bool, len(items))
	out := items[:0:0]
	for _, it := range items {
		if !seen[it.ID] {
			seen[it.ID] = true
			out = append(out, it)
		}
	}
	return out
}
