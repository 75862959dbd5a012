package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/kopru/kopru/internal/app"
	"github.com/kopru/kopru/internal/config"
	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
	"github.com/kopru/kopru/internal/routes"
)

const dlqUsage = `Usage: kopru dlq list|groups|show|replay|purge [flags]

  list     dead letters, oldest first, as a table (or --json)
  groups   dead letters grouped by route, class and error (numbers and ids folded), largest first
  show     one dead letter in full: headers, the event, the error
  replay   put dead letters back on their subject for their route (asks first; --dry-run shows what would go)
  purge    delete dead letters for good (asks first)

A dead letter's ID is its sequence in the DLQ stream (first column of "kopru dlq list").
Every command reads KOPRU_NATS_URL (and KOPRU_NATS_CREDS). "kopru dlq COMMAND --help" explains its flags.

Examples:
  kopru dlq list --route licrus-installation --class rejected --since 24h
  kopru dlq show 1234
  kopru dlq replay --id 1234
  kopru dlq replay --route dia-customer --class exhausted --dry-run
  kopru dlq purge --class invalid --until 7d --yes
`

// isInteractive reports whether r is a terminal a person can answer on (tests replace it). /dev/null
// is a character device too, but no terminal: only a real one counts.
var isInteractive = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runEditor opens path in the user's editor (tests replace it).
var runEditor = func(path string) error {
	ed := os.Getenv("VISUAL")
	if ed == "" {
		ed = os.Getenv("EDITOR")
	}
	if ed == "" {
		ed = "vi"
	}
	parts := strings.Fields(ed)
	cmd := exec.Command(parts[0], append(parts[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor %q: %w (set EDITOR, or use --edit-file)", ed, err)
	}
	return nil
}

func cmdDLQ(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dlqUsage)
		return usageError{"want list, show, replay or purge"}
	}
	switch args[0] {
	case "list":
		return dlqList(ctx, args[1:], stdout, stderr)
	case "show":
		return dlqShow(ctx, args[1:], stdout, stderr)
	case "replay":
		return dlqReplay(ctx, args[1:], stdin, stdout, stderr)
	case "purge":
		return dlqPurge(ctx, args[1:], stdin, stdout, stderr)
	case "groups":
		return dlqGroups(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, dlqUsage)
		return nil
	}
	fmt.Fprint(stderr, dlqUsage)
	return usageError{fmt.Sprintf("unknown dlq command %q", args[0])}
}

