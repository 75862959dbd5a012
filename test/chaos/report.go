package chaos

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/devstack"
	"github.com/kopru/kopru/internal/routes"
)

// summary is everything the run's report shows.
type summary struct {
	o         options
	pub       map[string]published
	v         verdict
	col       *collected
	lr        logReport
	sims      *devstack.Sims
	starts    int // worker starts
	kills     int // SIGKILLs by the harness
	forced    int // workers that needed SIGKILL at the end
	selfExits []string
	restarts  int           // nats-server restarts
	down      time.Duration // the server's time away, in total

	elapsed, pubTook, settleTook time.Duration
}

// print writes the summary and the result line to out and reports whether every check held.
func (s summary) print(out io.Writer) bool {
	v, col, lr, sims := s.v, s.col, s.lr, s.sims
	byType := map[string]int{}
	bad := map[kind]int{}
	for _, p := range s.pub {
		byType[p.typ]++
		bad[p.kind]++
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "── kopru-chaos summary ─────────────────────────────────────────────")
	fmt.Fprintf(out, "seed              %d\n", s.o.seed)
	fmt.Fprintf(out, "events published  %d (", len(s.pub))
	for i, t := range eventTypes {
		if i > 0 {
			fmt.Fprint(out, ", ")
		}
		fmt.Fprintf(out, "%s %d", t, byType[t])
	}
	fmt.Fprintf(out, "); deliberately bad: %d schema-invalid, %d notes for unknown cards\n", bad[kindInvalid], bad[kindRejected])
	fmt.Fprintf(out, "route events      %d expected (customer.created feeds two routes)\n", v.expected)
	fmt.Fprintf(out, "outcomes          %d (distinct route+requestId; %d messages in OUTCOMES)\n", v.outcomes, col.outMsgs)
	fmt.Fprintf(out, "dead letters      %d (%d messages in DLQ):", v.dead, col.dlqMsgs)
	for _, c := range []string{"ambiguous", "invalid", "rejected", "exhausted"} {
		fmt.Fprintf(out, " %s %d", c, v.classes[c])
	}
	fmt.Fprintln(out)
	if len(v.ambiguous) > 0 {
		fmt.Fprint(out, "  ambiguous by cause:")
		for _, c := range sortedKeys(v.ambiguous) {
			fmt.Fprintf(out, " %s %d;", c, v.ambiguous[c])
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "no terminal record %d\n", len(v.missing))
	fmt.Fprintf(out, "vendor records per route event (simulators' accepted records): 0: %d  1: %d  2+: %d\n", v.histAll[0], v.histAll[1], v.histAll[2])
	for _, spec := range routes.Builtin() {
		h := v.hist[spec.Name]
		fmt.Fprintf(out, "  %-20s 0: %5d  1: %5d  2+: %d\n", spec.Name, h[0], h[1], h[2])
	}
	fmt.Fprintf(out, "vendor requests   Licrus %d, Lean Soft %d, DİA ekle %d / listele %d / logins %d\n",
		sims.Licrus.Requests(), sims.LeanSoft.Requests(), sims.DIA.EkleCalls(), sims.DIA.ListCalls(), sims.DIA.Logins())
	fmt.Fprintf(out, "worker kills      %d SIGKILL (%d worker starts; %d exited by themselves; %d needed SIGKILL at the end)\n",
		s.kills, s.starts, len(s.selfExits), s.forced)
	for _, e := range s.selfExits {
		fmt.Fprintf(out, "  %s\n", e)
	}
	fmt.Fprintf(out, "server restarts   %d (away %s in total)\n", s.restarts, s.down.Round(10*time.Millisecond))
	fmt.Fprintf(out, "log scan          %d files, %d lines (%s); looked for %d secrets, personal numbers and %d DİA session ids: %d hits; %d panics\n",
		lr.files, lr.lines, levels(lr.levels), len(forbidden()), lr.sessionIDs, len(lr.leaks), lr.panics)
	for _, e := range lr.topErrors {
		fmt.Fprintf(out, "  %s\n", e)
	}
	fmt.Fprintf(out, "elapsed           %s (publish %s, settle %s)\n", s.elapsed.Round(100*time.Millisecond),
		s.pubTook.Round(100*time.Millisecond), s.settleTook.Round(100*time.Millisecond))
	if len(v.violations) == 0 {
		fmt.Fprintln(out, "RESULT: PASS — every event has exactly one terminal record; no double effects; no leaks")
		return true
	}
	fmt.Fprintf(out, "RESULT: FAIL — %d violation(s):\n", len(v.violations))
	for i, msg := range v.violations {
		if i == 100 {
			fmt.Fprintf(out, "  … and %d more\n", len(v.violations)-100)
			break
		}
		fmt.Fprintf(out, "  - %s\n", msg)
	}
	return false
}

func levels(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
