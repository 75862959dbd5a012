package chaos

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kopru/kopru/internal/devstack"
)

// needle is something that must never appear in a worker log.
type needle struct {
	what  string // shown in the report instead of the value itself
	value string
}

// forbidden lists the secrets of devstack and the personal data of schemas/examples in full, in the
// forms they are sent and, for numbers, as bare digits (a log that normalised a phone still leaks it).
func forbidden() []needle {
	ns := []needle{
		{"Licrus AuthTicket", devstack.LicrusTicket},
		{"Lean Soft auth value", devstack.LeanSoftAuthValue},
		{"DİA password", devstack.DIAPassword},
		{"DİA API key", devstack.DIAAPIKey},
	}
	personal := []struct{ what, value string }{
		{"installation customer mobile phone", "5301231212"},
		{"installation dealer mobile phone", "3546546757"},
		{"first-start customer phone", "0533 999 99 99"},
		{"first-start customer phone", "5339999999"},
		{"customer phone", "+90 352 222 33 44"},
		{"customer phone", "+90 532 555 66 77"},
		{"customer tax number (VKN)", "7345123090"},
		{"customer user identity number (TCKN)", "10000000146"},
	}
	seen := map[string]bool{}
	for _, p := range personal {
		for _, v := range []string{p.value, digitsOnly(p.value)} {
			if len(v) >= 7 && !seen[v] {
				seen[v] = true
				ns = append(ns, needle{"personal data: " + p.what, v})
			}
		}
	}
	for _, p := range []string{"3522223344", "5325556677"} { // the customer phones without +90
		if !seen[p] {
			seen[p] = true
			ns = append(ns, needle{"personal data: customer phone", p})
		}
	}
	return ns
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var hexRun = regexp.MustCompile(`[0-9a-fA-F]{16,}`)

// logReport is what the scan of the worker logs found.
type logReport struct {
	files, lines int
	sessionIDs   int // DİA session ids looked for
	levels       map[string]int
	leaks        []string // file:line: what
	panics       int
	topErrors    []string // most frequent error/warn messages
}

// scanLogs reads every worker log line and reports secrets, DİA session ids and personal data found
// in it, plus a count of lines by level.
func scanLogs(dir string, sessionIDs []string) (logReport, error) {
	r := logReport{levels: map[string]int{}, sessionIDs: len(sessionIDs)}
	files, err := filepath.Glob(filepath.Join(dir, "worker-*.log"))
	if err != nil {
		return r, err
	}
	sort.Strings(files)
	needles := forbidden()
	sids := map[string]bool{}
	for _, s := range sessionIDs {
		sids[strings.ToLower(s)] = true
	}
	msgs := map[string]int{}
	for _, f := range files {
		r.files++
		base := filepath.Base(f)
		err := readLines(f, func(n int, line string) {
			r.lines++
			for _, nd := range needles {
				if strings.Contains(line, nd.value) {
					r.leaks = append(r.leaks, fmt.Sprintf("%s:%d: %s", base, n, nd.what))
				}
			}
			for _, h := range hexRun.FindAllString(line, -1) {
				if sids[strings.ToLower(h)] {
					r.leaks = append(r.leaks, fmt.Sprintf("%s:%d: a DİA session id", base, n))
				}
			}
			if strings.Contains(line, "panic") {
				r.panics++
			}
			lvl := jsonField(line, "level")
			if lvl == "" {
				lvl = "other"
			}
			r.levels[lvl]++
			if lvl == "error" || lvl == "warn" {
				msgs[lvl+": "+jsonField(line, "msg")]++
			}
		})
		if err != nil {
			return r, err
		}
	}
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range msgs {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	for i, e := range all {
		if i == 8 {
			break
		}
		r.topErrors = append(r.topErrors, fmt.Sprintf("%6d  %s", e.n, e.k))
	}
	return r, nil
}

// jsonField pulls "name":"value" out of a zap JSON line without decoding the whole line.
func jsonField(line, name string) string {
	k := `"` + name + `":"`
	i := strings.Index(line, k)
	if i < 0 {
		return ""
	}
	rest := line[i+len(k):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// readLines calls f for every line of path with its 1-based number.
func readLines(path string, f func(n int, line string)) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	n := 0
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			n++
			f(n, strings.TrimRight(line, "\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