// connectOps connects (connectNATS) and binds the operator library to the route table the run uses
// (the built-in routes and those KOPRU_CONFIG's file adds).
func connectOps(ctx context.Context, name string, circuit ops.CircuitFunc) (*ops.Ops, func(), error) {
	table, err := routeTable()
	if err != nil {
		return nil, nil, err
	}
	nc, js, err := connectNATS(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	var o *ops.Ops
	err = retryBounded(ctx, "open the dead-letter stream", func(ctx context.Context) (err error) {
		o, err = ops.New(ctx, js, ops.Options{Routes: app.OpsRoutes(table), Circuit: circuit})
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return o, nc.Close, nil
}

// routeTable is the route table `kopru run` uses with the same configuration (KOPRU_CONFIG and the
// environment): the built-in routes and those the configuration adds.
func routeTable() ([]routes.Route, error) {
	cfg, err := config.Load(os.Getenv("KOPRU_CONFIG"), os.Getenv)
	if err != nil {
		return nil, err
	}
	return routes.Table(cfg)
}

// idList is a repeatable, comma-separated --id flag.
type idList []uint64

func (l *idList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(s, ",")
}

func (l *idList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a dead-letter id (the number in the ID column of kopru dlq list)", p)
		}
		*l = append(*l, n)
	}
	return nil
}

type filterFlags struct {
	route, class, status, since, until, grep *string
	ids                                      idList
	limit                                    *int
	all                                      *bool
}

// parseSelection parses the flags of `kopru dlq <cmd>` and returns its filter. A command that changes
// dead letters (verb != "") must be told what to act on: an empty filter without --all is refused.
// selectDeadLetters connects and selects the dead letters f matches. When none match it says so on
// stderr, closes the connection and returns no items; otherwise the caller closes with closeFn.
func selectDeadLetters(ctx context.Context, stderr io.Writer, f ops.Filter, verb string) (*ops.Ops, []ops.DeadLetter, func(), error) {
	o, closeFn, err := connectOps(ctx, "dlq", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	items, err := o.Select(ctx, f)
	if err != nil || len(items) == 0 {
		closeFn()
		if err == nil {
			fmt.Fprintln(stderr, "no dead letters match; nothing to "+verb)
		}
		return nil, nil, nil, err
	}
	return o, items, closeFn, nil
}

func parseSelection(fs *flag.FlagSet, ff *filterFlags, args []string, cmd, verb string) (ops.Filter, error) {
	if err := fs.Parse(args); err != nil {
		return ops.Filter{}, err
	}
	if fs.NArg() > 0 {
		hint := "kopru dlq " + cmd + " --help"
		if verb != "" {
			hint = "use --id ID; " + hint
		}
		return ops.Filter{}, usageError{"unexpected argument " + strconv.Quote(fs.Arg(0)) + " (" + hint + ")"}
	}
	f, err := ff.filter()
	if err != nil {
		return ops.Filter{}, err
	}
	if verb != "" && f.Empty() && !f.All {
		return ops.Filter{}, usageError{"say what to " + verb + ": --id, --route, --class or another filter (or --all for every dead letter)"}
	}
	return f, nil
}

func addFilterFlags(fs *flag.FlagSet, withAll bool, defLimit int) *filterFlags {
	f := &filterFlags{
		route:  fs.String("route", "", "only this route, e.g. licrus-installation"),
		class:  fs.String("class", "", "only this error class: "+classList(" or ")),
		status: fs.String("status", "", "only this target status (Kopru-Target-Status), e.g. 503 or HasError"),
		since:  fs.String("since", "", "failed at or after: a duration back from now (90m, 24h, 7d), an RFC 3339 time or a date"),
		until:  fs.String("until", "", "failed before: same forms as --since"),
		grep:   fs.String("grep", "", "only those whose error contains this text (case-insensitive)"),
		limit:  fs.Int("limit", defLimit, "at most this many (0: no limit)"),
	}
	fs.Var(&f.ids, "id", "only this dead letter (repeat, or comma-separate, for several)")
	if withAll {
		f.all = fs.Bool("all", false, "with no other filter: every dead letter of every route")
	}
	return f
}

func (f *filterFlags) filter() (ops.Filter, error) {
	out := ops.Filter{Route: *f.route, Class: deadletter.Class(*f.class), Status: *f.status, Grep: *f.grep, IDs: f.ids, Limit: *f.limit}
	if out.Class != "" && !out.Class.Valid() {
		return out, usageError{fmt.Sprintf("--class %q: use %s", out.Class, classList(" or "))}
	}
	now := time.Now()
	var err error
	if out.Since, err = ops.ParseTime(*f.since, now); err != nil {
		return out, usageError{"--since " + err.Error()}
	}
	if out.Until, err = ops.ParseTime(*f.until, now); err != nil {
		return out, usageError{"--until " + err.Error()}
	}
	if f.all != nil {
		out.All = *f.all
	}
	return out, nil
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

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

// reorder moves flags before positional arguments, so "show 12 --json" works like "show --json 12".
func reorder(args []string) []string {
	var flags, pos []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
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

func dlqReplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("dlq replay", `dlq replay [--route R] [--class C] [--id ID] [filters] [--dry-run] [--allow-ambiguous] [--rate N] [--edit | --edit-file F] [--editor-user NAME] [--yes]

Puts dead letters back on their original subject, for their route only, oldest first. For each one
the ledger entry of (route, event id) is reset so the event runs again, the event is republished with
Nats-Msg-Id "<event id>/replay/<ID>", and the dead letter is deleted only once JetStream acknowledged
the republish. A replay that stops midway can simply be run again: nothing is lost, and what was
republished already is dropped as a duplicate.

Class ambiguous means the vendor may already have acted (Licrus may have opened the call): look in the
vendor's system first, then purge it, or replay it with --allow-ambiguous. Without that flag ambiguous
dead letters are skipped and listed.

Without --yes it shows how many would go and asks; when standard input is not a terminal it refuses.

Examples:
  kopru dlq replay --id 1234
  kopru dlq replay --route licrus-installation --class exhausted --since 2h --dry-run
  kopru dlq replay --route dia-customer --rate 5 --yes
  kopru dlq replay --id 1234 --edit                  # fix the event in $EDITOR, then replay it
  kopru dlq replay --id 1234 --edit-file fixed.json --editor-user ayse --yes
`, stderr)
	ff := addFilterFlags(fs, true, 0)
	dry := fs.Bool("dry-run", false, "only list what would be replayed; change nothing")
	allowAmb := fs.Bool("allow-ambiguous", false, "replay class ambiguous too (the vendor may be called a second time)")
	rate := fs.Float64("rate", 0, "at most N republishes per second (0: as fast as JetStream acknowledges)")
	edit := fs.Bool("edit", false, "with one --id: open the event in $EDITOR and replay the edited version")
	editFile := fs.String("edit-file", "", "with one --id: replay the CloudEvent in this file instead (same event id)")
	editor := fs.String("editor-user", "", "who edits, recorded in Kopru-Edited-By (default: $USER)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	f, err := parseSelection(fs, ff, args, "replay", "replay")
	if err != nil {
		return err
	}
	if err := ops.CheckRate(*rate); err != nil {
		return usageError{fmt.Sprintf("--rate %v is out of range: give %v to %v republishes per second, or 0 for no limit", *rate, ops.MinRate, ops.MaxRate)}
	}
	if (*edit || *editFile != "") && len(f.IDs) != 1 {
		return usageError{"--edit and --edit-file work on exactly one dead letter: give one --id"}
	}
	o, items, closeFn, err := selectDeadLetters(ctx, stderr, f, "replay")
	if err != nil || len(items) == 0 {
		return err
	}
	defer closeFn()
	ro := ops.ReplayOptions{Filter: ops.Filter{IDs: idsOf(items)}, DryRun: *dry, AllowAmbiguous: *allowAmb, Rate: *rate, By: "cli:" + currentUser()}
	if *edit || *editFile != "" {
		by := *editor
		if by == "" {
			by = currentUser()
		}
		b, err := editedEvent(ctx, o, f.IDs[0], *editFile)
		if err != nil {
			return err
		}
		ro.Edit = &ops.Edit{Event: b, By: by}
	}
	if !*dry && !*yes {
		q := fmt.Sprintf("Replay %d dead letter(s) (%s)?", len(items), classCounts(items))
		if n := countClass(items, deadletter.Ambiguous); n > 0 && !*allowAmb {
			q = fmt.Sprintf("Replay %d dead letter(s) (%s; the %d ambiguous are skipped without --allow-ambiguous)?", len(items), classCounts(items), n)
		}
		if err := confirm(stdin, stderr, q); err != nil {
			return err
		}
	}
	verb := "replayed"
	if *dry {
		verb = "would replay"
	}
	ro.Progress = progressEvery(stderr, verb, len(items))
	rep, err := o.Replay(ctx, ro)
	if rep != nil {
		if perr := printReport(stdout, rep, *asJSON); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if rep.Counts[ops.ResultSkipped] > 0 && countClass(items, deadletter.Ambiguous) > 0 && !*allowAmb {
		fmt.Fprintln(stderr, "ambiguous dead letters were skipped: check the vendor for a record made from each event, then purge it or replay it with --allow-ambiguous")
	}
	if !rep.OK() {
		return fmt.Errorf("%d failed: their dead letters are still in the DLQ (or, if republished, will be deduplicated on the next replay); run the same command again", rep.Counts[ops.ResultFailed]+rep.Counts[ops.ResultNotDeleted])
	}
	return nil
}

func idsOf(items []ops.DeadLetter) []uint64 {
	out := make([]uint64, len(items))
	for i, d := range items {
		out[i] = d.ID
	}
	return out
}

// classList is the dead-letter classes as prose: "invalid, rejected, exhausted<last>ambiguous".
func classList(last string) string {
	names := deadletter.ClassNames()
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}

func countClass(items []ops.DeadLetter, class deadletter.Class) int {
	n := 0
	for _, d := range items {
		if d.Class == class {
			n++
		}
	}
	return n
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// editedEvent reads the edited event from file, or lets the user edit dead letter id in $EDITOR.
func editedEvent(ctx context.Context, o *ops.Ops, id uint64, file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	d, err := o.Show(ctx, id)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kopru-edit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, fmt.Sprintf("dead-letter-%d.json", id))
	orig := []byte(d.Pretty() + "\n")
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		return nil, err
	}
	if err := runEditor(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if string(b) == string(orig) {
		return nil, errors.New("the event was not changed; nothing was replayed")
	}
	return b, nil
}

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
		circuit = ops.CircuitFromMetricsURL(&http.Client{Timeout: 5 * time.Second}, *metricsURL)
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

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
