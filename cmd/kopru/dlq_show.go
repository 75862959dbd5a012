package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopru/kopru/internal/ops"
)

// dlqShow is `kopru dlq show ID`: one dead letter in full.
func dlqShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq show", `dlq show ID [--json]

Prints one dead letter in full: every header, the error, the attempts and the event pretty-printed.

Examples:
  kopru dlq show 1234
  kopru dlq show 1234 --json | jq .event.data
`, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want one ID (kopru dlq show --help)"}
	}
	id, err := strconv.ParseUint(fs.Arg(0), 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("%q is not a dead-letter id (the number in the ID column of kopru dlq list)", fs.Arg(0))}
	}
	o, closeFn, err := connectOps(ctx, "dlq", nil)
	if err != nil {
		return err
	}
	defer closeFn()
	d, err := o.Show(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONOut(stdout, d)
	}
	now := time.Now()
	fmt.Fprintf(stdout, "Dead letter %d on %s\n\n", d.ID, termSafe(d.Subject))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{{"Route", d.Route}, {"Event id", d.EventID}, {"Class", string(d.Class)}, {"Error", d.Error},
		{"Attempts", strconv.Itoa(d.Attempts)}, {"Target status", dash(d.TargetStatus)},
		{"Failed at", d.FailedAt.Format(time.RFC3339) + " (" + ops.FormatAge(d.Age(now)) + " ago)"},
		{"Original subject", d.OriginalSubject}} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], termSafe(kv[1]))
	}
	_ = tw.Flush()
	fmt.Fprintln(stdout, "\nHeaders:")
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, k := range d.HeaderNames() {
		fmt.Fprintf(tw, "  %s:\t%s\n", termSafe(k), termSafe(strings.Join(d.Headers[k], ", ")))
	}
	_ = tw.Flush()
	fmt.Fprintln(stdout, "\nEvent:")
	fmt.Fprintln(stdout, termBlock(d.Pretty()))
	return nil
}
