package clustertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/ledger"
)

// TestLedgerCompareAndSetOnR3 checks what the worker's safety rests on, on a replicated bucket: a second
// Create is ErrExists, a stale Update is ErrConflict, and of many deliveries racing to start the next call
// from one revision exactly one wins. (Racing writers may also be refused with code 10164, "a write on
// this key is in flight", which nats.go maps to ErrKeyRevisionMismatch; the ledger does not call that a
// conflict, and it must not be one: the write in flight may yet be refused.)
func TestLedgerCompareAndSetOnR3(t *testing.T) {
	c := startEmbeddedCluster(t)
	_, _, kv := connectCluster(t, c.urls())
	l := ledger.New(kv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := ledger.Key(route, "01R3CASCHECK")
	rev, err := l.Create(ctx, key, ledger.Entry{State: ledger.Started, Attempts: 1, StartedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Create(ctx, key, ledger.Entry{State: ledger.Started, Attempts: 1}); !errors.Is(err, ledger.ErrExists) {
		t.Errorf("second Create on R3: %v, want ledger.ErrExists", err)
	}
	rev2, err := l.Update(ctx, key, ledger.Entry{State: ledger.Retrying, Attempts: 1}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Update(ctx, key, ledger.Entry{State: ledger.Succeeded, Attempts: 1}, rev); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("Update with a stale revision on R3: %v, want ledger.ErrConflict", err)
	}

	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []int
	refusals := map[string]int{}
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Update(ctx, key, ledger.Entry{State: ledger.Started, Attempts: 2 + i}, rev2)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, 2+i)
			case errors.Is(err, ledger.ErrConflict):
				refusals["conflict"]++
			default:
				refusals[oneLine(err.Error())]++
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d of %d racing Updates from one revision won (%v), want exactly 1; refusals %v", len(winners), racers, winners, refusals)
	}
	e, _, err := l.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if e.Attempts != winners[0] {
		t.Errorf("ledger holds attempt %d, but the winning Update wrote %d", e.Attempts, winners[0])
	}
	t.Logf("racing Updates: winner wrote attempt %d; refusals %v", winners[0], refusals)
}
