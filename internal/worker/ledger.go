package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/ledger"
)

// This file is the worker's ledger I/O: the reads and writes the protocol's actions ask for. They run
// on contexts of their own, bounded, not on the calls' context: after Stop cancels a call, what is
// known of the event can still be recorded.

// read loads the event's entry into j (the zero Entry and revision when there is none).
func (w *Worker) read(j *job) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, rev, err := w.ledger.Get(ctx, j.key)
	if errors.Is(err, ledger.ErrNotFound) {
		j.entry, j.rev = ledger.Entry{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	j.entry, j.rev = e, rev
	return nil
}

// save writes e as the event's ledger entry: a create when this delivery holds no revision yet, else a
// compare-and-set on the revision it read. A write whose answer is lost (a timeout under load) may still
// have landed, so a failed write is checked by reading the entry back: if it holds exactly e, the write
// is ours. Transient failures are retried for up to half a lease; ErrExists and ErrConflict mean another
// delivery moved the entry and come back at once — except a conflict that only recorded a refused
// delivery (bumpUncounted), whose count is merged into e before writing again.
func (w *Worker) save(j *job, e ledger.Entry) error {
	// The window covers a JetStream leader election (seconds) even for short attempt timeouts; each try
	// has its own deadline so one stuck request cannot use the whole window.
	window := max(j.r.policy.Lease()/2, 12*time.Second)
	deadline := time.Now().Add(window)
	delay := 50 * time.Millisecond
	var want []byte // e as stored, marshalled only if a write fails and must be checked
	for {
		ctx, cancel := context.WithTimeout(context.Background(), window/3)
		var rev uint64
		var err error
		if j.rev == 0 {
			rev, err = w.ledger.Create(ctx, j.key, e)
		} else {
			rev, err = w.ledger.Update(ctx, j.key, e, j.rev)
		}
		if err == nil {
			cancel()
			j.entry, j.rev = e, rev
			return nil
		}
		cur, crev, gerr := w.ledger.Get(ctx, j.key)
		cancel()
		if gerr == nil {
			if want == nil {
				want, _ = json.Marshal(e)
			}
			if got, _ := json.Marshal(cur); bytes.Equal(got, want) {
				j.entry, j.rev = cur, crev // the write landed; only its answer was lost
				return nil
			}
			if errors.Is(err, ledger.ErrConflict) && j.rev != 0 && onlyCounted(cur, j.entry) {
				// Only a refused delivery was recorded meanwhile: keep its count and write again.
				e.Uncounted += cur.Uncounted - j.entry.Uncounted
				j.entry.Uncounted, j.rev, want = cur.Uncounted, crev, nil
				continue
			}
			if errors.Is(err, ledger.ErrExists) || errors.Is(err, ledger.ErrConflict) {
				return err
			}
		}
		if time.Now().After(deadline) || w.ctx.Err() != nil { // past Stop's deadline: one try only
			return err
		}
		j.logger().Warn("ledger write failed; retrying", zap.Error(err), zap.Duration("wait", delay))
		time.Sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// bumpUncounted adds one to the Uncounted deliveries of the entry j read, compare-and-set and best
// effort: a lost race only means this one delivery counts. Another delivery that owns the entry
// meanwhile merges the count on its next write (save), so the bump never takes an event over.
func (w *Worker) bumpUncounted(j *job) {
	if j.rev == 0 || j.entry.Terminal() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := j.entry
	e.Uncounted++
	_, _ = w.ledger.Update(ctx, j.key, e, j.rev)
}

// onlyCounted reports whether cur differs from mine only by a higher Uncounted: another delivery
// recorded a refused delivery (bumpUncounted) and nothing else.
func onlyCounted(cur, mine ledger.Entry) bool {
	return cur.Uncounted > mine.Uncounted && cur.State == mine.State && cur.Attempts == mine.Attempts &&
		cur.StartedAt.Equal(mine.StartedAt) && cur.Unresolved == mine.Unresolved
}
