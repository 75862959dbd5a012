package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
)

// isInteractive reports whether r is a terminal a person can answer on (tests replace it). /dev/null
// is a character device too, but no terminal: only a real one counts.
var isInteractive = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks on stdin, or refuses when nobody can answer.
func confirm(stdin io.Reader, stderr io.Writer, question string) error {
	if !isInteractive(stdin) {
		return errors.New("standard input is not a terminal, so nobody can confirm: add --yes to go ahead (or --dry-run to only look)")
	}
	fmt.Fprintf(stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed; nothing was changed")
}

// classCounts describes items by class for a confirmation question: "2 ambiguous, 3 exhausted".
func classCounts(items []ops.DeadLetter) string {
	c := map[string]int{}
	for _, d := range items {
		c[string(d.Class)]++
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", c[k], termSafe(k)))
	}
	return strings.Join(parts, ", ")
}

// progressEvery prints "replayed 120/500" lines on long runs.
func progressEvery(stderr io.Writer, verb string, total int) ops.Progress {
	if total < 20 {
		return nil
	}
	step := max(10, total/20)
	return func(done, total int, _ ops.Item) {
		if done%step == 0 || done == total {
			fmt.Fprintf(stderr, "%s %d/%d\n", verb, done, total)
		}
	}
}

// printReport prints what replay or purge did (or, on a dry run, would do): a table of the dead
// letters and a one-line count per result, or the report as JSON.
func printReport(stdout io.Writer, rep *ops.Report, asJSON bool) error {
	if asJSON {
		return writeJSONOut(stdout, rep)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROUTE\tCLASS\tRESULT\tNOTE")
	for _, it := range rep.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", it.ID, termSafe(it.Route), termSafe(string(it.Class)), it.Result, termSafe(it.Reason))
	}
	_ = tw.Flush()
	keys := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", termSafe(k), rep.Counts[k]))
	}
	prefix := ""
	if rep.DryRun {
		prefix = "dry run, nothing changed: "
	}
	// "would-replay 3" reads as "would replay 3" in the sentence (the table keeps the result values).
	fmt.Fprintf(stdout, "%s%d selected: %s\n", prefix, rep.Selected, strings.NewReplacer("would-", "would ").Replace(strings.Join(parts, ", ")))
	return nil
}

// idsOf is the dead-letter ids of items, in their order.
func idsOf(items []ops.DeadLetter) []uint64 {
	out := make([]uint64, len(items))
	for i, d := range items {
		out[i] = d.ID
	}
	return out
}

// countClass is how many of items have class.
func countClass(items []ops.DeadLetter, class deadletter.Class) int {
	n := 0
	for _, d := range items {
		if d.Class == class {
			n++
		}
	}
	return n
}
