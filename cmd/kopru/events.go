package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/httpapi"
	"github.com/kopru/kopru/internal/ledger"
)

const eventsUsage = `Usage: kopru events show [--json] ID

What happened to event ID, per route it feeds: pending, in-progress (attempt n, since), succeeded
(the outcome), dead-lettered (class, error, DLQ id) or replayed (by whom, when, the new state), and
its vendor calls (time, duration, status, class). The same answer as GET /v1/events/{id}.
`

func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, eventsUsage)
			return nil
		}
		return usageError{"expected: kopru events show [--json] ID"}
	}
	fs := newFlags("events show", "events show [--json] ID", stderr)
	asJSON := fs.Bool("json", false, "print JSON (the body of GET /v1/events/{id})")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one event id"}
	}
	id := fs.Arg(0)
	ev, closeFn, err := connectEvents(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	st, err := ev.Status(ctx, id)
	if errors.Is(err, httpapi.ErrEventNotFound) {
		return fmt.Errorf("no event with id %q is known (never published, or already expired)", id)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printEventStatus(stdout, st)
	return nil
}

// connectEvents binds the status service to KOPRU_NATS_URL, over the routes that have a consumer
// there (the routes some kopru runs).
func connectEvents(ctx context.Context) (*httpapi.Events, func(), error) {
	table, err := routeTable()
	if err != nil {
		return nil, nil, err
	}
	nc, js, err := connectNATS(ctx, "events")
	if err != nil {
		return nil, nil, err
	}
	done := nc.Close
	kv, err := js.KeyValue(ctx, bus.LedgerBucket)
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("ledger bucket %s: %w", bus.LedgerBucket, err)
	}
	var routes []httpapi.EventRoute
	for _, s := range table {
		if _, err := js.Consumer(ctx, bus.StreamEvents, s.Name); err != nil {
			continue // no kopru runs this route here
		}
		routes = append(routes, httpapi.EventRoute{Name: s.Name, EventType: s.EventType, OutcomeType: s.OutcomeType, Target: s.Target})
	}
	return &httpapi.Events{Routes: routes, JS: js, NC: nc, Ledger: ledger.New(kv, nil)}, done, nil
}

func printEventStatus(w io.Writer, st *httpapi.EventStatus) {
	done := "not yet"
	if st.Done {
		done = "yes"
	}
	fmt.Fprintf(w, "event %s (%s)  done: %s\n", termSafe(st.ID), termSafe(st.Type), done)
	for _, r := range st.Routes {
		fmt.Fprintf(w, "\nroute %s → %s: %s\n", termSafe(r.Route), termSafe(r.Target), termSafe(describeRoute(r)))
		if len(r.Attempts) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CALL\tAT\tDURATION\tSTATUS\tCLASS\tERROR")
		for _, a := range r.Attempts {
			d := time.Duration(a.DurationMS * float64(time.Millisecond)).Round(time.Millisecond)
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", a.N, a.At.Format(time.RFC3339), d, termSafe(dash(a.Status)), termSafe(a.Class), termSafe(a.Error))
		}
		_ = tw.Flush()
	}
}

func describeRoute(r httpapi.RouteStatus) string {
	state := r.State
	var b strings.Builder
	if r.Replay != nil {
		fmt.Fprintf(&b, "replayed by %s at %s (dead letter %d); now ", r.Replay.By, r.Replay.At.Format(time.RFC3339), r.Replay.DLQID)
		state = r.NewState
	}
	b.WriteString(state)
	switch {
	case state == httpapi.StateInProgress && r.Since != nil:
		fmt.Fprintf(&b, " (call %d since %s", r.Attempt, r.Since.Format(time.RFC3339))
		if r.Retrying {
			b.WriteString(", waiting to retry")
		}
		b.WriteString(")")
	case state == httpapi.StateSucceeded && r.Outcome != nil:
		var out struct {
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(r.Outcome, &out)
		for _, k := range []string{"callNumber", "customerId", "key", "formNumber", "message"} {
			if v, ok := out.Data[k]; ok && v != nil && v != "" {
				fmt.Fprintf(&b, " %s=%v", k, v)
			}
		}
	case state == httpapi.StateDeadLettered && r.DeadLetter != nil:
		fmt.Fprintf(&b, " (%s: %s; dead letter %d: kopru dlq show %d)", r.DeadLetter.Class, r.DeadLetter.Error, r.DeadLetter.ID, r.DeadLetter.ID)
	}
	return b.String()
}
