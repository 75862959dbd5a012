package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
)

// DLQDepth is how many dead letters wait on one route's dlq.<route> and when JetStream stored the
// oldest of them. It is the one definition behind the kopru_dlq_messages and
// kopru_dlq_oldest_age_seconds gauges, kopru status and the admin status: stream time, not
// Kopru-Failed-At, so no producer's or worker's clock (nor a hand-made header) can skew it.
type DLQDepth struct {
	Messages uint64
	Oldest   time.Time // zero when Messages is 0
}

// Age is how long the oldest dead letter has waited at now; 0 when there is none.
func (d DLQDepth) Age(now time.Time) time.Duration {
	if d.Messages == 0 || d.Oldest.IsZero() {
		return 0
	}
	return now.Sub(d.Oldest)
}

// DLQDepths reads the depth of each route's dead letters from stream DLQ: one stream info for the
// counts, one direct get per route that has any. A route whose oldest message cannot be read (deleted
// meanwhile) keeps its count and a zero Oldest.
func DLQDepths(ctx context.Context, dlq jetstream.Stream, routes []string) (map[string]DLQDepth, error) {
	info, err := dlq.Info(ctx, jetstream.WithSubjectFilter(event.DLQPrefix+">"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", bus.StreamDLQ, err)
	}
	out := make(map[string]DLQDepth, len(routes))
	for _, r := range routes {
		subj := deadletter.Subject(r)
		d := DLQDepth{Messages: info.State.Subjects[subj]}
		if d.Messages > 0 {
			if m, err := dlq.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subj)); err == nil {
				d.Oldest = m.Time.UTC()
			}
		}
		out[r] = d
	}
	return out, nil
}
