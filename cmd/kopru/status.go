package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kopru/kopru/internal/ops"
)

// cmdStatus is `kopru status`: per route its backlog and dead letters, per target its circuit.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", `status [--json] [--metrics URL]

Per route: events pending (not yet delivered), in flight (delivered, not acknowledged), redelivered,
the age of the oldest unacknowledged event, dead letters waiting, the oldest one's age (since
JetStream stored it, as kopru_dlq_oldest_age_seconds) and the last error. Per target: the circuit breaker state, read from a running kopru's /metrics when --metrics
(or KOPRU_METRICS_URL) is given; without it, "open" when a route's consumer is paused by a worker's
open circuit, else "closed/unknown".

Examples:
  kopru status
  kopru status --metrics http://127.0.0.1:8080/metrics
  kopru status --json | jq '.routes[] | select(.dlqDepth > 0)'
`, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	metricsURL := fs.String("metrics", os.Getenv("KOPRU_METRICS_URL"), "a running kopru's metrics URL, for circuit states (env KOPRU_METRICS_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var circuit ops.CircuitFunc
	if *metricsURL != "" {
		read := ops.CircuitFromMetricsURL(&http.Client{Timeout: 5 * time.Second}, *metricsURL)
		circuit = func(ctx context.Context) (map[string]float64, error) {
			// The table still prints (circuits "closed/unknown"); say why they are unknown.
			gauges, err := read(ctx)
			if err != nil {
				fmt.Fprintf(stderr, "kopru status: circuit states unknown: %s\n", termSafe(err.Error()))
			}
			return gauges, err
		}
	}
	o, closeFn, err := connectOps(ctx, "status", circuit)
	if err != nil {
		return err
	}
	defer closeFn()
	st, err := o.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONOut(stdout, st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tTARGET\tPENDING\tIN FLIGHT\tREDELIVERED\tOLDEST\tDLQ\tDLQ OLDEST\tLAST ERROR")
	for _, r := range st.Routes {
		oldest, dlqOldest := "-", "-"
		if !r.OldestPending.IsZero() {
			oldest = ops.FormatAge(r.OldestAge)
		}
		if r.DLQDepth > 0 {
			dlqOldest = ops.FormatAge(r.DLQOldestAge)
		}
		if !r.Consumer {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t%d\t%s\t%s\n", termSafe(r.Route), termSafe(r.Target), r.DLQDepth, dlqOldest,
				termSafe(clipRunes(firstOf(r.LastError, "("+r.Problem+")"), 70)))
			continue
		}
		pending := strconv.FormatUint(r.Pending, 10)
		if !r.PausedUntil.IsZero() {
			pending += " (paused " + ops.FormatAge(time.Until(r.PausedUntil)) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\n", termSafe(r.Route), termSafe(r.Target), pending, r.AckPending, r.Redelivered, oldest,
			r.DLQDepth, dlqOldest, termSafe(clipRunes(dash(r.LastError), 70)))
	}
	_ = tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tCIRCUIT")
	for _, t := range st.Targets {
		fmt.Fprintf(tw, "%s\t%s\n", termSafe(t.Target), termSafe(t.Circuit))
	}
	return tw.Flush()
}
