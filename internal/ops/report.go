package ops

import (
	"context"

	"github.com/kopru/kopru/internal/deadletter"
)

// Results of one item of a replay or purge.
const (
	ResultReplayed       = "replayed"         // republished, acknowledged, dead letter deleted
	ResultWouldReplay    = "would-replay"     // dry run
	ResultSkipped        = "skipped"          // not touched (ambiguous without the flag, gone, bad subject)
	ResultFailed         = "failed"           // republish failed: the dead letter is still there
	ResultNotDeleted     = "republished-kept" // republish acknowledged, delete failed: the dead letter stays; replaying it again is deduplicated
	ResultPurged         = "purged"
	ResultWouldPurge     = "would-purge"
	ResultPurgeFailed    = "purge-failed"
	ResultAlreadyReplay  = "replayed-duplicate" // JetStream already had this replay (an earlier run); dead letter deleted
	ResultAlreadyRemoved = "gone"               // someone else replayed or purged it meanwhile
)

// Item is what happened to one dead letter.
type Item struct {
	ID      uint64           `json:"id"`
	Route   string           `json:"route"`
	EventID string           `json:"eventId"`
	Class   deadletter.Class `json:"class"`
	Result  string           `json:"result"`
	Reason  string           `json:"reason,omitempty"`
	// ReplayMsgID is the Nats-Msg-Id of the republished event.
	ReplayMsgID string `json:"replayMsgId,omitempty"`
}

// Progress is told about each finished item: done of total so far.
type Progress func(done, total int, it Item)

// Report sums up a replay or purge.
type Report struct {
	DryRun   bool           `json:"dryRun"`
	Selected int            `json:"selected"`
	Counts   map[string]int `json:"counts"` // by result
	Items    []Item         `json:"items"`
}

// add records it and counts its result.
func (r *Report) add(it Item) {
	r.Items = append(r.Items, it)
	r.Counts[it.Result]++
}

// OK reports whether nothing failed.
func (r *Report) OK() bool {
	return r.Counts[ResultFailed] == 0 && r.Counts[ResultNotDeleted] == 0 && r.Counts[ResultPurgeFailed] == 0
}

// Select returns the dead letters a replay or purge with f would touch, oldest first. It refuses an
// empty filter unless f.All.
func (o *Ops) Select(ctx context.Context, f Filter) ([]DeadLetter, error) {
	if f.Empty() && !f.All {
		return nil, ErrNoFilter
	}
	res, err := o.scan(ctx, f)
	if err != nil {
		return nil, err
	}
	return res.Items, nil
}
