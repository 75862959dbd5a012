package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutines of kopru dev and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDevPrintsEachDeadLetterOnce: kopru dev's console shows the deliberately broken sample as one
// dead-letter line, not also as the worker's warning, and every route's outcome.
func TestDevPrintsEachDeadLetterOnce(t *testing.T) {
	clearKopruEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cmdDev(ctx, []string{"--data", t.TempDir(), "--nats", "127.0.0.1:0", "--http", "127.0.0.1:0"}, &out, &errb)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(out.String(), "✓ outcome") < 5 || !strings.Contains(out.String(), "✗ dead letter") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no outcomes and dead letter within 20 s:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a repeated line would come now
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "✗ dead letter"); n != 1 {
		t.Errorf("%d dead-letter lines:\n%s", n, out.String())
	}
	if strings.Contains(errb.String(), deadLetteredMsg) {
		t.Errorf("the dead letter is also logged:\n%s", errb.String())
	}
}
