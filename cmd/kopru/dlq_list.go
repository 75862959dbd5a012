package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/kopru/kopru/internal/ops"
)

// dlqList is `kopru dlq list`: dead letters, oldest first, as a table or JSON.
func dlqList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq list", `dlq list [--route R] [--class C] [--status S] [--since DUR|TIME] [--until DUR|TIME] [--grep TEXT] [--id ID] [--limit N] [--json]

Lists dead letters, oldest first: ID (the DLQ sequence, for show/replay/purge), ROUTE, CLASS,
STATUS (the target's HTTP status or vendor code), ATTEMPTS, AGE (since it failed), ERROR.

Examples:
  kopru dlq list
  kopru dlq list --route licrus-installation --class rejected --since 24h
  kopru dlq list --grep "Seri numarası" --json | jq '.items[].eventId'
`, stderr)
	ff := addFilterFlags(fs, false, ops.DefaultListLimit)
	asJSON := fs.Bool("json", false, "print JSON ({items, scanned, more}) instead of a table")
	width := fs.Int("width", 80, "cut the ERROR column to this many characters (0: whole)")
	f, err := parseSelection(fs, ff, args, "list", "")
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 1 << 30
	}
	o, closeFn, err := connectOps(ctx, "dlq", nil)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := o.List(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONOut(stdout, res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROUTE\tCLASS\tSTATUS\tATTEMPTS\tAGE\tERROR")
	now := time.Now()
	for _, d := range res.Items {
		e := d.Error
		if *width > 0 {
			e = clipRunes(e, *width)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, termSafe(d.Route), termSafe(string(d.Class)), termSafe(dash(d.TargetStatus)),
			d.Attempts, ops.FormatAge(d.Age(now)), termSafe(e))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(res.Items) == 0:
		fmt.Fprintln(stderr, "no dead letters match")
	case res.More:
		fmt.Fprintf(stderr, "%d shown; there are more: narrow the filter or raise --limit\n", len(res.Items))
	}
	return nil
}
