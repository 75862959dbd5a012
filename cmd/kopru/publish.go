package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/routes"
)

func cmdPublish(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("publish", "publish [--source S] [--id ID] TYPE [FILE|-]\n\nFILE holds the event's data, or a whole CloudEvents envelope (then its type must be TYPE).\nWithout FILE, or with -, it is read from standard input. Prints the event id.", stderr)
	source := fs.String("source", "kopru-cli", "CloudEvents source of a wrapped event")
	id := fs.String("id", "", "event id of a wrapped event (default: a new ULID)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageError{"want TYPE [FILE|-] (kopru publish --help)"}
	}
	typ := fs.Arg(0)
	s, err := event.LoadSchemas()
	if err != nil {
		return err
	}
	if err := checkEventType(s, typ); err != nil {
		return err
	}
	var in io.Reader = stdin
	if f := fs.Arg(1); f != "" && f != "-" {
		file, err := os.Open(f)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	raw, err := io.ReadAll(io.LimitReader(in, event.MaxSize+1))
	if err != nil {
		return err
	}
	env, err := buildEnvelope(typ, *source, *id, raw)
	if err != nil {
		return err
	}
	if err := s.Validate(typ, env.Data); err != nil {
		return err
	}
	nc, js, err := connectNATS(ctx, "publish")
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := env.Marshal()
	if err != nil {
		return err
	}
	subj := event.EventsPrefix + typ
	// A stream without a leader for a moment is waited for; republishing is safe (same Nats-Msg-Id).
	var ack *jetstream.PubAck
	err = retryBounded(ctx, "publish", func(ctx context.Context) (err error) {
		if _, err := js.StreamNameBySubject(ctx, subj); errors.Is(err, jetstream.ErrStreamNotFound) {
			return bus.Permanent(fmt.Errorf("no stream takes %s: the stream %s (events.>) is created by kopru run; start it once against this server", subj, bus.StreamEvents))
		}
		ack, err = js.Publish(ctx, subj, b, jetstream.WithMsgID(env.ID))
		return err
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if ack.Duplicate {
		fmt.Fprintf(stderr, "note: JetStream already had event %s (duplicate dropped)\n", env.ID)
	}
	fmt.Fprintln(stdout, env.ID)
	return nil
}

// buildEnvelope takes raw as a whole envelope when it has "specversion", else wraps it as data.
func buildEnvelope(typ, source, id string, raw []byte) (*event.Envelope, error) {
	raw = bytes.TrimSpace(raw)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("input is not a JSON object: %v", err)
	}
	if _, ok := probe["specversion"]; ok {
		env, err := event.Decode(raw)
		if err != nil {
			return nil, err
		}
		if env.Type != typ {
			return nil, fmt.Errorf("envelope type %q does not match %q", env.Type, typ)
		}
		return env, nil
	}
	env := event.New(typ, source, raw)
	if id != "" {
		env.ID = id
	}
	return env, nil
}

// eventTypes lists the types kopru publish accepts: those with a schema that are not an outcome of a
// route (outcomes are Köprü's to publish, on outcomes.<type>).
func eventTypes(s *event.Schemas) (events, outcomes []string) {
	table, err := routeTable()
	if err != nil {
		table = routes.Builtin() // the configuration's own error is reported where it is used
	}
	for _, r := range table {
		if !slices.Contains(outcomes, r.OutcomeType) {
			outcomes = append(outcomes, r.OutcomeType)
		}
	}
	for _, t := range s.Types() {
		if !slices.Contains(outcomes, t) {
			events = append(events, t)
		}
	}
	sort.Strings(outcomes)
	return events, outcomes
}

// checkEventType refuses an outcome type and an unknown type with the list of event types and, for a
// likely typo, the one meant.
func checkEventType(s *event.Schemas, typ string) error {
	events, outcomes := eventTypes(s)
	if slices.Contains(events, typ) {
		return nil
	}
	list := strings.Join(events, ", ")
	if slices.Contains(outcomes, typ) {
		return usageError{fmt.Sprintf("%s is an outcome type: Köprü publishes it on outcomes.%s after a route succeeds; publish one of the event types: %s", typ, typ, list)}
	}
	msg := fmt.Sprintf("unknown event type %q", typ)
	if sug := config.Suggest(typ, events); sug != "" {
		msg += "; did you mean " + sug + "?"
	}
	return usageError{msg + " Event types: " + list}
}
