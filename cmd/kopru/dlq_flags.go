package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
)

// idList is a repeatable, comma-separated --id flag.
type idList []uint64

// String is the ids comma-separated (flag.Value).
func (l *idList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(s, ",")
}

// Set adds the comma-separated ids in v (flag.Value); anything but a number is refused.
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

// filterFlags are the selection flags every dlq command shares (addFilterFlags defines them).
type filterFlags struct {
	route, class, status, since, until, grep *string
	ids                                      idList
	limit                                    *int
	all                                      *bool
}

// parseSelection parses the flags of `kopru dlq <cmd>` and returns its filter. A command that changes
// dead letters (verb != "") must be told what to act on: an empty filter without --all is refused.
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

// addFilterFlags defines the selection flags on fs; withAll adds --all, for commands that change
// dead letters; defLimit is --limit's default.
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

// filter turns the parsed flags into an ops.Filter; a bad --class, --since or --until is a usageError.
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

// classList is the dead-letter classes as prose: "invalid, rejected, exhausted<last>ambiguous".
func classList(last string) string {
	names := deadletter.ClassNames()
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}
