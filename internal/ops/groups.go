package ops

import (
	"context"
	"regexp"
	"sort"
	"time"

	"github.com/kopru/kopru/internal/deadletter"
)

// Group is the dead letters of one route and class whose errors read the same once numbers, ids and
// quoted values are folded (Normalize): one line of an error tracker's issue list.
type Group struct {
	Route     string           `json:"route"`
	Class     deadletter.Class `json:"class"`
	Error     string           `json:"error"`   // the normalised error
	Example   string           `json:"example"` // the latest dead letter's error as it was
	Count     int              `json:"count"`
	FirstSeen time.Time        `json:"firstSeen"`
	LastSeen  time.Time        `json:"lastSeen"`
	IDs       []uint64         `json:"ids"` // the group's dead letters, oldest first
}

var (
	foldUUID   = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	foldULID   = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{26}\b`)
	foldQuoted = regexp.MustCompile(`"[^"]*"|'[^']*'|“[^”]*”`)
	foldNumber = regexp.MustCompile(`[0-9]+`)
)

// Normalize folds what differs between two occurrences of the same failure: ids become <id>, quoted
// values "…" (they hold the event's data), digit runs #.
func Normalize(msg string) string {
	msg = foldUUID.ReplaceAllString(msg, "<id>")
	msg = foldULID.ReplaceAllString(msg, "<id>")
	msg = foldQuoted.ReplaceAllString(msg, `"…"`)
	return foldNumber.ReplaceAllString(msg, "#")
}

// Groups reads the dead letters f selects (f.Limit 0: all) and groups them by route, class and
// normalised error, the largest group first.
func (o *Ops) Groups(ctx context.Context, f Filter) ([]Group, error) {
	res, err := o.scan(ctx, f)
	if err != nil {
		return nil, err
	}
	by := map[[3]string]*Group{}
	var out []*Group
	for _, d := range res.Items {
		k := [3]string{d.Route, string(d.Class), Normalize(d.Error)}
		g := by[k]
		if g == nil {
			g = &Group{Route: d.Route, Class: d.Class, Error: k[2], FirstSeen: d.FailedAt, LastSeen: d.FailedAt}
			by[k] = g
			out = append(out, g)
		}
		g.Count++
		g.IDs = append(g.IDs, d.ID)
		if d.FailedAt.Before(g.FirstSeen) {
			g.FirstSeen = d.FailedAt
		}
		if !d.FailedAt.Before(g.LastSeen) {
			g.LastSeen, g.Example = d.FailedAt, d.Error
		}
		if g.Example == "" {
			g.Example = d.Error
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].LastSeen.After(out[j].LastSeen)
	})
	groups := make([]Group, len(out))
	for i, g := range out {
		groups[i] = *g
	}
	return groups, nil
}
