package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// A replay ticket is what a DLQ replay leaves in the bucket for the message it republishes: the key
// binds the message id and the exact bytes, the value names the route the replay is for. Workers
// honour Kopru-Replay-Route only on a message with a ticket naming that route, so a producer that can
// publish on events.> but not write the ledger cannot make an event skip a route. Tickets expire
// with the bucket's max age, which outlives the EVENTS stream.

// ReplayTicketKey is the key of the ticket for the message with Nats-Msg-Id msgID and payload data.
// It cannot collide with Key: those have ".e." or ".h." after the route.
func ReplayTicketKey(msgID string, data []byte) string {
	h := sha256.New()
	h.Write([]byte("kopru-replay\x00" + msgID + "\x00"))
	h.Write(data)
	return "replay.t." + hex.EncodeToString(h.Sum(nil))
}

// PutReplayTicket records that the message (msgID, data) is a replay for route.
func (l *Ledger) PutReplayTicket(ctx context.Context, msgID string, data []byte, route string) error {
	if _, err := l.kv.Put(ctx, ReplayTicketKey(msgID, data), []byte(route)); err != nil {
		l.observe("update", "error")
		return fmt.Errorf("ledger replay ticket: %w", err)
	}
	l.observe("update", "ok")
	return nil
}

// ReplayTicket returns the route of the ticket for (msgID, data), or ErrNotFound.
func (l *Ledger) ReplayTicket(ctx context.Context, msgID string, data []byte) (string, error) {
	kve, err := l.kv.Get(ctx, ReplayTicketKey(msgID, data))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		l.observe("get", "ok")
		return "", ErrNotFound
	case err != nil:
		l.observe("get", "error")
		return "", fmt.Errorf("ledger get replay ticket: %w", err)
	}
	l.observe("get", "ok")
	return string(kve.Value()), nil
}
