package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
)

// maxScan is MaxScan, or its default of 100,000.
func (ev *Events) maxScan() int {
	if ev.MaxScan <= 0 {
		return 100000
	}
	return ev.MaxScan
}

// findPending looks for event id among the EVENTS messages that some route has not acknowledged yet
// (after the lowest ack floor of the routes' consumers), and returns its type.
func (ev *Events) findPending(ctx context.Context, id string) (string, bool, error) {
	var subjects []string
	seen := map[string]bool{}
	var floor uint64
	first := true
	for _, r := range ev.Routes {
		if !seen[r.EventType] {
			seen[r.EventType] = true
			subjects = append(subjects, event.EventsPrefix+r.EventType)
		}
		c, err := ev.JS.Consumer(ctx, bus.StreamEvents, r.Name)
		if err != nil {
			continue // no consumer yet: nothing acknowledged
		}
		info, err := c.Info(ctx)
		if err != nil {
			return "", false, err
		}
		if first || info.AckFloor.Stream < floor {
			floor, first = info.AckFloor.Stream, false
		}
	}
	if len(subjects) == 0 {
		return "", false, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: floor + 1, InactiveThreshold: 30 * time.Second}
	typ := ""
	err := ev.scan(ctx, bus.StreamEvents, cfg, func(m jetstream.Msg, _ *jetstream.MsgMetadata) bool {
		h := m.Headers()
		if h.Get(nats.MsgIdHdr) == id || event.Header(h, event.HeaderPrefix+"id") == id {
			typ = strings.TrimPrefix(m.Subject(), event.EventsPrefix)
			return false
		}
		return true
	})
	return typ, typ != "", err
}

// findDeadLetters returns the latest dead letter of event id on each of routes, stored since since
// (a minute of slack; zero: the whole DLQ).
func (ev *Events) findDeadLetters(ctx context.Context, id string, routes []string, since time.Time) (map[string]DeadLetterInfo, error) {
	out := map[string]DeadLetterInfo{}
	if len(routes) == 0 {
		return out, nil
	}
	subjects := make([]string, len(routes))
	for i, r := range routes {
		subjects[i] = event.DLQPrefix + r
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, HeadersOnly: true,
		DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: 30 * time.Second}
	if !since.IsZero() {
		st := since.Add(-time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &st
	}
	err := ev.scan(ctx, bus.StreamDLQ, cfg, func(m jetstream.Msg, meta *jetstream.MsgMetadata) bool {
		h := m.Headers()
		if h.Get(deadletter.HdrEventID) != id {
			return true
		}
		route := strings.TrimPrefix(m.Subject(), event.DLQPrefix)
		hm := map[string]string{}
		for k := range h {
			hm[k] = h.Get(k)
		}
		d := deadLetterFromHeaders(hm, meta.Sequence.Stream)
		if d.FailedAt.IsZero() {
			d.FailedAt = meta.Timestamp.UTC()
		}
		out[route] = d // oldest first: the last one seen is the latest
		return true
	})
	return out, err
}

// scan reads stream through an ordered consumer made with cfg, up to the stream's last message when
// it began and at most MaxScan messages, calling fn until it returns false. A cfg that delivers all
// starts at the latest MaxScan messages of the stream.
func (ev *Events) scan(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, fn func(jetstream.Msg, *jetstream.MsgMetadata) bool) error {
	s, err := ev.JS.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || (cfg.OptStartSeq > last) {
		return nil
	}
	if n := uint64(ev.maxScan()); cfg.DeliverPolicy == jetstream.DeliverAllPolicy && last > n {
		// The whole stream is too long to read: read its latest MaxScan messages (as SearchKey does),
		// so the newest are reached and one lookup never reads more than that.
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last-n+1
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	if ci.NumPending == 0 {
		return nil
	}
	for read := 0; read < ev.maxScan(); {
		batch, err := cons.FetchNoWait(512)
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			read++
			meta, err := m.Metadata()
			if err != nil || meta.Sequence.Stream > last {
				return nil
			}
			if !fn(m, meta) || meta.NumPending == 0 || meta.Sequence.Stream == last {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 {
			return ctx.Err()
		}
	}
	return nil
}
