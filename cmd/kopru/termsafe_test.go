package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/deadletter"
)

// hostileTerm holds the sequences a hostile producer or vendor could plant: an OSC that retitles the
// window, a CSI that clears the screen (7-bit and C1), a bidi override, a carriage return and a bell.
const hostileTerm = "\x1b]0;pwned\x07\x1b[2J\u009b2J\u202e\r"

func assertTermClean(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s prints %q raw:\n%q", what, bad, out)
		}
	}
}

// TestCLIEscapesTerminalControls: kopru dlq list/show, replay's report and status print what events
// and vendors wrote (ids, headers, errors, the event) with every control character escaped.
func TestCLIEscapesTerminalControls(t *testing.T) {
	e := newCLIEnv(t)
	m := nats.NewMsg("dlq.licrus-installation")
	m.Data = []byte(`{"specversion":"1.0","id":"ev` + hostileTerm + `","source":"s","type":"installation.requested","data":{"x":"` + hostileTerm + `"}}`)
	for k, v := range map[string]string{deadletter.HdrRoute: "licrus-installation", deadletter.HdrEventID: "ev" + hostileTerm + "x",
		deadletter.HdrOriginalSubject: "events.installation.requested", deadletter.HdrErrorClass: "rejected",
		deadletter.HdrError: "vendor says " + hostileTerm + "x", deadletter.HdrAttempts: "1", deadletter.HdrTargetStatus: "H" + hostileTerm + "x",
		"X-Producer" + "-Note": hostileTerm + "x", deadletter.HdrFailedAt: time.Now().UTC().Format(time.RFC3339)} {
		m.Header.Set(k, v)
	}
	ack, err := e.js.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(ack.Sequence, 10)
	for _, args := range [][]string{{"dlq", "list"}, {"dlq", "show", id}, {"dlq", "replay", "--id", id, "--dry-run"}, {"status"}} {
		code, out, stderr := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		assertTermClean(t, strings.Join(args, " "), out+stderr)
	}
	_, out, _ := runCLI(t, "", "dlq", "show", id)
	if !strings.Contains(out, `\x1b]0;pwned\x07`) {
		t.Errorf("show hides the sequence instead of escaping it:\n%s", out)
	}
}

// TestCLIRefusesAnAbsurdRate: --rate 2e9 crashed the replay's ticker; it is a usage error now.
func TestCLIRefusesAnAbsurdRate(t *testing.T) {
	e := newCLIEnv(t)
	id, _ := e.seed("rejected", "x")
	for _, r := range []string{"2e9", "-1", "1e-300"} {
		code, _, stderr := runCLI(t, "", "dlq", "replay", "--id", strconv.FormatUint(id, 10), "--rate", r, "--yes")
		if code != 2 || !strings.Contains(stderr, "--rate") || !strings.Contains(stderr, "out of range") {
			t.Errorf("--rate %s: %d %s", r, code, stderr)
		}
	}
	if e.count("DLQ") != 1 || e.count("EVENTS") != 0 {
		t.Fatal("a refused replay changed something")
	}
}

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{"plain ş": "plain ş", "a\x1b[2Jb": `a\x1b[2Jb`, "\u009b": `\u009b`,
		"x\u202ey": `x\u202ey`, "a\nb\tc": `a\x0ab\x09c`, "bad\xffutf": `bad\xffutf`} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := termBlock("{\n\t\"a\": \"\x1b\"\n}"); got != "{\n\t\"a\": \"\\x1b\"\n}" {
		t.Errorf("termBlock = %q", got)
	}
}
