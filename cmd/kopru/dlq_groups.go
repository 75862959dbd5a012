package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopru/kopru/internal/ops"
)

// dlqGroups is `kopru dlq groups`: dead letters grouped by route, class and normalised error.
func dlqGroups(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq groups", `dlq groups [--route R] [--class C] [--status S] [--since DUR|TIME] [--until DUR|TIME] [--grep TEXT] [--limit N] [--json]

Groups dead letters by route, class and error, with numbers, ids and quoted values folded, the
largest group first: COUNT, FIRST and LAST seen (ago), ROUTE, CLASS, ERROR, and the group's IDS to
hand to replay or purge (kopru dlq replay --id 12,13,14 --dry-run).

Examples:
  kopru dlq groups
  kopru dlq groups --class exhausted --since 24h --json | jq '.[0].ids'
`, stderr)
	ff := addFilterFlags(fs, false, 10000)
	asJSON := fs.Bool("json", false, "print JSON (a list of groups) instead of a table")
	width := fs.Int("width", 80, "cut the ERROR column to this many characters (0: whole)")
	f, err := parseSelection(fs, ff, args, "groups", "")
	if err != nil {
		return err
	}
	o, closeFn, err := connectOps(ctx, "dlq", nil)
	if err != nil {
		return err
	}
	defer closeFn()
	gs, err := o.Groups(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		if gs == nil {
			gs = []ops.Group{}
		}
		return writeJSONOut(stdout, gs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tFIRST\tLAST\tROUTE\tCLASS\tERROR\tIDS")
	now := time.Now()
	for _, g := range gs {
		e := g.Error
		if *width > 0 {
			e = clipRunes(e, *width)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Count, ops.FormatAge(now.Sub(g.FirstSeen)), ops.FormatAge(now.Sub(g.LastSeen)),
			termSafe(g.Route), termSafe(string(g.Class)), termSafe(e), idRange(g.IDs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(gs) == 0 {
		fmt.Fprintln(stderr, "no dead letters match")
	}
	return nil
}

// idRange prints ids comma-separated, the first 10 and a count of the rest.
func idRange(ids []uint64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 10 {
			fmt.Fprintf(&b, ",… (+%d)", len(ids)-10)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, id)
	}
	return b.String()
}
