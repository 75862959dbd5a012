package worker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keeper tells JetStream, every interval, that the message its handler goroutine is working on is still
// in progress, until the handler is done with it. One per handler goroutine, its timer reused for every
// message: most calls end long before the first InProgress is due, and pay only a timer reset.
type keeper struct {
	every time.Duration
	mu    sync.Mutex
	msg   jetstream.Msg // the message in hand; nil between messages
	t     *time.Timer
}

func newKeeper(every time.Duration) *keeper {
	k := &keeper{every: every}
	k.t = time.AfterFunc(time.Hour, k.tick)
	k.t.Stop()
	return k
}

func (k *keeper) tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.msg == nil {
		return
	}
	_ = k.msg.InProgress()
	k.t.Reset(k.every)
}

// keep starts keeping msg alive; done stops it. A tick already under way when done is called may
// still reach the next message early: one InProgress too many, which only resets its ack timer.
func (k *keeper) keep(msg jetstream.Msg) {
	k.mu.Lock()
	k.msg = msg
	k.mu.Unlock()
	k.t.Reset(k.every)
}

func (k *keeper) done() {
	k.mu.Lock()
	k.msg = nil
	k.mu.Unlock()
	k.t.Stop()
}
