package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kopru/kopru/internal/ops"
)

// dlqPurge is `kopru dlq purge`: deletes the selected dead letters for good, after asking (or --yes).
func dlqPurge(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("dlq purge", `dlq purge [--route R] [--class C] [--id ID] [filters] [--dry-run] [--yes]

Deletes dead letters for good (for example after checking that the vendor did act on an ambiguous
one). The ledger keeps recording the events as dead-lettered. Without --yes it shows how many would go
and asks; when standard input is not a terminal it refuses.

Examples:
  kopru dlq purge --id 1234
  kopru dlq purge --class invalid --until 7d --dry-run
  kopru dlq purge --route licrus-installation --grep "Seri numarası" --yes
`, stderr)
	ff := addFilterFlags(fs, true, 0)
	dry := fs.Bool("dry-run", false, "only list what would be deleted; change nothing")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	f, err := parseSelection(fs, ff, args, "purge", "purge")
	if err != nil {
		return err
	}
	o, items, closeFn, err := selectDeadLetters(ctx, stderr, f, "purge")
	if err != nil || len(items) == 0 {
		return err
	}
	defer closeFn()
	if !*dry && !*yes {
		if err := confirm(stdin, stderr, fmt.Sprintf("Delete %d dead letter(s) (%s) for good?", len(items), classCounts(items))); err != nil {
			return err
		}
	}
	rep, err := o.Purge(ctx, ops.PurgeOptions{Filter: ops.Filter{IDs: idsOf(items)}, DryRun: *dry, Progress: progressEvery(stderr, "purged", len(items))})
	if rep != nil {
		if perr := printReport(stdout, rep, *asJSON); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%d could not be deleted; run the same command again", rep.Counts[ops.ResultPurgeFailed])
	}
	return nil
}
