package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
	"github.com/kopru/kopru/internal/ledger"
)

func TestKeysAreValidAndDistinct(t *testing.T) {
	ids := []string{"01JDX3V5Q9M8K7H6G5F4E3D2C1", "550e8400-e29b-41d4-a716-446655440000", "a.b", "with space",
		"ünicode", "a*b>c", strings.Repeat("x", 300), "x.h.y", "e"}
	seen := map[string]string{}
	valid := func(k string) bool {
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=.", r)) {
				return false
			}
		}
		return !strings.HasPrefix(k, ".") && !strings.HasSuffix(k, ".") && !strings.Contains(k, "..")
	}
	for _, id := range ids {
		k := ledger.Key("licrus-installation", id)
		if !valid(k) {
			t.Errorf("key %q for id %q is not a valid KV key", k, id)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("ids %q and %q share key %q", other, id, k)
		}
		seen[k] = id
	}
	if ledger.Key("a", "x") == ledger.Key("b", "x") {
		t.Error("routes share a key")
	}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	js := bustest.Start(t).JS
	ctx := context.Background()
	kv, err := bus.Ensure(ctx, js, bus.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Ensure twice is harmless.
	if _, err := bus.Ensure(ctx, js, bus.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	var ops []string
	l := ledger.New(kv, func(op, res string) { ops = append(ops, op+":"+res) })
	key := ledger.Key("r", "e1")
	if _, _, err := l.Get(ctx, key); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("get of a missing key: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rev, err := l.Create(ctx, key, ledger.Entry{State: ledger.Started, Attempts: 1, StartedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Create(ctx, key, ledger.Entry{State: ledger.Started}); !errors.Is(err, ledger.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	e, got, err := l.Get(ctx, key)
	if err != nil || got != rev || e.State != ledger.Started || e.Attempts != 1 || !e.StartedAt.Equal(now) {
		t.Fatalf("get: %+v rev %d (want %d) err %v", e, got, rev, err)
	}
	rev2, err := l.Update(ctx, key, ledger.Entry{State: ledger.Succeeded, Outcome: []byte(`{"id":"o"}`)}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Update(ctx, key, ledger.Entry{State: ledger.Dead}, rev); !errors.Is(err, ledger.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	e, _, _ = l.Get(ctx, key)
	if !e.Terminal() || string(e.Outcome) != `{"id":"o"}` {
		t.Fatalf("after update: %+v", e)
	}
	if err := l.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Create(ctx, key, ledger.Entry{State: ledger.Started}); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	_ = rev2
	if !strings.Contains(strings.Join(ops, ","), "update:conflict") {
		t.Fatalf("observer missed the conflict: %v", ops)
	}
}

func TestHistoryIsBoundedAndNotShared(t *testing.T) {
	var e ledger.Entry
	for i := 1; i <= 25; i++ {
		e.AddAttempt(ledger.Attempt{N: i})
	}
	if len(e.History) != ledger.MaxHistory || e.History[0].N != 16 || e.History[ledger.MaxHistory-1].N != 25 {
		t.Fatalf("history = %+v, want the last %d calls", e.History, ledger.MaxHistory)
	}
	copyOf := e
	copyOf.AddAttempt(ledger.Attempt{N: 26})
	if e.History[ledger.MaxHistory-1].N != 25 {
		t.Fatal("AddAttempt on a copy changed the original")
	}
	for i := 1; i <= 9; i++ {
		e.AddReplay(ledger.Replay{DLQID: uint64(i)})
	}
	if len(e.Replays) != ledger.MaxReplays || e.Replays[0].DLQID != 5 {
		t.Fatalf("replays = %+v", e.Replays)
	}
}

// TestKeyKeepsItsForm holds Key to the keys already in the bucket: readable for 1–100 key-safe
// characters, hashed for anything else.
func TestKeyKeepsItsForm(t *testing.T) {
	for _, tc := range []struct {
		id    string
		plain bool
	}{
		{"01JDX3V5Q9M8K7H6G5F4E3D2C1", true}, {"550e8400-e29b-41d4-a716-446655440000", true}, {"a_b=c-D9", true},
		{strings.Repeat("x", 100), true}, {strings.Repeat("x", 101), false}, {"", false}, {"a.b", false},
		{"with space", false}, {"ünicode", false}, {"a*b", false}, {"x\n", false},
	} {
		k := ledger.Key("r", tc.id)
		if got := k == "r.e."+tc.id; got != tc.plain {
			t.Errorf("Key(r, %q) = %q; readable form wanted: %v", tc.id, k, tc.plain)
		}
		if !tc.plain && !strings.HasPrefix(k, "r.h.") {
			t.Errorf("Key(r, %q) = %q; want the hashed form", tc.id, k)
		}
	}
}
