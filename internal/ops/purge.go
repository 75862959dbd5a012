package ops

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// PurgeOptions say what to purge.
type PurgeOptions struct {
	Filter
	DryRun   bool
	Progress Progress
}

// Purge deletes the selected dead letters (nothing else: the ledger keeps recording them as dead).
func (o *Ops) Purge(ctx context.Context, po PurgeOptions) (*Report, error) {
	items, err := o.Select(ctx, po.Filter)
	if err != nil {
		return nil, err
	}
	rep := &Report{DryRun: po.DryRun, Selected: len(items), Counts: map[string]int{}, Items: []Item{}}
	for i, d := range items {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		it := Item{ID: d.ID, Route: d.Route, EventID: d.EventID, Class: d.Class, Result: ResultPurged}
		if po.DryRun {
			it.Result = ResultWouldPurge
		} else if err := o.deleteMsg(ctx, d.ID); err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				it.Result = ResultAlreadyRemoved
			} else {
				it.Result, it.Reason = ResultPurgeFailed, err.Error()
			}
		}
		rep.add(it)
		if po.Progress != nil {
			po.Progress(i+1, len(items), it)
		}
	}
	if !po.DryRun {
		o.log.Info("dead letters purged", zap.Int("selected", len(items)), zap.Any("counts", rep.Counts))
	}
	return rep, nil
}
